"""The campaign overview: branches × stages with state, participation, rates and flags."""
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import (
    Ballot, Batch, Decision, Flag, FlagKind, Organisation, OrgType, Round, RoundState, Stage,
    StageProgress, StageState, User,
)
from evalsvc.services import org_tree, paging, scope, totals
from evalsvc.services.campaigns import current_campaign


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
    rounds: list[Round] = field(default_factory=list)


PAGE_SIZE = 50  # branches a page
SIDE_SIZE = 10  # rows of each side list the dashboard shows before "all N"
EXPORT_CHUNK = 500  # branches read at a time for an export


class Mark(enum.Enum):
    """What a branch may be filtered by besides its stages (标记)."""

    MAKE_UP = "make_up"  # 补课: proposed by the rules, or decided and not yet made up
    YELLOW_CARD = "yellow_card"  # 黄牌 (proposed or confirmed)
    TO_DECIDE = "to_decide"  # 待决定: a verdict or a flag waits for the office
    UNQUALIFIED = "unqualified"  # 初评不合格党员


MARK_LABELS = {Mark.MAKE_UP: "补课", Mark.YELLOW_CARD: "黄牌", Mark.TO_DECIDE: "待决定",
               Mark.UNQUALIFIED: "初评不合格党员"}


@dataclass(frozen=True)
class OverviewFilter:
    """Which branches: a batch, the branches under a 党委 or 总支, a stage's state (any stage
    when ``stage`` is None), a mark, and a search by code or name; always within scope."""

    batch: int | None = None
    parent_id: int | None = None
    stage: Stage | None = None
    state: StageState | None = None
    mark: Mark | None = None
    search: str = ""

    def args(self) -> dict[str, object]:
        """The filter as URL parameters (only the keys the dashboard knows, only when set)."""
        values = (("batch", self.batch), ("parent", self.parent_id),
                  ("stage", self.stage.value if self.stage else None),
                  ("state", self.state.value if self.state else None),
                  ("mark", self.mark.value if self.mark else None), ("q", self.search))
        return {key: value for key, value in values if value}

    def summary(self, user: User) -> str:
        """The filter in Chinese (第2批 · 某党委 · 学习动员：进行中 · 补课 · 含“关键词”), or ''
        when it admits every branch in scope: a job's title says what it exported."""
        parts = [f"第{self.batch}批"] if self.batch else []
        if self.parent_id and scope.in_scope(user, self.parent_id):  # never name another's
            parts.append(db.session.scalar(sa.select(Organisation.name).where(
                Organisation.id == self.parent_id)) or "")
        if self.stage or self.state:
            parts.append("：".join(label(v) for v in (self.stage, self.state) if v))
        if self.mark:
            parts.append(MARK_LABELS[self.mark])
        if self.search:
            parts.append(f"含“{self.search}”")
        return " · ".join(parts)

    def audited(self) -> dict[str, object]:
        """What an export's audit entry says of the filter (the 党委 is its object): the
        batch, and whichever of stage, state, mark and search narrowed it."""
        rest = {k: v for k, v in self.args().items() if k not in ("batch", "parent")}
        return {"batch": self.batch, **rest}


def parse_filter(values) -> OverviewFilter:
    """The filter from query values; anything unknown or malformed is ignored."""
    return OverviewFilter(
        batch=paging.whole(values.get("batch")), parent_id=paging.whole(values.get("parent")),
        stage=paging.choice(Stage, values.get("stage")),
        state=paging.choice(StageState, values.get("state")),
        mark=paging.choice(Mark, values.get("mark")),
        search=org_tree.search_text(values.get("q")))


@dataclass
class OverviewPage:
    """One page of branch rows, and how many branches the filter matches in all."""

    rows: list[BranchRow]
    total: int
    number: int
    size: int
    capped = False  # branches are always counted exactly

    @property
    def total_text(self) -> str:
        """The count as the pager shows it."""
        return str(self.total)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.size))


def branch_filter(user: User, chosen: OverviewFilter) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses on ``Organisation`` for the branches the user may see and the filter
    admits: subqueries, never one parameter per branch."""
    campaign_id = _current_id()
    where = [Organisation.type == OrgType.BRANCH,
             scope.visible_clause(user, Organisation.id)]
    if chosen.parent_id is not None:
        where.append(Organisation.id.in_(scope.subtree([chosen.parent_id])))
    if chosen.batch is not None:
        where.append(Organisation.batch_id.in_(
            sa.select(Batch.id).where(Batch.number == chosen.batch)))
    if chosen.state is not None:
        stages = [chosen.stage] if chosen.stage else list(Stage)
        where.append(sa.or_(*(_in_state(s, chosen.state, campaign_id) for s in stages)))
    if chosen.mark is not None:
        where.append(_marked(chosen.mark, campaign_id))
    if chosen.search:
        where.append(org_tree.matches(chosen.search))
    return where


def _in_state(stage: Stage, state: StageState, campaign_id) -> sa.ColumnElement[bool]:
    """The branch stands at ``state`` in ``stage`` (no progress row: not started)."""
    rows = sa.select(StageProgress.id).where(
        StageProgress.organisation_id == Organisation.id, StageProgress.stage == stage,
        StageProgress.campaign_id == campaign_id)
    if state is StageState.NOT_STARTED:
        return ~rows.where(StageProgress.state != StageState.NOT_STARTED).exists()
    return rows.where(StageProgress.state == state).exists()


def _marked(mark: Mark, campaign_id) -> sa.ColumnElement[bool]:
    """The branch carries the mark in the current campaign (as the rows show it)."""
    flags = sa.select(Flag.id).where(Flag.organisation_id == Organisation.id,
                                     Flag.campaign_id == campaign_id)
    live_flags = flags.where(Flag.status != Decision.OVERRIDDEN)
    proposals = sa.select(Round.id).where(
        Round.organisation_id == Organisation.id, Round.campaign_id == campaign_id,
        Round.rehearsal.is_(False), Round.verdict_status == Decision.PROPOSED)
    if mark is Mark.MAKE_UP:
        return sa.or_(proposals.where(Round.passed.is_(False)).exists(), live_flags.where(
            Flag.kind == FlagKind.MAKE_UP, Flag.stage.is_not(None),
            Flag.make_up_on.is_(None)).exists())
    if mark is Mark.YELLOW_CARD:
        return live_flags.where(Flag.kind == FlagKind.YELLOW_CARD,
                                Flag.stage.is_not(None)).exists()
    if mark is Mark.UNQUALIFIED:
        return live_flags.where(Flag.kind == FlagKind.UNQUALIFIED).exists()
    return sa.or_(proposals.exists(), flags.where(Flag.status == Decision.PROPOSED).exists())


def _branches_query(where) -> sa.Select:
    return sa.select(Organisation).where(*where).options(
        selectinload(Organisation.progress), selectinload(Organisation.batch),
        selectinload(Organisation.parent)).order_by(Organisation.code)


def overview_page(user: User, chosen: OverviewFilter, number: int = 1,
                  size: int = PAGE_SIZE) -> OverviewPage:
    """Page ``number`` (clamped) of the branches the filter admits, ordered by code: a count
    and a fixed handful of statements for the page's rows, whatever the campaign's size."""
    where = branch_filter(user, chosen)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)
                              .where(*where)) or 0
    number = min(max(1, number), max(1, -(-total // size)))
    branches = list(db.session.scalars(_branches_query(where).limit(size)
                                       .offset((number - 1) * size)))
    return OverviewPage(_rows(branches), total, number, size)


def overview(user: User, batch: int | None = None, parent_id: int | None = None,
             chosen: OverviewFilter | None = None) -> Iterator[BranchRow]:
    """Every row the filter admits, ordered by code, read ``EXPORT_CHUNK`` branches at a time
    (for exports: what was read is let go after each chunk, so memory stays bounded). The
    filter is built now, from the user as they are now: a streamed export reads its rows
    after the request has committed its audit entry."""
    chosen = chosen or OverviewFilter(batch=batch, parent_id=parent_id)
    return _chunks(branch_filter(user, chosen))


def _chunks(where) -> Iterator[BranchRow]:
    last = None
    while True:
        known = set(db.session.identity_map.keys())
        query = _branches_query(where).limit(EXPORT_CHUNK)
        if last is not None:
            query = query.where(Organisation.code > last)
        branches = list(db.session.scalars(query))
        yield from _rows(branches)
        if len(branches) < EXPORT_CHUNK:
            return
        last = branches[-1].code
        _let_go(known)


def _let_go(known: set) -> None:
    """Before the next chunk, drop from the session what this chunk read and nothing the
    caller held before (all read only: nothing is pending). A campaign of one chunk keeps
    everything, so a caller may still follow the rows' relationships."""
    for key, obj in list(db.session.identity_map.items()):
        if key not in known and obj in db.session:  # an expunge cascades to children
            db.session.expunge(obj)


def _rows(branches: list[Organisation]) -> list[BranchRow]:
    if not branches:
        return []
    ids = [b.id for b in branches]  # a page or a chunk: bounded
    rounds = _rounds_by_branch(ids)
    flags = _flags_by_branch(ids)
    return [_row(b, rounds.get(b.id, []), flags.get(b.id, [])) for b in branches]


def _current_id() -> int | None:
    """The dashboard shows the current campaign; earlier ones are read in their reports."""
    campaign = current_campaign()
    return campaign.id if campaign else None


def _rounds_by_branch(org_ids: list[int]) -> dict[int, list[tuple[Round, int, int]]]:
    """The branches' rounds in the current campaign with their cards and ballots: the totals
    kept on the rounds, and one GROUP BY for the ballots of the ones still open."""
    found = list(db.session.scalars(sa.select(Round).where(
        Round.organisation_id.in_(org_ids), Round.rehearsal.is_(False),
        Round.campaign_id == _current_id()).options(
            defer(Round.layout_json), defer(Round.result_json), defer(Round.settings_json),
            defer(Round.extra_items_json)).order_by(Round.id)))
    open_ids = [r.id for r in found if r.state is RoundState.OPEN or
                (r.state is RoundState.CLOSED and r.ballots_counted is None)]
    ballots = dict(db.session.execute(
        sa.select(Ballot.round_id, sa.func.count()).where(Ballot.round_id.in_(open_ids))
        .group_by(Ballot.round_id)).all()) if open_ids else {}
    by_branch: dict[int, list] = {}
    for round_ in found:
        counted = round_.ballots_counted if round_.ballots_counted is not None \
            else ballots.get(round_.id, 0)
        by_branch.setdefault(round_.organisation_id, []).append(
            (round_, round_.cards_issued, counted))
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
    row = BranchRow(org, cells, flags=flags, rounds=[entry[0] for entry in rounds])
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
