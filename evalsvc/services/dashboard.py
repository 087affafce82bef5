"""The campaign overview: branches × stages with state, participation, rates and flags."""
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.extensions import db
from evalsvc.models import (
    Ballot, Decision, Flag, FlagKind, Organisation, OrgType, RespondentGroup, Round,
    RoundState, Stage, StageState, User,
)
from evalsvc.services.campaigns import current_campaign
from evalsvc.services import totals
from evalsvc.services.scope import descendants_of, visible_org_ids


@dataclass
class StageCell:
    """One branch in one stage."""

    state: StageState
    rounds: int = 0
    cards: int = 0
    ballots: int = 0
    # The kinds' headline figures (label → proportion) from the latest closed rounds.
    figures: dict[str, float] = field(default_factory=dict)
    make_up: str | None = None  # "proposed" or "confirmed" while make-up is outstanding
    yellow_card: Decision | None = None

    @property
    def participation(self) -> float | None:
        """Ballots over cards issued in the stage's rounds."""
        return self.ballots / self.cards if self.cards else None


@dataclass
class BranchRow:
    """A branch and its three stages."""

    org: Organisation
    cells: dict[Stage, StageCell]
    admonishment: Decision | None = None
    unqualified: int = 0
    flags: list[Flag] = field(default_factory=list)


def overview(user: User, batch: int | None = None, parent_id: int | None = None) \
        -> list[BranchRow]:
    """Rows for the branches in the user's scope, optionally one batch or one subtree."""
    query = sa.select(Organisation).where(Organisation.type == OrgType.BRANCH) \
        .options(selectinload(Organisation.progress), selectinload(Organisation.batch),
                 selectinload(Organisation.parent)).order_by(Organisation.code)
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(Organisation.id.in_(ids))
    if parent_id is not None:
        query = query.where(Organisation.id.in_(descendants_of([parent_id])))
    branches = [o for o in db.session.scalars(query)
                if batch is None or (o.batch and o.batch.number == batch)]
    if not branches:
        return []
    rounds = _rounds_by_branch([b.id for b in branches])
    flags = _flags_by_branch([b.id for b in branches])
    return [_row(b, rounds.get(b.id, []), flags.get(b.id, [])) for b in branches]


def _current_id() -> int | None:
    """The dashboard shows the current campaign; earlier ones are read in their reports."""
    campaign = current_campaign()
    return campaign.id if campaign else None


def _rounds_by_branch(org_ids: list[int]) -> dict[int, list[tuple[Round, int, int]]]:
    cards = dict(db.session.execute(
        sa.select(RespondentGroup.round_id, sa.func.sum(RespondentGroup.card_count))
        .join(Round).where(Round.organisation_id.in_(org_ids))
        .group_by(RespondentGroup.round_id)).all())
    ballots = dict(db.session.execute(
        sa.select(Ballot.round_id, sa.func.count()).join(Round, Round.id == Ballot.round_id)
        .where(Round.organisation_id.in_(org_ids)).group_by(Ballot.round_id)).all())
    by_branch: dict[int, list] = {}
    for round_ in db.session.scalars(sa.select(Round).where(
            Round.organisation_id.in_(org_ids), Round.rehearsal.is_(False),
            Round.campaign_id == _current_id()).order_by(Round.id)):
        by_branch.setdefault(round_.organisation_id, []).append(
            (round_, int(cards.get(round_.id) or 0), ballots.get(round_.id, 0)))
    return by_branch


def _flags_by_branch(org_ids: list[int]) -> dict[int, list[Flag]]:
    by_branch: dict[int, list[Flag]] = {}
    for flag in db.session.scalars(sa.select(Flag).where(
            Flag.organisation_id.in_(org_ids), Flag.status != Decision.OVERRIDDEN,
            Flag.campaign_id == _current_id()).order_by(Flag.id)):
        by_branch.setdefault(flag.organisation_id, []).append(flag)
    return by_branch


def _row(org: Organisation, rounds, flags: list[Flag]) -> BranchRow:
    cells = {stage: StageCell(org.stage_state(stage)) for stage in Stage}
    for round_, cards, ballots in _latest_attempts(rounds):
        cell = cells[round_.stage]
        cell.rounds += 1
        if round_.state is not RoundState.DRAFT:  # a draft has issued nothing yet
            cell.cards += cards
            cell.ballots += ballots
        cell.figures.update(round_figures(round_))
        if round_.passed is False and round_.verdict_status is Decision.PROPOSED:
            cell.make_up = "proposed"  # the rules propose 补课; the office has not decided
    row = BranchRow(org, cells, flags=flags)
    for flag in flags:
        if flag.kind is FlagKind.MAKE_UP and flag.stage and flag.make_up_on is None:
            cells[flag.stage].make_up = "confirmed"  # decided, not yet made up
        elif flag.kind is FlagKind.YELLOW_CARD and flag.stage:
            cells[flag.stage].yellow_card = flag.status
        elif flag.kind is FlagKind.ADMONISHMENT:
            row.admonishment = flag.status
        elif flag.kind is FlagKind.UNQUALIFIED:
            row.unqualified += 1
    return row


def admonished_units(rows: list[BranchRow]) -> list[Flag]:
    """The 集体诫勉 of the rows' units, one per unit: shown on the unit, not on the branch
    whose yellow card happened to trigger it."""
    seen: dict[str, Flag] = {}
    for row in rows:
        for flag in row.flags:
            if flag.kind is FlagKind.ADMONISHMENT:
                seen.setdefault(flag.unit, flag)
    return list(seen.values())


def _latest_attempts(rounds):
    """Each (stage, kind)'s latest attempt only: earlier attempts do not mix into the cell."""
    latest: dict = {}
    for entry in rounds:
        round_ = entry[0]
        key = (round_.stage, round_.kind)
        if key not in latest or (round_.attempt, round_.id) > (latest[key][0].attempt,
                                                               latest[key][0].id):
            latest[key] = entry
    return sorted(latest.values(), key=lambda entry: entry[0].id)


def round_figures(round_: Round) -> dict[str, float]:
    """What a closed round's kind reports on the dashboard and in the weekly report (kept
    on the round at close)."""
    return totals.figures(round_)
