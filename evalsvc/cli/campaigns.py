"""``evalsvc campaign``: the rules kinds declare, set per campaign (settings, stage gate)."""
import click

from evalsvc.models import Stage
from evalsvc.services import campaign_rules
from evalsvc.services.campaigns import ensure_campaign
from evalsvc.services.errors import Invalid


@click.group("campaign")
def campaign_group() -> None:
    """The current campaign's rules."""


def _fail(exc: Invalid) -> None:
    raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))


@campaign_group.command("rules")
def rules() -> None:
    """Every kind's settings and what each stage requires."""
    for line in campaign_rules.describe(ensure_campaign()):
        click.echo(line)


@campaign_group.command("set")
@click.argument("kind")
@click.argument("values", nargs=-1, required=True)
def set_(kind: str, values: tuple[str, ...]) -> None:
    """Set a kind's settings: KIND KEY=VALUE… (shares as 60% or 0.6)."""
    pairs = dict(v.partition("=")[::2] for v in values)
    try:
        campaign_rules.set_kind_settings(None, ensure_campaign(), kind, pairs)
    except Invalid as exc:
        _fail(exc)
    click.echo(f"{kind}: " + ", ".join(f"{k}={v}" for k, v in pairs.items()))


@campaign_group.command("require")
@click.argument("stage", type=click.Choice([s.value for s in Stage]))
@click.argument("kinds", nargs=-1)
def require(stage: str, kinds: tuple[str, ...]) -> None:
    """Which kinds must pass before a branch leaves STAGE (none: no requirement)."""
    try:
        stored = campaign_rules.set_requirements(None, ensure_campaign(), Stage(stage),
                                                 list(kinds))
    except Invalid as exc:
        _fail(exc)
    click.echo(f"{stage}: {', '.join(stored[stage]) or '-'}")
