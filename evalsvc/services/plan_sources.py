"""Where a 整改方案's problems come from: the organisation's closed rounds of kinds that
supply problems (征求意见), read from their STORED, suppressed results only. A category
hidden by suppression, or free texts withheld below the threshold, never appear here."""
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.kinds import registry
from evalsvc.models import Round, RoundState
from evalsvc.services.results import result_of


@dataclass(frozen=True)
class Suggestion:
    """A problem a plan item may take up; ``pick`` names it in a URL (round:number)."""

    round_id: int
    round_title: str
    pick: str
    text: str


def _rounds(org_id: int) -> list[Round]:
    kinds = [k.name for k in registry().values() if k.supplies_problems]
    if not kinds:
        return []
    return list(db.session.scalars(sa.select(Round).where(
        Round.organisation_id == org_id, Round.kind.in_(kinds),
        Round.state == RoundState.CLOSED, Round.rehearsal.is_(False)).order_by(Round.id)))


def source_round_ids(org_id: int) -> set[int]:
    """Closed rounds of the organisation that may be named as a problem's source."""
    return {r.id for r in _rounds(org_id)}


def suggestions(org_id: int) -> list[Suggestion]:
    """Every problem the shown results name: each category chosen at least once (with its
    count), then each free text the result lets through."""
    found: list[Suggestion] = []
    for round_ in _rounds(org_id):
        result = result_of(round_)
        if result is None or result.suppressed:
            continue
        texts = [f"{option.label}方面的问题（{option.count} 人次提出）"
                 for item in result.items if item.type == "multi"
                 for option in item.options if option.count]
        texts += [text for values in result.comments.values() for text in values]
        found += [Suggestion(round_.id, round_.title, f"{round_.id}:{n}", text)
                  for n, text in enumerate(texts)]
    return found


def pick(org_id: int, picked: str) -> Suggestion | None:
    """The suggestion a URL's ``pick`` names, when it is one of the organisation's."""
    return next((s for s in suggestions(org_id) if s.pick == picked), None)
