"""``evalsvc campaign``: start and list campaigns; the rules kinds declare, set per
campaign (settings, stage gate)."""
import json

import click

from evalsvc.models import Stage
from evalsvc.services import campaign_rules
from evalsvc.services.batches import set_window, window_text
from evalsvc.services.campaigns import (
    batch_by_number, create_campaign, ensure_campaign, list_campaigns,
)
from evalsvc.services.errors import Invalid


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns, and the current campaign's rules."""


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


@campaign_group.command("start")
@click.option("--name", required=True, help="活动名称 (unique)")
@click.option("--year", type=int, required=True, help="the year it starts")
@click.option("--end-year", type=int, help="the year it ends (default: the start year)")
@click.option("--single-stage", is_flag=True,
              help="the annual 民主评议党员: one stage (分析评议), no stage gate")
def start(name: str, year: int, end_year: int | None, single_stage: bool) -> None:
    """Start a new current campaign: clean flags and stages; the previous one stays
    readable but no longer writable."""
    try:
        campaign = create_campaign(None, name, year, end_year or year,
                                   single_stage=single_stage)
    except Invalid as exc:
        _fail(exc)
    click.echo(f"已开始活动 {campaign.id}：{campaign.name}（{campaign.start_year}）")


@campaign_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable")
def list_(as_json: bool) -> None:
    """Every campaign, oldest first; * marks the current one."""
    rows = list_campaigns()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        click.echo(f"{mark} {row['id']}  {row['year']}  {row['name']}")


@campaign_group.command("batch")
@click.argument("number", type=int)
@click.option("--starts", type=click.DateTime(["%Y-%m-%d"]), help="first day (YYYY-MM-DD)")
@click.option("--ends", type=click.DateTime(["%Y-%m-%d"]), help="last day (YYYY-MM-DD)")
def batch(number: int, starts, ends) -> None:
    """Set the window of the current campaign's batch NUMBER (rounds open inside it)."""
    found = batch_by_number(number)
    if found is None:
        raise click.ClickException(f"当前活动没有第{number}批")
    try:
        set_window(None, found, starts.date() if starts else None, ends.date() if ends else None)
    except Invalid as exc:
        _fail(exc)
    click.echo(f"第{found.number}批 {found.name}：{window_text(found)}")
