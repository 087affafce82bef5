"""The weekly supervision report (督导工作周报): per batch and branch, for a period."""
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import (
    AuditEntry, Ballot, Decision, Flag, FlagKind, Opinion, Organisation, OrgType,
    RespondentGroup, Round, Stage, StageState, Transition, User,
)
from evalsvc.services.audit_words import action_label
from evalsvc.services.dashboard import round_figures
from evalsvc.services.scope import visible_org_ids
from evalsvc.services.today import local_day, short_date, utc_start

# What the report says happened (opinions are listed on their own).
CHANGE_ACTIONS = ("round.open", "round.close", "round.purge_rehearsal",
                  "round.verdict.confirm", "round.verdict.override", "transition.apply",
                  "transition.review", "transition.decide", "flag.confirmed", "flag.overridden",
                  "flag.make_up.required", "flag.make_up", "flag.admonishment.carried_out",
                  "plan.create", "plan.submit", "plan.review", "plan.approve", "plan.return",
                  "plan.item_add", "plan.item_update", "plan.item_remove", "plan.note",
                  "round.publish_result", "round.withdraw_result")

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
class WeeklyReport:
    """The report for a period, branches grouped by batch."""

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
    missing_briefs: list = field(default_factory=list)
    overdue_items: list = field(default_factory=list)

    @property
    def batches(self) -> dict[int | None, list[BranchWeek]]:
        """Branches by batch number."""
        grouped: dict[int | None, list[BranchWeek]] = {}
        for row in self.branches:
            grouped.setdefault(row.batch, []).append(row)
        return grouped

    def total(self, attribute: str) -> int:
        """A column's sum over every branch."""
        return sum(getattr(b, attribute) for b in self.branches)

    def batch_label(self, batch: int | None) -> str:
        """第1批（党政机关）, or 未分批."""
        if batch is None:
            return "未分批"
        name = self.batch_names.get(batch)
        return f"第{batch}批（{name}）" if name else f"第{batch}批"

    def summaries(self) -> list["GroupSummary"]:
        """One line a batch: branches, rounds closed, ballots, participation, flags."""
        return [GroupSummary.of(self.batch_label(batch), branches,
                                self.flag_counts.get(batch, {}))
                for batch, branches in sorted(self.batches.items(), key=lambda kv: kv[0] or 99)]

    def committees(self) -> list["GroupSummary"]:
        """One line per committee (the branches' parents) that held rounds in the period."""
        grouped: dict[str, list[BranchWeek]] = {}
        for row in self.branches:
            if row.rounds_held:
                grouped.setdefault(row.committee, []).append(row)
        return [GroupSummary.of(name, rows, {}) for name, rows in grouped.items()]


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


def default_period(day: date, weekday: int = 4) -> tuple[date, date]:
    """The week a report due on ``weekday`` (ISO, 4 = Thursday) covers: the seven days before
    the latest reporting day on or before ``day``."""
    due = day - timedelta(days=(day.isoweekday() - weekday) % 7)
    return due - timedelta(days=7), due - timedelta(days=1)


def weekly(user: User, start: date, end: date) -> WeeklyReport:
    """Every branch in the user's scope, with what happened between start and end."""
    query = sa.select(Organisation).where(Organisation.type == OrgType.BRANCH) \
        .order_by(Organisation.code).options(selectinload(Organisation.progress))
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(Organisation.id.in_(ids))
    orgs = list(db.session.scalars(query))
    rows = {o.id: BranchWeek(o.code, o.name, o.batch.number if o.batch else None,
                             o.parent.name if o.parent else "",
                             {label(s): label(o.stage_state(s)) for s in Stage})
            for o in orgs}
    report = WeeklyReport(start, end, list(rows.values()),
                          batch_names={o.batch.number: o.batch.name for o in orgs if o.batch})
    _rounds_held(rows, start, end)
    _flags(rows, report, {o.id: o for o in orgs}, start, end)
    _transitions(rows, start, end)
    _changes(rows, start, end)
    report.opinions = _opinions(rows, start, end)
    from evalsvc.services.rectify_report import add_rectification

    return add_rectification(report, user, ids)


def _rounds_held(rows, start, end) -> None:
    held = db.session.scalars(sa.select(Round).where(
        Round.organisation_id.in_(rows), Round.closed_on >= start, Round.closed_on <= end,
        Round.rehearsal.is_(False))).all()
    for round_ in held:
        row = rows[round_.organisation_id]
        row.rounds_held += 1
        row.seals.append((round_.id, round_.title, round_.digest))
        row.cards += db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(
            RespondentGroup.card_count), 0)).where(RespondentGroup.round_id == round_.id))
        row.ballots += db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)
                                         .where(Ballot.round_id == round_.id))
        for figure, value in round_figures(round_).items():
            row.figures.setdefault(figure, []).append(value)


def _flags(rows, report: WeeklyReport, orgs, start, end) -> None:
    for flag in db.session.scalars(sa.select(Flag).where(Flag.organisation_id.in_(rows))
                                   .order_by(Flag.id)):
        row = rows[flag.organisation_id]
        if start <= flag.raised_on <= end:
            row.flags_raised += 1
            if flag.status is not Decision.OVERRIDDEN:
                counts = report.flag_counts.setdefault(row.batch, {})
                counts[flag.kind] = counts.get(flag.kind, 0) + 1
            if flag.kind is FlagKind.ADMONISHMENT:  # the unit's, not the branch's
                report.admonishments.append((flag.unit or orgs[flag.organisation_id].name,
                                             flag.raised_on, label(flag.status)))
        if flag.status is Decision.CONFIRMED and flag.decided_on and \
                start <= flag.decided_on <= end:
            row.flags_confirmed += 1


def _transitions(rows, start, end) -> None:
    for item in db.session.scalars(sa.select(Transition).where(
            Transition.organisation_id.in_(rows)).order_by(Transition.id)):
        if start <= item.applied_on <= end or (item.decided_on and
                                               start <= item.decided_on <= end):
            rows[item.organisation_id].transitions.append(
                f"{label(item.stage)}阶段：{label(item.state)}")


def _changes(rows, start, end) -> None:
    """What happened to which round of which branch, in order."""
    for entry in db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.organisation_id.in_(rows), AuditEntry.at >= utc_start(start),
            AuditEntry.at < utc_start(end + timedelta(days=1)),
            AuditEntry.action.in_(CHANGE_ACTIONS)).order_by(AuditEntry.id)):
        text = change_text(entry)
        if text:
            rows[entry.organisation_id].changes.append(
                f"{short_date(local_day(entry.at))} {text}")


def _round_name(round_: Round | None) -> str:
    if round_ is None:
        return ""
    return f"「{round_.title}」（{label(round_.stage)}，第{round_.attempt}次）"


def change_text(entry: AuditEntry) -> str:
    """One audit entry as a sentence: what happened to which round (or request, or flag)."""
    detail = json.loads(entry.detail or "{}")
    key = int(entry.object_id) if entry.object_id.isdigit() else None
    if entry.action.startswith("round."):
        name = _round_name(db.session.get(Round, key) if key else None)
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
        request = db.session.get(Transition, key) if key else None
        stage = f"{label(request.stage)}阶段" if request else ""
        if entry.action == "transition.apply":
            return f"申请{stage}转段"
        if entry.action == "transition.review":
            return f"督导组{'同意' if detail.get('agree') else '对'}{stage}转段申请" + \
                ("" if detail.get("agree") else "提出异议")
        return f"先教办{'批准' if detail.get('approve') else '退回'}{stage}转段申请"
    flag = db.session.get(Flag, key) if key else None
    if flag is None:
        return ""
    what = label(flag.kind) + (f"（{_round_name(flag_round(flag))}）" if flag.round_id else "")
    return {"flag.confirmed": f"确认{what}", "flag.overridden": f"推翻{what}建议",
            "flag.make_up.required": f"决定{what}",
            "flag.make_up": f"登记{what}完成情况",
            "flag.admonishment.carried_out": f"{flag.unit}集体诫勉已执行"}[entry.action]


def flag_round(flag: Flag) -> Round | None:
    """The round a flag was raised on."""
    return db.session.get(Round, flag.round_id) if flag.round_id else None


def _opinions(rows, start, end) -> list[tuple[str, date, str, str]]:
    return [(rows[o.organisation_id].name, o.written_on, o.author, o.text)
            for o in db.session.scalars(sa.select(Opinion).where(
                Opinion.organisation_id.in_(rows), Opinion.written_on >= start,
                Opinion.written_on <= end).order_by(Opinion.written_on, Opinion.id))]


def passed_stage_count(report: WeeklyReport) -> int:
    """Branches that have passed every stage."""
    done = label(StageState.PASSED)
    return sum(all(v == done for v in b.stages.values()) for b in report.branches)
