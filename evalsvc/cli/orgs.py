"""``evalsvc org``: list and import the organisation tree."""
import json
from pathlib import Path

import click
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Organisation
from evalsvc.services.importing import import_organisations
from evalsvc.services.tabular import ImportFailed


@click.group("org")
def org_group() -> None:
    """The organisation tree."""


@org_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
def list_orgs(as_json: bool) -> None:
    """Every organisation with its code, name, type, parent, batch and current stage."""
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.code)).all()
    rows = [_row(o) for o in orgs]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{r['code']:<10} {r['type']:<17} {r['parent'] or '-':<10} "
                   f"{r['batch'] or '-':<2} {r['stage']:<8} {r['name']}")


def _row(org: Organisation) -> dict:
    stage = org.current_stage
    return {
        "code": org.code,
        "name": org.name,
        "type": org.type.value,
        "parent": org.parent.code if org.parent else None,
        "unit": org.unit,
        "batch": org.batch.number if org.batch else None,
        "stage": stage.value,
        "stage_state": org.stage_state(stage).value,
    }


@org_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_orgs(file: Path) -> None:
    """Import organisations from CSV or XLSX; a file with any error imports nothing."""
    try:
        created = import_organisations(file)
    except ImportFailed as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(exc.errors)} error(s); nothing was imported")
    click.echo(f"imported {len(created)} organisation(s)")
