"""``evalsvc member``: import branch members (党员名册)."""
from pathlib import Path

import click

from evalsvc.services.member_import import import_members
from evalsvc.services.tabular import ImportFailed


@click.group("member")
def member_group() -> None:
    """Members of branches."""


@member_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import members from CSV or XLSX; a file with any error imports nothing."""
    try:
        summary = import_members(None, file)
    except ImportFailed as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(exc.errors)} error(s); nothing was imported")
    for code, count in summary.per_branch.items():
        click.echo(f"{code}\t{count}")
    click.echo(f"imported {summary.total} member(s) into "
               f"{len(summary.per_branch)} branch(es)")
