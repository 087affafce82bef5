"""The rounds list (/rounds): a page at a time, filtered by state, stage and kind, searched
by the branch's code or name, always within the user's scope. One count and
two statements for the page (its rounds, their organisations), whatever the number."""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import load_only, selectinload

from evalsvc.models import Organisation, Round, RoundState, Stage, User
from evalsvc.services import org_tree, paging, scope

PAGE_SIZE = 50
COUNT_CAP = 10_000  # rounds counted exactly up to here ("10000+" beyond)


@dataclass(frozen=True)
class RoundFilter:
    """Which rounds: a state, a stage, a kind, a search."""

    state: RoundState | None = None
    stage: Stage | None = None
    kind: str | None = None
    search: str = ""

    def args(self) -> dict[str, str]:
        """The filter as URL parameters (only its own keys, only when set)."""
        values = (("state", self.state.value if self.state else None),
                  ("stage", self.stage.value if self.stage else None),
                  ("kind", self.kind), ("q", self.search))
        return {key: value for key, value in values if value}


def parse_filter(values, kinds) -> RoundFilter:
    """The filter from query values (``kinds``: the names a kind filter may take)."""
    kind = values.get("kind")
    return RoundFilter(paging.choice(RoundState, values.get("state")),
                       paging.choice(Stage, values.get("stage")),
                       kind if kind in kinds else None,
                       org_tree.search_text(values.get("q")))


def rounds_page(user: User, chosen: RoundFilter, number: int = 1,
                size: int = PAGE_SIZE) -> paging.Page:
    """Rounds in the user's scope the filter admits, newest first, a page."""
    query = sa.select(Round).where(scope.visible_clause(user, Round.organisation_id))
    if chosen.state is not None:
        query = query.where(Round.state == chosen.state)
    if chosen.stage is not None:
        query = query.where(Round.stage == chosen.stage)
    if chosen.kind:
        query = query.where(Round.kind == chosen.kind)
    if chosen.search:  # the branches', not every round's title: that reads every round
        query = query.where(Round.organisation_id.in_(
            sa.select(Organisation.id).where(org_tree.matches(chosen.search))))
    query = query.options(
        load_only(Round.id, Round.organisation_id, Round.title, Round.kind, Round.stage,
                  Round.attempt, Round.state, Round.created_on, Round.opened_on,
                  Round.closed_on),
        selectinload(Round.organisation)).order_by(Round.id.desc())
    return paging.page_of(query, number, size, COUNT_CAP)
