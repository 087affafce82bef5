"""``evalsvc export``: the campaign overview as files."""
from pathlib import Path

import click

from evalsvc.models import Role, User
from evalsvc.services import audit


@click.group("export")
def export_group() -> None:
    """Exports."""


@export_group.command("campaign")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch", type=int, default=None, help="Only this batch (1, 2, 3).")
def campaign(xlsx: Path | None, csv_path: Path | None, batch: int | None) -> None:
    """Every branch × stage: state, participation, satisfaction rate and flags."""
    from evalsvc.render.exports import stream_csv, write_xlsx
    from evalsvc.services.dashboard import overview
    from evalsvc.render.overview import overview_header, overview_rows, overview_sheet

    if not xlsx and not csv_path:
        raise click.UsageError("give --xlsx FILE and/or --csv FILE")
    everyone = User(username="cli", role=Role.OFFICE)  # the operator sees everything
    if xlsx:
        rows = _counted(overview(everyone, batch))  # read a chunk of branches at a time
        with xlsx.open("wb") as out:
            write_xlsx([overview_sheet(rows)], out,
                       notes=["比例单位为 %"])
        audit.record_export(None, "overview", format="xlsx", batch=batch)
        click.echo(f"wrote {rows.count} branch(es) to {xlsx}", err=True)
    if csv_path:
        rows = _counted(overview(everyone, batch))
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            for chunk in stream_csv(overview_header(), overview_rows(rows)):
                out.write(chunk)
        audit.record_export(None, "overview", format="csv", batch=batch)
        click.echo(f"wrote {rows.count} branch(es) to {csv_path}", err=True)


class _counted:
    """Rows passed through once, counted on the way."""

    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row
