"""The live view of a campaign: every open round in scope with its participation so far.

Participation only (cards issued, ballots received, per group and overall): during an open
round staff see nothing else, so no answer, tally or verdict is read here. A province has
tens of thousands of branches, so the page costs a fixed handful of indexed queries
whatever its size: one count, one page of rounds, and two GROUP BYs over that page.
"""
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from evalsvc.extensions import db
from evalsvc.models import (
    Ballot, Batch, GroupCode, Organisation, RespondentGroup, Round, RoundState, Stage, User,
)
from evalsvc.services import org_tree, scope
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.today import today

PAGE_SIZE = 50


@dataclass(frozen=True)
class LiveFilter:
    """Which open rounds: a batch of the current campaign, and/or the branches under a
    党委 or 总支 (``parent_id``), and/or a search by the branch's code or name; always
    within the user's scope."""

    batch: int | None = None
    parent_id: int | None = None
    search: str = ""


@dataclass(frozen=True)
class GroupCount:
    """Cards and ballots of one respondent group (the poster group has no cards)."""

    code: GroupCode
    cards: int
    ballots: int

    @property
    def rate(self) -> float | None:
        """Share of the group's cards used; None without cards."""
        return self.ballots / self.cards if self.cards else None


@dataclass
class LiveRound:
    """One open round as the live view shows it."""

    id: int
    title: str
    kind: str
    stage: Stage
    attempt: int
    rehearsal: bool
    opened_on: date | None
    planned_close_on: date | None
    org_id: int
    org_name: str
    parent_name: str | None
    batch: int | None
    groups: list[GroupCount] = field(default_factory=list)

    @property
    def cards(self) -> int:
        """Cards issued in the round."""
        return sum(g.cards for g in self.groups)

    @property
    def card_ballots(self) -> int:
        """Ballots cast with cards (poster ballots have no card to count against)."""
        return sum(g.ballots for g in self.groups if g.code is not GroupCode.PUBLIC)

    @property
    def rate(self) -> float | None:
        """Overall participation: card ballots over cards issued."""
        return self.card_ballots / self.cards if self.cards else None

    def overdue_days(self, on: date) -> int:
        """Days past the planned close date (0 when not overdue or none is set)."""
        if self.planned_close_on is None or self.planned_close_on >= on:
            return 0
        return (on - self.planned_close_on).days


@dataclass
class LivePage:
    """One page of the live view, with the totals of everything the filter matches."""

    rounds: list[LiveRound]
    total: int
    overdue: int
    page: int
    pages: int
    size: int  # rounds a page
    on: date


def open_rounds(user: User | None, chosen: LiveFilter) -> sa.Select:
    """A SELECT of the ids of the campaign's open rounds the filter and the user's scope
    admit (``user`` None: the operator at the command line, who sees everything)."""
    campaign = current_campaign()
    query = sa.select(Round.id).where(
        Round.state == RoundState.OPEN,
        Round.campaign_id == (campaign.id if campaign else None))
    if user is not None:
        query = query.where(scope.visible_clause(user, Round.organisation_id))
    if chosen.parent_id is not None:
        query = query.where(Round.organisation_id.in_(scope.subtree([chosen.parent_id])))
    if chosen.search:
        query = query.where(Round.organisation_id.in_(
            sa.select(Organisation.id).where(org_tree.matches(chosen.search))))
    if chosen.batch is not None:
        query = query.join(Organisation, Organisation.id == Round.organisation_id) \
            .join(Batch, Batch.id == Organisation.batch_id) \
            .where(Batch.number == chosen.batch, Batch.campaign_id == Round.campaign_id)
    return query


def live_page(user: User, chosen: LiveFilter, page: int = 1) -> LivePage:
    """The open rounds, overdue first (earliest planned close date first, rounds without a
    date last), ``PAGE_SIZE`` a page; ``page`` is clamped to the pages there are."""
    on = today()
    matching = open_rounds(user, chosen)
    total, overdue = db.session.execute(matching.with_only_columns(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((Round.planned_close_on < on, 1), else_=0)), 0),
        maintain_column_froms=True)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rounds = _page_of_rounds(matching, page, PAGE_SIZE)
    _add_counts(rounds)
    return LivePage(rounds, total, int(overdue), page, pages, PAGE_SIZE, on)


def _page_of_rounds(matching: sa.Select, page: int, size: int) -> list[LiveRound]:
    """The page's round ids first (the planned close date's index gives its order; rounds
    without a date come last, NULLS LAST), then their rows; filters apply once."""
    branch = aliased(Organisation)
    ids = list(db.session.scalars(
        matching.join(branch, branch.id == Round.organisation_id)
        .order_by(Round.planned_close_on.asc().nulls_last(), branch.code, Round.id)
        .limit(size).offset((page - 1) * size)))
    if not ids:
        return []
    parent = aliased(Organisation)
    rows = {row[0]: row for row in db.session.execute(
        sa.select(Round.id, Round.title, Round.kind, Round.stage, Round.attempt,
                  Round.rehearsal, Round.opened_on, Round.planned_close_on, Organisation.id,
                  Organisation.name, parent.name, Batch.number)
        .join(Organisation, Organisation.id == Round.organisation_id)
        .outerjoin(parent, parent.id == Organisation.parent_id)
        .outerjoin(Batch, Batch.id == Organisation.batch_id)
        .where(Round.id.in_(ids)))}
    return [LiveRound(*rows[round_id]) for round_id in ids]


def _add_counts(rounds: list[LiveRound]) -> None:
    """Cards and ballots per group for a page of rounds: two GROUP BY queries in all."""
    by_id = {r.id: r for r in rounds}
    if not by_id:
        return
    ballots = {group_id: n for _round_id, group_id, n in db.session.execute(
        sa.select(Ballot.round_id, Ballot.group_id, sa.func.count())
        .where(Ballot.round_id.in_(by_id)).group_by(Ballot.round_id, Ballot.group_id))}
    for round_id, group_id, code, cards in db.session.execute(
            sa.select(RespondentGroup.round_id, RespondentGroup.id, RespondentGroup.code,
                      RespondentGroup.card_count)
            .where(RespondentGroup.round_id.in_(by_id)).order_by(RespondentGroup.id)):
        by_id[round_id].groups.append(GroupCount(code, cards, ballots.get(group_id, 0)))
