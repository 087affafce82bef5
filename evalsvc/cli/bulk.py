"""The bulk forms of ``evalsvc round create/open/close/cards`` (``--batch N`` / ``--under CODE``).

Round ids go to stdout, one a line; previews, refusals (in Chinese) and warnings go to
stderr. A bulk action exits 0 when it did something, 1 when every branch was refused.
"""
import functools
from pathlib import Path

import click

from evalsvc.services import bulk_rounds, planned_close, printing
from evalsvc.services.bulk_rounds import Outcome, Selection
from evalsvc.services.errors import Invalid, OutOfScope


def selection_options(command):
    """Add ``--batch N``, ``--under CODE`` and ``--dry-run`` to a command."""
    @click.option("--batch", type=int, default=None, help="Every branch of batch N.")
    @click.option("--under", default=None, metavar="CODE",
                  help="Every branch under this 党委/总支 code.")
    @click.option("--dry-run", is_flag=True, help="List what would happen; change nothing.")
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


planned_close_option = click.option(
    "--planned-close", "planned_close_on", default=None, metavar="YYYY-MM-DD",
    help="Bulk only: give every round created or opened this planned close date.")


def _day(text: str | None):
    """The planned close date given, or None; ``Invalid`` (Chinese) for a bad one."""
    return planned_close.parse_day(text) if text else None


def selection(batch: int | None, under: str | None) -> Selection | None:
    """The selection given, None when neither option is; both is a usage error."""
    if batch is not None and under:
        raise click.UsageError("give --batch or --under, not both")
    if batch is None and not under:
        return None
    return Selection(batch=batch, under=under)


def _fail(exc: Invalid):
    raise click.ClickException("; ".join(exc.errors.values()))


def _report(outcome: Outcome, verb: str, dry_run: bool) -> None:
    for name, reason in outcome.refused:
        click.echo(f"未{verb}：{name}：{reason}", err=True)
    prefix = "预览（未做任何更改）：" if dry_run else ""
    click.echo(prefix + outcome.summary(verb), err=True)
    if not dry_run and not outcome.done and outcome.refused:
        raise SystemExit(1)


def create(chosen: Selection, template, dry_run: bool, planned_close_on: str | None = None) -> None:
    """Create (or preview) a round for every branch of the selection."""
    try:
        day = _day(planned_close_on)
        if day is not None:
            planned_close.check_day(day)
        if dry_run:
            outcome = bulk_rounds.preview_create(chosen, template)
            for org, data in outcome.done:
                groups = "，".join(f"{g.value}={n}" for g, n in data.groups.items() if n)
                click.echo(f"{org.code}\t{org.name}\t第{data.attempt}次\t{groups}")
        else:
            outcome = bulk_rounds.create_rounds(None, chosen, template, day)
            for round_ in outcome.done:
                click.echo(round_.id)
    except Invalid as exc:
        _fail(exc)
    _report(outcome, "创建", dry_run)


def open_or_close(chosen: Selection, closing: bool, dry_run: bool, reason: str = "",
                  planned_close_on: str | None = None) -> None:
    """Open every draft round, or close every open round, of the selection (``reason``:
    the office's written override for rounds outside their batch's window)."""
    verb = "结束" if closing else "开始"
    try:
        day = _day(planned_close_on)
        if day is not None:
            planned_close.check_day(day)
        if dry_run:
            outcome = (bulk_rounds.plan_close(chosen) if closing
                       else bulk_rounds.plan_open(None, chosen, reason))
        elif closing:
            outcome = bulk_rounds.close_rounds(None, chosen)
        else:
            outcome = bulk_rounds.open_rounds(None, chosen, reason, day)
    except Invalid as exc:
        _fail(exc)
    for round_ in outcome.done:
        click.echo(f"{round_.id}\t{round_.organisation.code}\t{round_.title}" if dry_run
                   else round_.id)
    _report(outcome, verb, dry_run)


def cards(chosen: Selection, pdf: Path) -> None:
    """One PDF of the cards of the selection's open rounds, sorted branch → group."""
    warn_loopback()
    # Written beside the target and moved over it only once whole: a refused or failed
    # printing leaves a file that was already there untouched.
    partial = pdf.with_name(f".{pdf.name}.partial")
    try:
        with partial.open("wb") as out:
            printed = printing.batch_card_pdf(None, chosen, out)
        partial.replace(pdf)
    except Invalid as exc:
        partial.unlink(missing_ok=True)
        _fail(exc)
    except OutOfScope:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"{chosen.describe()}没有进行中的测评") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(f"wrote {printed.cards} card(s) of {printed.rounds} round(s) on "
               f"{printed.pages} page(s) to {pdf}", err=True)


def warn_loopback() -> None:
    """Say so when the cards would point at this machine only."""
    warning = printing.loopback_warning()
    if warning:
        click.echo(f"警告：{warning}", err=True)
