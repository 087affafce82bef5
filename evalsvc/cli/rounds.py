"""``evalsvc round``: create, open, close, and print cards and posters."""
import json
from pathlib import Path

import click
import sqlalchemy as sa

from evalsvc.cli import bulk
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import GroupCode, Organisation, Round, Stage
from evalsvc.services import audit, closing, printing, results, rounds, traces
from evalsvc.services.errors import Forbidden, Invalid, OutOfScope
from evalsvc.services.plans import approved_items

GROUP_NAMES = {**{g.value: g for g in rounds.CARD_GROUPS},
               **{label(g): g for g in rounds.CARD_GROUPS}}


@click.group("round")
def round_group() -> None:
    """Rounds of questionnaires."""


def _fail(exc: Invalid) -> None:
    raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))


def _parse_groups(values: tuple[str, ...]) -> dict[GroupCode, int]:
    groups: dict[GroupCode, int] = {}
    for value in values:
        name, _, count = value.partition("=")
        if name not in GROUP_NAMES or not count.isdigit():
            raise click.BadParameter(
                f"{value!r}: use NAME=COUNT with NAME one of member, masses, service",
                param_hint="--group")
        groups[GROUP_NAMES[name]] = int(count)
    return groups


@round_group.command("create")
@click.option("--org", "org_code", default=None, help="Code of the branch.")
@bulk.selection_options
@click.option("--kind", required=True, help="A registered questionnaire kind (see the README).")
@click.option("--stage", type=click.Choice([s.value for s in Stage]), required=True)
@click.option("--group", "groups", multiple=True,
              help="NAME=COUNT cards; repeat per group (bulk: member defaults to the "
                   "branch's active members).")
@click.option("--definition", "definition_name", default=None, help="Definition name in forms/.")
@click.option("--title", default="", help="Title shown to respondents.")
@click.option("--attempt", type=int, default=None, help="Attempt number (default: next).")
@click.option("--poster", "poster_cap", type=int, default=None,
              help="Also open a poster QR with this cap on ballots.")
@click.option("--rehearsal", is_flag=True, help="A practice run, purged before the live one.")
@click.option("--plan-items", is_flag=True,
              help="Ask about each item of the organisation's approved 整改方案 (one branch).")
@bulk.planned_close_option
def create(org_code, batch, under, dry_run, kind, stage, groups, definition_name, title, attempt,
           poster_cap, rehearsal, plan_items, planned_close_on) -> None:
    """Create a round for one branch (--org) or every branch of --batch/--under; prints
    one round id a line."""
    chosen = bulk.selection(batch, under)
    if (chosen is None) == (org_code is None):
        raise click.UsageError("give --org CODE, --batch N or --under CODE")
    if chosen is not None and plan_items:
        raise click.UsageError("--plan-items goes with --org: each plan is one branch's")
    if plan_items and Stage(stage) is not Stage.RECTIFY:
        raise click.UsageError("--plan-items goes with --stage rectify (整改提高): plan items "
                               "are asked in the rectification stage only")
    org_id = None
    if org_code is not None:
        org_id = db.session.scalar(sa.select(Organisation.id).where(Organisation.code == org_code))
        if org_id is None:
            raise click.ClickException(f"unknown organisation code {org_code!r}")
    data = rounds.RoundData(
        organisation_id=org_id or 0, kind=kind, stage=Stage(stage), groups=_parse_groups(groups),
        definition_name=definition_name, title=title, attempt=attempt,
        poster=poster_cap is not None, poster_cap=poster_cap, rehearsal=rehearsal,
        plan_item_ids=tuple(i.id for i in approved_items(org_id)) if plan_items else ())
    if chosen is not None:
        bulk.create(chosen, data, dry_run, planned_close_on)
        return
    if dry_run or planned_close_on:
        raise click.UsageError("--dry-run and --planned-close go with --batch or --under")
    try:
        round_ = rounds.create_round(None, data)
    except Invalid as exc:
        _fail(exc)
    click.echo(round_.id)


def _round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"no round {round_id}")
    return round_


def _single_or_bulk(round_id, batch, under, dry_run, closing_: bool, reason: str = "",
                    planned_close_on: str | None = None) -> bool:
    """Run the bulk form when --batch/--under is given; True when it did."""
    chosen = bulk.selection(batch, under)
    if (chosen is None) == (round_id is None):
        raise click.UsageError("give a ROUND_ID, --batch N or --under CODE")
    if chosen is None and (dry_run or planned_close_on):
        raise click.UsageError("--dry-run and --planned-close go with --batch or --under")
    if chosen is not None:
        bulk.open_or_close(chosen, closing_, dry_run, reason, planned_close_on)
    return chosen is not None


@round_group.command("open")
@click.argument("round_id", type=int, required=False)
@bulk.selection_options
@click.option("--override", "reason", default="",
              help="why it opens outside its batch's window (audited; office only)")
@bulk.planned_close_option
def open_(round_id: int | None, batch, under, dry_run, reason: str, planned_close_on) -> None:
    """Open a draft round, or every draft round of --batch/--under."""
    if _single_or_bulk(round_id, batch, under, dry_run, closing_=False, reason=reason,
                       planned_close_on=planned_close_on):
        return
    try:
        rounds.open_round(None, _round(round_id), reason)
    except Invalid as exc:
        _fail(exc)
    click.echo(f"round {round_id} is open")


@round_group.command("close")
@click.argument("round_id", type=int, required=False)
@bulk.selection_options
def close(round_id: int | None, batch, under, dry_run) -> None:
    """Close an open round, or every open round of --batch/--under."""
    if _single_or_bulk(round_id, batch, under, dry_run, closing_=True):
        return
    try:
        round_ = closing.close_round(None, _round(round_id))
    except Invalid as exc:
        _fail(exc)
    click.echo(f"round {round_id} is closed with {rounds.ballot_count(round_.id)} ballot(s)")


@round_group.command("scrub")
@click.option("--attempts", type=int, default=20, show_default=True,
              help="Tries before giving up (each waits briefly for readers).")
def scrub(attempts: int) -> None:
    """Clear the database traces closed rounds left behind (exit 1 while still pending)."""
    pending = traces.pending_round_ids()
    if not traces.scrub_pending(attempts=attempts):
        raise click.ClickException(
            f"traces of round(s) {', '.join(map(str, pending))} still pending: a reader"
            " holds the database; try again later")
    click.echo(f"traces cleared for {len(pending)} round(s)")


@round_group.command("purge")
@click.argument("round_id", type=int)
def purge(round_id: int) -> None:
    """Delete a rehearsal's ballots; the round becomes a live draft with new cards."""
    from evalsvc.services.rehearsal import purge as purge_rehearsal

    try:
        count = purge_rehearsal(None, _round(round_id))
    except Invalid as exc:
        _fail(exc)
    click.echo(f"round {round_id}: purged {count} rehearsal ballot(s); print the cards again")


@round_group.command("tally")
@click.argument("round_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable (see README).")
def tally(round_id: int, as_json: bool) -> None:
    """A closed round's counts, shares, rate and proposed verdict."""
    round_ = _round(round_id)
    result = results.result_of(round_)
    if result is None:
        raise click.ClickException(
            f"round {round_id} is {round_.state.value}: results exist only once it is closed "
            f"({rounds.ballot_count(round_id)} ballot(s) so far)")
    document = results.tally_document(round_, result)
    audit.record_action(None, "round.tally", round_, format="json" if as_json else "text")
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
        return
    click.echo(f"{round_.title}: {result.ballots} ballot(s)"
               + (f", rate {result.rate:.1%}" if result.rate is not None else ""))
    for item in document["items"]:
        counts = ", ".join(f"{o['label']} {o['count'] if o['count'] is not None else '—'}"
                           for o in item["options"])
        click.echo(f"  {item['text']}: {counts}")
    for member in document["members"]:
        click.echo(f"  {member['name']}: {member['counts']}")
    click.echo(f"verdict: {result.verdict.get('summary', '')}")


@round_group.command("cards")
@click.argument("round_id", type=int, required=False)
@click.option("--batch", type=int, default=None, help="The open rounds of batch N, one PDF.")
@click.option("--under", default=None, metavar="CODE",
              help="The open rounds of every branch under this 党委/总支 code, one PDF.")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--urls", is_flag=True, help="Print one card URL a line.")
def cards(round_id: int | None, batch, under, pdf: Path | None, urls: bool) -> None:
    """Print a round's cards as a PDF, or list their URLs; or one PDF for --batch/--under,
    sorted by branch then group, each branch after its 发放登记 sheet (all audited)."""
    chosen = bulk.selection(batch, under)
    if (chosen is None) == (round_id is None):
        raise click.UsageError("give a ROUND_ID, --batch N or --under CODE")
    if chosen is not None:
        if not pdf or urls:
            raise click.UsageError("--batch/--under print one PDF: give --pdf FILE")
        bulk.cards(chosen, pdf)
        return
    if not pdf and not urls:
        raise click.UsageError("give --pdf FILE or --urls")
    round_ = _round(round_id)
    bulk.warn_loopback()
    try:
        if urls:
            for url in printing.card_urls(None, round_):
                click.echo(url)
        if pdf:
            with pdf.open("wb") as out:
                count, pages = printing.card_pdf(None, round_, out)
            click.echo(f"wrote {count} card(s) on {pages} page(s) to {pdf}", err=True)
    except OutOfScope:
        raise click.ClickException(f"round {round_id} has no cards") from None


@round_group.command("poster")
@click.argument("round_id", type=int)
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), required=True)
def poster(round_id: int, pdf: Path) -> None:
    """Print the round's open poster as a PDF (audited)."""
    round_ = _round(round_id)
    if not round_.is_poster:
        raise click.ClickException(f"round {round_id} has no open poster")
    with pdf.open("wb") as out:
        printing.poster_pdf(None, round_, out)
    click.echo(f"wrote poster to {pdf}", err=True)


@round_group.command("paper")
@click.argument("round_id", type=int)
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), required=True)
def paper_sheets(round_id: int, pdf: Path) -> None:
    """Print the round's paper ballots (纸质测评票), one A4 sheet per card (audited)."""
    round_ = _round(round_id)
    try:
        with pdf.open("wb") as out:
            count, pages = printing.paper_pdf(None, round_, out)
    except (OutOfScope, Forbidden) as exc:
        pdf.unlink(missing_ok=True)
        raise click.ClickException(f"round {round_id}: no paper sheets to print ({exc})") \
            from None
    click.echo(f"wrote {count} sheet(s) on {pages} page(s) to {pdf}", err=True)


@round_group.command("delegate-printing")
@click.argument("round_id", type=int)
@click.option("--on/--off", "delegated", required=True,
              help="Let the branch's secretary print this round's cards and poster, or not.")
def delegate_printing(round_id: int, delegated: bool) -> None:
    """Delegate printing of one round's cards and poster to its branch (audited)."""
    printing.set_delegation(None, _round(round_id), delegated)
    click.echo(f"round {round_id}: printing {'delegated to' if delegated else 'kept from'} "
               "the branch")
