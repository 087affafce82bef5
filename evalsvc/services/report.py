"""The weekly supervision report (督导工作周报): per batch and branch, for a period.

It reads a province as it reads a county: the period's summaries (the headline, one line a
batch) are sums of the totals kept per day and committee (``services/day_totals.py``: what a
province's report reads does not grow with its branches); the committees charted are SQL
aggregates (GROUP BY) over the user's scope, a subquery (``scope.branch_clause``), never a
list of ids bound as parameters; the branches listed on the page and in the PDF are
the first ``LISTED`` of each batch (the report says how many more there are), and the XLSX
reads every branch in chunks of ``CHUNK`` (``WeeklyReport.every_branch``), so the number of
statements and the memory held do not grow with the branches (the XLSX's statements grow by
one set a chunk).
"""
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import (
    AuditEntry, Batch, Decision, Flag, FlagKind, Opinion, Organisation, Round, Stage,
    StageProgress, StageState, Transition, User,
)
from evalsvc.models.campaigns import latest_campaign_id
from evalsvc.services.audit_words import action_label
from evalsvc.services import day_totals
from evalsvc.services.dashboard import round_figures
from evalsvc.services.day_totals import CHANGE_ACTIONS  # noqa: F401 - the report's changes
from evalsvc.services.scope import branch_clause
from evalsvc.services.today import local_day, short_date, utc_start

LISTED = 200  # branches (and opinions, 诫勉) listed per section on the page and in the PDF
CHUNK = 1000  # branches read at a time for the XLSX
YIELD = 500  # rows fetched at a time when a query streams
NO_BATCH = 99  # where 未分批 sorts


@dataclass
class BranchWeek:
    """One branch's week."""

    code: str
    name: str
    batch: int | None
    committee: str  # the branch's parent (党委/党总支), for the charts
    stages: dict[str, str]  # stage label → state label
    rounds_held: int = 0  # rounds closed in the period
    cards: int = 0
    ballots: int = 0  # ballots of rounds held
    # The kinds' headline figures of the rounds held: label (满意率, 合格率…) → values.
    figures: dict[str, list[float]] = field(default_factory=dict)
    flags_raised: int = 0
    flags_confirmed: int = 0
    transitions: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    seals: list[tuple[int, str, str | None]] = field(default_factory=list)  # id, title, digest

    @property
    def participation(self) -> float | None:
        """Ballots over cards of the rounds held."""
        return self.ballots / self.cards if self.cards else None

    def lowest(self, figure: str) -> float | None:
        """The lowest value of one figure among the rounds held (the one that matters)."""
        values = self.figures.get(figure)
        return min(values) if values else None

    @property
    def rate(self) -> float | None:
        """The lowest figure of any kind among the rounds held."""
        values = [v for vs in self.figures.values() for v in vs]
        return min(values) if values else None


@dataclass
class GroupSummary:
    """A batch's (or a committee's) week in one line."""

    label: str
    branches: int
    rounds_held: int
    cards: int
    ballots: int
    rate: float | None  # the lowest headline figure among its rounds
    make_up: int = 0  # 补课
    yellow_cards: int = 0  # 黄牌警示
    admonishments: int = 0  # 集体诫勉 (of units)

    @classmethod
    def of(cls, label_: str, rows: list[BranchWeek], flags: dict) -> "GroupSummary":
        """Sum the rows."""
        rates = [r.rate for r in rows if r.rate is not None]
        return cls(label_, len(rows), sum(r.rounds_held for r in rows),
                   sum(r.cards for r in rows), sum(r.ballots for r in rows),
                   min(rates) if rates else None, flags.get(FlagKind.MAKE_UP, 0),
                   flags.get(FlagKind.YELLOW_CARD, 0), flags.get(FlagKind.ADMONISHMENT, 0))

    @property
    def participation(self) -> float | None:
        """Ballots over cards of the rounds held."""
        return self.ballots / self.cards if self.cards else None


@dataclass
class Totals:
    """The headline sentence's figures, over every branch in scope."""

    branches: int = 0
    rounds_held: int = 0
    ballots: int = 0
    flags_raised: int = 0
    flags_confirmed: int = 0
    changes: int = 0  # 本期变化 entries
    seals: int = 0  # rounds held (each has a seal line)


@dataclass
class WeeklyReport:
    """The report for a period, branches grouped by batch.

    ``branches`` are the branches listed (all of a county; the first ``LISTED`` of each batch
    of a province). Built by ``weekly`` the summaries, totals and counts come from the
    database (``source``); built by hand from rows (tests, a county in memory) they are
    summed from ``branches``."""

    start: date
    end: date
    branches: list[BranchWeek]
    # The week's 督导意见: (branch name, written on, author, text), oldest first.
    opinions: list[tuple[str, date, str, str]] = field(default_factory=list)
    # Flags raised in the period and not overridden, by batch: kind → count.
    flag_counts: dict[int | None, dict[FlagKind, int]] = field(default_factory=dict)
    # 集体诫勉 of the period, on the unit: (unit, raised on, status label).
    admonishments: list[tuple[str, date, str]] = field(default_factory=list)
    batch_names: dict[int, str] = field(default_factory=dict)
    # 信息简报 dated in the period, who has not sent one in the week the period ends in,
    # and 回头看: plan items past their deadline and not done (services/rectify_report.py).
    briefs: list = field(default_factory=list)
    missing_briefs: list = field(default_factory=list)  # the first ``LISTED``
    missing_count: int | None = None  # how many have not sent one (None: every one is listed)
    all_missing: "Callable[[], list] | None" = None  # every one (the XLSX)
    overdue_items: list = field(default_factory=list)
    source: "ReportSource | None" = None

    @property
    def batches(self) -> dict[int | None, list[BranchWeek]]:
        """The listed branches by batch number."""
        grouped: dict[int | None, list[BranchWeek]] = {}
        for row in self.branches:
            grouped.setdefault(row.batch, []).append(row)
        return grouped

    def batch_numbers(self) -> list[int | None]:
        """Every batch with branches in scope, in order (未分批 last)."""
        numbers = self.source.batch_counts if self.source else self.batches
        return sorted(numbers, key=lambda number: number or NO_BATCH)

    def listed(self, batch: int | None) -> list[BranchWeek]:
        """The branches of a batch listed on the page and in the PDF."""
        return self.batches.get(batch, [])

    def unlisted(self, batch: int | None) -> int:
        """How many branches of the batch are not listed (they are in the XLSX)."""
        if self.source is None:
            return 0
        return self.source.batch_counts.get(batch, 0) - len(self.listed(batch))

    def branch_count(self, batch: int | None = None) -> int:
        """Branches in scope (of one batch, or all)."""
        if self.source is None:
            return len(self.branches if batch is None else self.listed(batch))
        counts = self.source.batch_counts
        return sum(counts.values()) if batch is None else counts.get(batch, 0)

    def every_branch(self) -> Iterator[BranchWeek]:
        """Every branch in scope, batch by batch, read in chunks (the XLSX's rows)."""
        if self.source is None:
            for batch in self.batch_numbers():
                yield from self.listed(batch)
        else:
            yield from self.source.every_branch()

    def total(self, attribute: str) -> int:
        """A column's sum over every branch."""
        if self.source is not None:
            return getattr(self.source.totals, attribute)
        if attribute == "seals":
            return sum(len(b.seals) for b in self.branches)
        if attribute == "changes":
            return sum(len(b.changes) for b in self.branches)
        return sum(getattr(b, attribute) for b in self.branches)

    def batch_label(self, batch: int | None) -> str:
        """第1批（党政机关）, or 未分批."""
        if batch is None:
            return "未分批"
        name = self.batch_names.get(batch)
        return f"第{batch}批（{name}）" if name else f"第{batch}批"

    def summaries(self, rates: bool = False) -> list[GroupSummary]:
        """One line a batch: branches, rounds closed, ballots, participation, flags. ``rates``:
        with each batch's lowest headline figure (the charts'; it reads every round held)."""
        if self.source is not None:
            return self.source.batch_summaries(self, rates)
        return [GroupSummary.of(self.batch_label(batch), self.batches[batch],
                                self.flag_counts.get(batch, {}))
                for batch in self.batch_numbers()]

    def committees(self, limit: int | None = None) -> tuple[list[GroupSummary], int]:
        """One line per committee (the branches' parents) that held rounds in the period, at
        most ``limit`` of them (those with the lowest participation when there are more), and
        how many committees held rounds."""
        if self.source is not None:
            return self.source.committee_summaries(limit)
        grouped: dict[str, list[BranchWeek]] = {}
        for row in self.branches:
            if row.rounds_held:
                grouped.setdefault(row.committee, []).append(row)
        found = [GroupSummary.of(name, rows, {}) for name, rows in grouped.items()]
        return _fewest(found, limit), len(found)

    def more_opinions(self) -> int:
        """督导意见 of the period not listed (the XLSX has them)."""
        return self.source.opinion_count - len(self.opinions) if self.source else 0

    def every_opinion(self) -> Iterator[tuple[str, date, str, str]]:
        """Every 督导意见 of the period, oldest first (streamed)."""
        if self.source is None:
            yield from self.opinions
        else:
            yield from self.source.every_opinion()

    def missing_total(self) -> int:
        """How many departments and groups have not sent a brief in the week."""
        return len(self.missing_briefs) if self.missing_count is None else self.missing_count

    def every_missing_brief(self) -> list:
        """Every department and group without a brief in the week (the XLSX's rows)."""
        return self.all_missing() if self.all_missing is not None else self.missing_briefs

    def more_admonishments(self) -> int:
        """集体诫勉 of the period not listed."""
        return self.source.admonishment_count - len(self.admonishments) if self.source else 0

    def change_lines(self) -> Iterator[tuple[str, str]]:
        """本期变化 of every branch, branch by branch: (branch name, change)."""
        if self.source is not None:
            yield from self.source.change_lines()
            return
        for b in self.every_branch():
            for change in b.changes:
                yield b.name, change

    def seal_lines(self) -> Iterator[tuple[str, int, str, str | None]]:
        """The seal of every round held: (branch name, round id, title, digest)."""
        if self.source is not None:
            yield from self.source.seal_lines()
            return
        for b in self.every_branch():
            for round_id, title, digest in b.seals:
                yield b.name, round_id, title, digest


def _fewest(found: list[GroupSummary], limit: int | None) -> list[GroupSummary]:
    """At most ``limit`` groups: all, in order, when they fit; else the lowest participation."""
    if limit is None or len(found) <= limit:
        return found
    return sorted(found, key=lambda g: (g.participation if g.participation is not None
                                        else 2, g.label))[:limit]


def default_period(day: date, weekday: int = 4) -> tuple[date, date]:
    """The week a report due on ``weekday`` (ISO, 4 = Thursday) covers: the seven days before
    the latest reporting day on or before ``day``."""
    due = day - timedelta(days=(day.isoweekday() - weekday) % 7)
    return due - timedelta(days=7), due - timedelta(days=1)


def weekly(user: User, start: date, end: date, listed: int | None = None) -> WeeklyReport:
    """Every branch in the user's scope, with what happened between start and end: the
    summaries over all of them, the first ``listed`` (``LISTED``) branches of each batch in
    full."""
    listed = LISTED if listed is None else listed
    source = ReportSource(user, start, end)
    report = WeeklyReport(start, end, [], source=source,
                          batch_names=source.batch_names)
    report.branches = source.branch_weeks(source.first_of_each_batch(listed))
    report.flag_counts = source.flag_counts()
    report.admonishments = source.admonishments(listed)
    report.opinions = source.opinions(listed)
    from evalsvc.services.rectify_report import add_rectification

    return add_rectification(report, user, listed)


class ReportSource:
    """The queries behind a report: the scope is a subquery, every figure an aggregate."""

    def __init__(self, user: User, start: date, end: date):
        self.user, self.start, self.end = user, start, end
        self.batch_names: dict[int, str] = {}
        self._batch_number: dict[int, int] = {}
        for batch_id, number, name in db.session.execute(
                sa.select(Batch.id, Batch.number, Batch.name).order_by(Batch.id)):
            self._batch_number[batch_id] = number
            self.batch_names[number] = name
        self.batch_counts: dict[int | None, int] = {}
        self._batch_ids: list[int | None] = []  # with branches in scope
        for batch_id, count in day_totals.branch_counts(user).items():
            self._batch_ids.append(batch_id)
            number = self._batch_number.get(batch_id)
            self.batch_counts[number] = self.batch_counts.get(number, 0) + count
        self._kept = day_totals.period(user, start, end)
        self.totals = self._totals()
        self.opinion_count = 0
        self.admonishment_count = 0

    # -- scope and the period ------------------------------------------------------------
    def in_scope(self, org_id_column) -> sa.ColumnElement[bool]:
        """The column names a branch in the user's scope."""
        branches = sa.select(Organisation.id).where(branch_clause(self.user))
        return org_id_column.in_(branches.correlate(None))

    def _held(self):
        """Rounds closed in the period (rehearsals aside)."""
        return sa.and_(Round.closed_on >= self.start, Round.closed_on <= self.end,
                       Round.rehearsal.is_(False))

    def _held_figures(self):
        """Per round held in scope: id, organisation, cards, ballots (a subquery of the totals
        each round keeps: nothing is recounted)."""
        return sa.select(Round.id, Round.organisation_id, Round.cards_issued.label("cards"),
                         sa.func.coalesce(Round.ballots_counted, 0).label("ballots")) \
            .where(self._held(), self.in_scope(Round.organisation_id)).subquery()

    def _flag_raised(self):
        return sa.and_(Flag.raised_on >= self.start, Flag.raised_on <= self.end)

    def _flag_confirmed(self):
        return sa.and_(Flag.status == Decision.CONFIRMED, Flag.decided_on >= self.start,
                       Flag.decided_on <= self.end)

    def _changes_where(self):
        return sa.and_(AuditEntry.at >= utc_start(self.start),
                       AuditEntry.at < utc_start(self.end + timedelta(days=1)),
                       AuditEntry.action.in_(CHANGE_ACTIONS))

    # -- summaries -----------------------------------------------------------------------
    def _totals(self) -> Totals:
        """The headline figures: sums of the totals kept per day and committee."""
        sums = {c: sum(line[c] for line in self._kept.values()) for c in day_totals.COUNTS}
        return Totals(sum(self.batch_counts.values()), sums["rounds_held"], sums["ballots"],
                      sums["flags_raised"], sums["flags_confirmed"], sums["changes"],
                      sums["rounds_held"])

    def flag_counts(self) -> dict[int | None, dict[FlagKind, int]]:
        """Flags raised in the period and not overridden, by batch and kind (补课, 黄牌警示,
        集体诫勉)."""
        counts: dict[int | None, dict[FlagKind, int]] = {}
        for batch_id, line in self._kept.items():
            for kind, column in day_totals.KIND_COLUMNS.items():
                if line[column]:
                    per = counts.setdefault(self._batch_number.get(batch_id), {})
                    per[kind] = per.get(kind, 0) + line[column]
        return counts

    def batch_summaries(self, report: WeeklyReport, rates: bool) -> list[GroupSummary]:
        """One line a batch, from the totals kept per day and committee."""
        sums: dict[int | None, list[int]] = {}
        by_number: dict[int | None, float] = {}
        for batch_id, line in self._kept.items():
            number = self._batch_number.get(batch_id)
            got = sums.setdefault(number, [0, 0, 0])
            for i, column in enumerate(("rounds_held", "cards", "ballots")):
                got[i] += line[column]
            if rates and line["lowest"] is not None:
                by_number[number] = min(line["lowest"], by_number.get(number, line["lowest"]))
        out = []
        for number in report.batch_numbers():
            rounds, cards, ballots = sums.get(number, (0, 0, 0))
            flags = report.flag_counts.get(number, {})
            out.append(GroupSummary(report.batch_label(number), self.batch_counts[number],
                                    rounds, cards, ballots, by_number.get(number),
                                    flags.get(FlagKind.MAKE_UP, 0),
                                    flags.get(FlagKind.YELLOW_CARD, 0),
                                    flags.get(FlagKind.ADMONISHMENT, 0)))
        return out

    def committee_summaries(self, limit: int | None) -> tuple[list[GroupSummary], int]:
        """The committees whose branches held rounds: at most ``limit``, the lowest
        participation first when there are more; and how many there are."""
        held = self._held_figures()
        parent = aliased(Organisation)
        per_branch = sa.select(Organisation.parent_id.label("parent_id"),
                               held.c.organisation_id, held.c.cards, held.c.ballots) \
            .join(Organisation, Organisation.id == held.c.organisation_id).subquery()
        cards = sa.func.sum(per_branch.c.cards)
        ballots = sa.func.sum(per_branch.c.ballots)
        query = sa.select(per_branch.c.parent_id, sa.func.min(parent.name),
                          sa.func.count(sa.distinct(per_branch.c.organisation_id)),
                          sa.func.count(), cards, ballots, sa.func.min(parent.code)) \
            .join(parent, parent.id == per_branch.c.parent_id, isouter=True) \
            .group_by(per_branch.c.parent_id)
        count = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        if limit is not None and count > limit:
            participation = sa.cast(ballots, sa.Float) / sa.func.nullif(cards, 0)
            query = query.order_by(sa.func.coalesce(participation, 2), sa.func.min(parent.code))
            query = query.limit(limit)
        else:
            query = query.order_by(sa.func.min(parent.code))
        found = db.session.execute(query).all()
        lowest = self._lowest_rates(Organisation.parent_id,
                                    Organisation.parent_id.in_([r[0] for r in found])
                                    if count > len(found) else None)
        return [GroupSummary(name or "", branches, rounds, int(c or 0), int(b or 0),
                             lowest.get(parent_id))
                for parent_id, name, branches, rounds, c, b, _code in found], count

    def _lowest_rates(self, group_column, where=None) -> dict:
        """The lowest headline figure of the rounds held, per group (a batch, a committee).
        The figures are kept on each round at close as a small JSON object, read in Python
        a few hundred rounds at a time (memory stays bounded)."""
        query = sa.select(group_column, *_FIGURES) \
            .join(Organisation, Organisation.id == Round.organisation_id) \
            .where(self._held(), self.in_scope(Round.organisation_id))
        if where is not None:
            query = query.where(where)
        lowest: dict = {}
        for row in db.session.execute(query.execution_options(yield_per=YIELD)):
            values = round_figures(row).values()
            if values:
                value = min(values)
                lowest[row[0]] = min(value, lowest.get(row[0], value))
        return lowest

    # -- lists ---------------------------------------------------------------------------
    def admonishments(self, limit: int) -> list[tuple[str, date, str]]:
        """The period's 集体诫勉 on units, the first ``limit``."""
        query = sa.select(Flag.unit, Organisation.name, Flag.raised_on, Flag.status) \
            .join(Organisation, Organisation.id == Flag.organisation_id) \
            .where(Flag.kind == FlagKind.ADMONISHMENT, self._flag_raised(),
                   self.in_scope(Flag.organisation_id)).order_by(Flag.id)
        self.admonishment_count = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.subquery()))
        return [(unit or name, on, label(status))
                for unit, name, on, status in db.session.execute(query.limit(limit))]

    def _opinions(self):
        return sa.select(Organisation.name, Opinion.written_on, Opinion.author, Opinion.text) \
            .join(Organisation, Organisation.id == Opinion.organisation_id) \
            .where(Opinion.written_on >= self.start, Opinion.written_on <= self.end,
                   self.in_scope(Opinion.organisation_id)) \
            .order_by(Opinion.written_on, Opinion.id)

    def opinions(self, limit: int) -> list[tuple[str, date, str, str]]:
        """The period's 督导意见, oldest first, the first ``limit``."""
        self.opinion_count = db.session.scalar(
            sa.select(sa.func.count()).select_from(self._opinions().subquery()))
        return [tuple(row) for row in db.session.execute(self._opinions().limit(limit))]

    def every_opinion(self) -> Iterator[tuple[str, date, str, str]]:
        """Every 督导意见 of the period, streamed."""
        for row in db.session.execute(self._opinions().execution_options(yield_per=YIELD)):
            yield tuple(row)

    def first_of_each_batch(self, listed: int) -> sa.Select:
        """A SELECT of the first ``listed`` branches (by code) of each batch: one short
        statement a batch walks the code index to the batch's ``listed``-th branch (a
        province's other branches are never read), and the SELECT names the ids found."""
        ids: list[int] = []
        for batch_id in self._batch_ids:
            batch = Organisation.batch_id.is_(None) if batch_id is None \
                else Organisation.batch_id == batch_id
            ids += db.session.scalars(sa.select(Organisation.id).where(
                branch_clause(self.user), batch).order_by(Organisation.code).limit(listed))
        return sa.select(Organisation.id).where(Organisation.id.in_(ids))

    def _in_report_order(self, query: sa.Select) -> sa.Select:
        """The query (joined to ``Organisation``) ordered as the report lists branches."""
        batch = sa.select(Batch.number).where(Batch.id == Organisation.batch_id) \
            .scalar_subquery()
        return query.order_by(sa.func.coalesce(batch, NO_BATCH), Organisation.code)

    def seal_lines(self) -> Iterator[tuple[str, int, str, str | None]]:
        """The seal of every round held, branch by branch: one query, streamed."""
        query = sa.select(Organisation.name, Round.id, Round.title, Round.digest) \
            .join(Organisation, Organisation.id == Round.organisation_id) \
            .where(self._held(), self.in_scope(Round.organisation_id))
        for row in db.session.execute(self._in_report_order(query).order_by(Round.id)
                                      .execution_options(yield_per=YIELD)):
            yield tuple(row)

    def change_lines(self) -> Iterator[tuple[str, str]]:
        """本期变化 of every branch, branch by branch: one query, streamed, and the rounds,
        requests and flags its entries name read a few hundred entries at a time."""
        query = sa.select(Organisation.name, AuditEntry.action, AuditEntry.object_id,
                          AuditEntry.detail, AuditEntry.at) \
            .join(Organisation, Organisation.id == AuditEntry.organisation_id) \
            .where(self._changes_where(), self.in_scope(AuditEntry.organisation_id))
        result = db.session.execute(self._in_report_order(query).order_by(AuditEntry.id)
                                    .execution_options(yield_per=YIELD))
        for entries in result.partitions():
            names = _Names(entries)
            for entry in entries:
                text = change_text(entry, names)
                if text:
                    yield entry.name, f"{short_date(local_day(entry.at))} {text}"

    def every_branch(self) -> Iterator[BranchWeek]:
        """Every branch in scope, batch by batch and by code, ``CHUNK`` at a time."""
        number_of = self._batch_number
        for number in sorted(self.batch_counts, key=lambda n: n or NO_BATCH):
            ids = [i for i, n in number_of.items() if n == number]
            batch = Organisation.batch_id.in_(ids) if number is not None \
                else Organisation.batch_id.is_(None)
            last = ""
            while True:
                chunk = sa.select(Organisation.id).where(
                    self.in_scope(Organisation.id), batch, Organisation.code > last) \
                    .order_by(Organisation.code).limit(CHUNK)
                rows = self.branch_weeks(chunk)
                yield from rows
                if len(rows) < CHUNK:
                    break
                last = rows[-1].code

    def branch_weeks(self, ids: sa.Select) -> list[BranchWeek]:
        """The weeks of the branches ``ids`` selects (a bounded subquery), by batch and
        code, in a fixed number of statements."""
        ids = ids.correlate(None)  # its own FROM, never the caller's organisations
        parent = aliased(Organisation)
        rows: dict[int, BranchWeek] = {}
        stage_labels = {s: label(s) for s in Stage}
        not_started = label(StageState.NOT_STARTED)
        for org_id, code, name, batch_id, committee in db.session.execute(
                sa.select(Organisation.id, Organisation.code, Organisation.name,
                          Organisation.batch_id, parent.name)
                .join(parent, parent.id == Organisation.parent_id, isouter=True)
                .where(Organisation.id.in_(ids)).order_by(Organisation.code)):
            rows[org_id] = BranchWeek(code, name, self._batch_number.get(batch_id),
                                      committee or "",
                                      {stage_labels[s]: not_started for s in Stage})
        if not rows:
            return []
        for org_id, stage, state in db.session.execute(
                sa.select(StageProgress.organisation_id, StageProgress.stage,
                          StageProgress.state).where(
                    StageProgress.campaign_id == latest_campaign_id(),
                    StageProgress.organisation_id.in_(ids)).order_by(StageProgress.id)):
            row = rows[org_id]
            if row.stages[stage_labels[stage]] == not_started:  # the first row counts
                row.stages[stage_labels[stage]] = label(state)
        self._rounds_held(rows, ids)
        self._branch_flags(rows, ids)
        self._transitions(rows, ids)
        self._changes(rows, ids)
        return sorted(rows.values(), key=lambda r: (r.batch or NO_BATCH, r.code))

    def _rounds_held(self, rows: dict[int, BranchWeek], ids) -> None:
        for row in db.session.execute(
                sa.select(Round.id, Round.organisation_id, Round.title, Round.digest,
                          Round.cards_issued.label("cards"),
                          sa.func.coalesce(Round.ballots_counted, 0).label("ballots"),
                          *_FIGURES)
                .where(self._held(), Round.organisation_id.in_(ids)).order_by(Round.id)
                .execution_options(yield_per=YIELD)):
            week = rows[row.organisation_id]
            week.rounds_held += 1
            week.seals.append((row.id, row.title, row.digest))
            week.cards += int(row.cards)
            week.ballots += int(row.ballots)
            for figure, value in round_figures(row).items():
                week.figures.setdefault(figure, []).append(value)

    def _branch_flags(self, rows: dict[int, BranchWeek], ids) -> None:
        raised = sa.func.sum(sa.case((self._flag_raised(), 1), else_=0))
        confirmed = sa.func.sum(sa.case((self._flag_confirmed(), 1), else_=0))
        for org_id, n_raised, n_confirmed in db.session.execute(
                sa.select(Flag.organisation_id, raised, confirmed)
                .where(Flag.organisation_id.in_(ids),
                       sa.or_(self._flag_raised(), self._flag_confirmed()))
                .group_by(Flag.organisation_id)):
            rows[org_id].flags_raised = int(n_raised or 0)
            rows[org_id].flags_confirmed = int(n_confirmed or 0)

    def _transitions(self, rows: dict[int, BranchWeek], ids) -> None:
        for org_id, stage, state in db.session.execute(
                sa.select(Transition.organisation_id, Transition.stage, Transition.state)
                .where(Transition.organisation_id.in_(ids), sa.or_(
                    sa.and_(Transition.applied_on >= self.start,
                            Transition.applied_on <= self.end),
                    sa.and_(Transition.decided_on >= self.start,
                            Transition.decided_on <= self.end)))
                .order_by(Transition.id)):
            rows[org_id].transitions.append(f"{label(stage)}阶段：{label(state)}")

    def _changes(self, rows: dict[int, BranchWeek], ids) -> None:
        """What happened to which round of which branch, in order."""
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.organisation_id.in_(ids), self._changes_where())
            .order_by(AuditEntry.id)).all()
        names = _Names(entries)
        for entry in entries:
            text = change_text(entry, names)
            if text:
                rows[entry.organisation_id].changes.append(
                    f"{short_date(local_day(entry.at))} {text}")
        for entry in entries:  # audit entries are not kept: a chunk's are let go
            db.session.expunge(entry)


# What ``round_figures`` reads of a round: the figures kept at close (the stored result only
# for a round closed before they were kept).
_FIGURES = (Round.kind, Round.state, Round.figures_json,
            sa.case((Round.figures_json.is_(None), Round.result_json)).label("result_json"))


class _Names:
    """The rounds, requests and flags a set of audit entries name, read in three queries
    (not one lookup an entry)."""

    def __init__(self, entries: list[AuditEntry]):
        def keys(prefix: str) -> set[int]:
            return {int(e.object_id) for e in entries
                    if e.action.startswith(prefix) and e.object_id.isdigit()}

        flag_keys = keys("flag.")
        self.flags = {f.id: f for f in _rows(Flag, flag_keys)}
        round_keys = keys("round.") | {f.round_id for f in self.flags.values() if f.round_id}
        self.rounds = {r.id: r for r in _rows(Round, round_keys, (
            Round.id, Round.title, Round.stage, Round.attempt))}
        self.transitions = {t.id: t for t in _rows(Transition, keys("transition."), (
            Transition.id, Transition.stage))}

    def round(self, key: int | None):
        return self.rounds.get(key) if key else None

    def transition(self, key: int | None):
        return self.transitions.get(key) if key else None

    def flag(self, key: int | None):
        return self.flags.get(key) if key else None


def _rows(model, keys: set[int], columns=None) -> list:
    """The rows of ``model`` with these ids (a chunk's few, bound a thousand at a time)."""
    ordered, found = sorted(keys), []
    for i in range(0, len(ordered), 1000):
        found += db.session.execute(sa.select(*(columns or model.__table__.c))
                                    .where(model.id.in_(ordered[i:i + 1000]))).all()
    return found


def _round_name(round_) -> str:
    if round_ is None:
        return ""
    return f"「{round_.title}」（{label(round_.stage)}，第{round_.attempt}次）"


def change_text(entry: AuditEntry, names: _Names | None = None) -> str:
    """One audit entry as a sentence: what happened to which round (or request, or flag).
    ``names``: the rows the entries name, read beforehand (else each is looked up)."""
    names = names or _Names([entry])
    detail = json.loads(entry.detail or "{}")
    key = int(entry.object_id) if entry.object_id.isdigit() else None
    if entry.action.startswith("round."):
        name = _round_name(names.round(key))
        if entry.action == "round.open":
            return f"{name}开始测评"
        if entry.action == "round.close":
            return f"{name}结束测评，收回答卷 {detail.get('ballots', 0)} 份"
        if entry.action.startswith("round.verdict."):
            verdict = "通过" if detail.get("passed") else "未通过"
            verb = "确认" if entry.action == "round.verdict.confirm" else "改定"
            return f"{verb}{name}的测评判定：{verdict}"
        if entry.action == "round.publish_result":
            return f"公示{name}的测评结果"
        if entry.action == "round.withdraw_result":
            return f"撤回{name}的公示结果"
        return f"清除演练{name}的答卷 {detail.get('ballots', 0)} 份"
    if entry.action.startswith("plan."):
        return action_label(entry.action)
    if entry.action.startswith("transition."):
        request = names.transition(key)
        stage = f"{label(request.stage)}阶段" if request else ""
        if entry.action == "transition.apply":
            return f"申请{stage}转段"
        if entry.action == "transition.review":
            return f"督导组{'同意' if detail.get('agree') else '对'}{stage}转段申请" + \
                ("" if detail.get("agree") else "提出异议")
        return f"先教办{'批准' if detail.get('approve') else '退回'}{stage}转段申请"
    flag = names.flag(key)
    if flag is None:
        return ""
    what = label(flag.kind) + (f"（{_round_name(names.round(flag.round_id))}）"
                               if flag.round_id else "")
    return {"flag.confirmed": f"确认{what}", "flag.overridden": f"推翻{what}建议",
            "flag.make_up.required": f"决定{what}",
            "flag.make_up": f"登记{what}完成情况",
            "flag.admonishment.carried_out": f"{flag.unit}集体诫勉已执行"}[entry.action]

