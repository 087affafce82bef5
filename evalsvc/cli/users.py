"""``evalsvc user``: staff accounts."""
from pathlib import Path

import click
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Organisation, Role
from evalsvc.services.errors import Invalid
from evalsvc.services.users import UserData, create_user


@click.group("user")
def user_group() -> None:
    """Staff accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--branch", "branch_code", help="Branch code (secretary).")
@click.option("--org", "org_codes", multiple=True, help="Assigned organisation code (supervisor); repeat.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the password from this file instead of prompting.")
def add_user(username, role, branch_code, org_codes, display_name, password_file) -> None:
    """Add a staff account with a role and a scope."""
    if password_file:
        password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    codes = {c: _org_id(c) for c in (*org_codes, *([branch_code] if branch_code else []))}
    unknown = [c for c, i in codes.items() if i is None]
    if unknown:
        raise click.ClickException(f"unknown organisation code(s): {', '.join(unknown)}")
    data = UserData(
        username=username, role=Role(role), display_name=display_name,
        branch_id=codes.get(branch_code) if branch_code else None,
        assigned_ids=tuple(codes[c] for c in org_codes),
    )
    try:
        user = create_user(None, data, password)
    except Invalid as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    click.echo(f"created {user.role.value} {user.username}")


def _org_id(code: str) -> int | None:
    return db.session.scalar(sa.select(Organisation.id).where(Organisation.code == code))
