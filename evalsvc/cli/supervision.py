"""``evalsvc verify`` and ``evalsvc report weekly``: the supervision group's commands."""
import sys
from datetime import date
from pathlib import Path

import click

from evalsvc.extensions import db
from evalsvc.models import Role, Round, User
from evalsvc.services import audit


@click.command("verify")
@click.argument("round_id", type=int)
@click.option("--digest", "expected", default=None, metavar="HEX",
              help="The digest printed on a saved copy (export, receipt list) to check too.")
def verify_command(round_id: int, expected: str | None) -> None:
    """Recompute a closed round's seal, recount its result, and check the audit log's copy
    of the digest (and, with --digest, a saved copy's).

    Exits 0 when everything matches; otherwise exits 1 and names what differs. The check is
    written to the audit log.
    """
    from evalsvc.services.verification import verify_and_record

    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"no round {round_id}")
    outcome = verify_and_record(None, round_, expected)
    click.echo(outcome.report(), err=not outcome.ok)
    sys.exit(0 if outcome.ok else 1)


@click.group("report")
def report_group() -> None:
    """Reports."""


@report_group.command("rebuild-totals")
def rebuild_totals() -> None:
    """Recompute the weekly report's kept totals from the rounds, flags and audit log
    (after rows were loaded by SQL around the app, or the TIMEZONE setting changed: the
    totals are kept by local day)."""
    from evalsvc.services.day_totals import rebuild_kept

    days, parents = rebuild_kept()
    click.echo(f"已重新统计：{days} 条按日汇总，{parents} 个上级组织的支部数。")


@report_group.command("weekly")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path))
def weekly(start, end, xlsx: Path | None, pdf: Path | None) -> None:
    """The weekly report for a period, for the whole county."""
    from evalsvc.render.report import write_report_pdf, write_report_xlsx
    from evalsvc.services.report import weekly as build

    if not xlsx and not pdf:
        raise click.UsageError("give --xlsx FILE and/or --pdf FILE")
    start_day: date = start.date()
    end_day: date = end.date()
    if start_day > end_day:
        raise click.BadParameter("--from is after --to")
    report = build(User(username="cli", role=Role.OFFICE), start_day, end_day)
    for path, writer in ((xlsx, write_report_xlsx), (pdf, write_report_pdf)):
        if path:
            with path.open("wb") as out:
                writer(report, out)
            audit.record_export(None, "weekly_report", format=path.suffix.lstrip("."),
                                start=start_day, end=end_day)
            click.echo(f"wrote {path}", err=True)
