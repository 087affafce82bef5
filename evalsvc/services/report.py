"""The weekly supervision report (每周四督导报告): per batch and branch, for a period."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import (
    AuditEntry, Ballot, Decision, Flag, Organisation, OrgType, RespondentGroup, Round, Stage,
    StageState, Transition, User,
)
from evalsvc.services.dashboard import round_figures
from evalsvc.services.scope import visible_org_ids

CHANGE_WORDS = {
    "round.open": "测评开始", "round.close": "测评结束", "transition.apply": "申请转段",
    "transition.review": "督导组审核转段申请", "transition.decide": "先教办审批转段申请",
    "flag.confirmed": "确认规则建议", "flag.overridden": "推翻规则建议",
    "flag.make_up": "登记补课", "round.purge_rehearsal": "清除演练答卷",
    "round.verdict.confirm": "确认测评判定", "round.verdict.override": "推翻测评判定",
    "flag.make_up.required": "决定补课",
    "opinion.write": "督导意见",
    "plan.create": "起草整改方案", "plan.submit": "提交整改方案",
    "plan.review": "督导组审查整改方案", "plan.approve": "先教办批准整改方案",
    "plan.return": "先教办退回整改方案", "plan.item_add": "新增整改事项",
    "plan.item_update": "修改整改事项", "plan.item_remove": "删除整改事项",
    "plan.note": "登记整改进展", "brief.submit": "报送信息简报",
    "round.publish_result": "公示测评结果", "round.withdraw_result": "撤回公示的测评结果",
    "public_page.print_poster": "打印整改公示海报",
}


@dataclass
class BranchWeek:
    """One branch's week."""

    code: str
    name: str
    batch: int | None
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


def _span(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time.min, tzinfo=timezone.utc),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc))


def weekly(user: User, start: date, end: date) -> WeeklyReport:
    """Every branch in the user's scope, with what happened between start and end."""
    query = sa.select(Organisation).where(Organisation.type == OrgType.BRANCH) \
        .order_by(Organisation.code)
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(Organisation.id.in_(ids))
    rows = {o.id: BranchWeek(o.code, o.name, o.batch.number if o.batch else None,
                             {label(s): label(o.stage_state(s)) for s in Stage})
            for o in db.session.scalars(query)}
    _rounds_held(rows, start, end)
    _flags(rows, start, end)
    _transitions(rows, start, end)
    _changes(rows, start, end)
    from evalsvc.services.rectify_report import add_rectification

    return add_rectification(WeeklyReport(start, end, list(rows.values())), user, ids)


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


def _flags(rows, start, end) -> None:
    for flag in db.session.scalars(sa.select(Flag).where(Flag.organisation_id.in_(rows))):
        row = rows[flag.organisation_id]
        if start <= flag.raised_on <= end:
            row.flags_raised += 1
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
    low, high = _span(start, end)
    for entry in db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.organisation_id.in_(rows), AuditEntry.at >= low, AuditEntry.at < high,
            AuditEntry.action.in_(CHANGE_WORDS)).order_by(AuditEntry.id)):
        rows[entry.organisation_id].changes.append(
            f"{entry.at.date().isoformat()} {CHANGE_WORDS[entry.action]}（{entry.actor}）")


def passed_stage_count(report: WeeklyReport) -> int:
    """Branches that have passed every stage."""
    done = label(StageState.PASSED)
    return sum(all(v == done for v in b.stages.values()) for b in report.branches)
