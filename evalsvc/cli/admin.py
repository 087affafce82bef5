"""Database set-up and the demo county."""
import click
from flask_migrate import upgrade

from evalsvc.extensions import db
from evalsvc.services import campaigns, db_roles
from evalsvc.services.demo import DemoAlreadyLoaded, load_demo


@click.command("init")
@click.option("--campaign", "campaign_name", default=None, help="Name of the first campaign.")
@click.option("--year", type=int, default=None, help="Start year of the first campaign.")
def init_command(campaign_name: str | None, year: int | None) -> None:
    """Create or upgrade the database, and start a campaign if there is none."""
    upgrade()
    campaign = campaigns.ensure_campaign(campaign_name, year)
    click.echo(f"database ready; current campaign: {campaign.name} "
               f"({campaign.start_year}–{campaign.end_year})")


@click.command("demo")
@click.option("--no-rounds", is_flag=True, help="Only the organisations, members and accounts.")
def demo_command(no_rounds: bool) -> None:
    """Load the demo county (with rounds and ballots) into an empty database."""
    try:
        accounts = load_demo(with_rounds=not no_rounds)
    except DemoAlreadyLoaded:
        click.echo("demo not loaded: the database already has organisations")
        return
    click.echo("demo county loaded. Accounts (for local trials only):")
    for username, password, role in accounts:
        click.echo(f"  {role.value:<11} {username:<11} {password}")


@click.command("roles")
@click.option("--role", default=db_roles.REPORTING_ROLE, show_default=True)
@click.option("--schema", default=db_roles.REPORTING_SCHEMA, show_default=True)
@click.option("--drop", is_flag=True, help="Remove the views and the role instead.")
def roles_command(role: str, schema: str, drop: bool) -> None:
    """PostgreSQL: create the reporting role, which reads only views without system columns
    (no xmin to pair a card or receipt with a ballot) and no ballot rows."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("database roles are for PostgreSQL; on SQLite, whoever"
                                   " can read the file reads everything")
    try:
        (db_roles.drop_reporting_role if drop else db_roles.create_reporting_role)(role, schema)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if drop:
        click.echo(f"role {role} and schema {schema} dropped")
    else:
        click.echo(f"role {role} reads only the views in schema {schema};"
                   f" set its password with ALTER ROLE {role} PASSWORD '…'")
