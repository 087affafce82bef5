"""Planned close dates (计划结束日期): the office sets them per round or in bulk.

A date only plans; it closes nothing. A round still open after its date is overdue and
heads the live view. Every change is audited, one entry per round, so each branch's part
of the log (what supervisors read) shows it.
"""
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Role, Round, RoundState, User
from evalsvc.services import audit
from evalsvc.services.campaigns import current_campaign, require_current
from evalsvc.services.errors import Forbidden, Invalid, OutOfScope
from evalsvc.services.live import LiveFilter, open_rounds
from evalsvc.services.today import today

FIELD = "planned_close_on"
# A campaign runs a year or so; a date further out is a typing mistake (2062 for 2026).
HORIZON = timedelta(days=366)
PLANNABLE = (RoundState.DRAFT, RoundState.OPEN)


@dataclass(frozen=True)
class Planned:
    """What a bulk action did: rounds given the date, and the titles of those skipped
    because they closed in the meantime."""

    updated: int
    skipped: tuple[str, ...] = ()


def parse_day(text: str | None) -> date:
    """A date typed or picked as YYYY-MM-DD, or ``Invalid`` with a Chinese message."""
    text = (text or "").strip()
    if not text:
        raise Invalid({FIELD: "请填写计划结束日期"})
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid({FIELD: "日期格式应为 年-月-日，例如 2026-12-31"}) from None


def check_day(day: date) -> None:
    """Today or later, and within a year."""
    on = today()
    if day < on:
        raise Invalid({FIELD: f"计划结束日期不能早于今天（{on.isoformat()}）"})
    if day > on + HORIZON:
        raise Invalid({FIELD: f"计划结束日期应在一年以内（不晚于 {(on + HORIZON).isoformat()}）"})


def require_office(actor: User | None) -> None:
    """Only the campaign office plans (the command line is the operator)."""
    if actor is not None and actor.role is not Role.OFFICE:
        raise Forbidden("只有先教办可以设置计划结束日期")


@writes
def plan_rounds(actor: User | None, round_ids: Collection[int], day: date) -> Planned:
    """Give each of these rounds (draft or open) the planned close date ``day``.

    Rounds closed since the page was shown are skipped and named; a round id that does
    not exist is ``OutOfScope``. Nothing is stored when the date is refused.
    """
    require_office(actor)
    check_day(day)
    if not round_ids:
        raise Invalid({"rounds": "请至少选择一项测评"})
    found = _locked(sa.select(Round.id).where(Round.id.in_(set(round_ids))))
    if len(found) != len(set(round_ids)):
        raise OutOfScope("round")
    current = current_campaign()
    for round_ in found:  # an earlier campaign's rounds are read-only
        require_current(round_.campaign_id, current)
    return _plan(actor, found, day)


@writes
def plan_matching(actor: User | None, chosen: LiveFilter, day: date) -> Planned:
    """Give every open round the live view's filter matches the planned close date."""
    require_office(actor)
    check_day(day)
    targets = _locked(open_rounds(actor, chosen))
    if not targets:
        raise Invalid({"rounds": "没有符合条件的进行中测评"})
    return _plan(actor, targets, day)


def plan_new(actor: User | None, rounds: list[Round], day: date | None) -> None:
    """Give rounds a bulk action has just created or opened the planned close date
    ``day`` (None: none), audited per round; the action checked ``day`` beforehand."""
    if day is not None and rounds:
        _plan(actor, rounds, day)


def _locked(ids: sa.Select) -> list[Round]:
    """The rounds, locked until commit (PostgreSQL) so none closes half-way through."""
    return list(db.session.scalars(
        sa.select(Round).where(Round.id.in_(ids)).order_by(Round.id)
        .options(load_only(Round.id, Round.organisation_id, Round.campaign_id, Round.title,
                           Round.state, Round.planned_close_on))
        .with_for_update()))


def _plan(actor: User | None, rounds: list[Round], day: date) -> Planned:
    plannable = [r for r in rounds if r.state in PLANNABLE]
    skipped = tuple(r.title for r in rounds if r.state not in PLANNABLE)
    if not plannable:
        raise Invalid({"rounds": "测评已结束，未作修改"})
    changes = [(r, {"planned_close_on": day, "previous": r.planned_close_on})
               for r in plannable]
    for round_ in plannable:
        round_.planned_close_on = day
    audit.record_many(actor, "round.plan_close", changes)
    return Planned(len(plannable), skipped)
