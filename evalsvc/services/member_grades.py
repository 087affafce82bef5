"""组织评定 after a 民主评议 round: the branch grades every member on the round's list,
the office confirms, and a confirmed failing grade is followed up in order:
帮助教育 → 限期改正 (with a deadline) → 转化 or 组织处理 after the deadline.

The grade values, the capped grade (优秀) and the failing grade are the kind's own
(``Kind.final_grades``); the cap is the campaign's ``excellent_cap``. Everything is
audited; bad input raises ``Invalid`` with Chinese messages and stores nothing.
"""
from datetime import date

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.kinds import get_kind
from evalsvc.kinds.base import capped_limit
from evalsvc.models import Campaign, MemberGrade, Round, RoundState, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid
from evalsvc.services.rounds import layout
from evalsvc.services.campaigns import require_current
from evalsvc.services.scope import require_office, require_writer
from evalsvc.services.today import today

# Follow-up steps of a failing grade, in order; each names the step it must follow.
EDUCATED, CORRECTING = "educated", "correcting"
OUTCOMES = {"transformed": "转化", "handled": "组织处理"}
FOLLOWUP_LABELS = {EDUCATED: "帮助教育", CORRECTING: "限期改正", **OUTCOMES}


def graded_members(round_: Round) -> list[tuple[int, str]]:
    """(member id, name) of the members the round rated: its frozen member list."""
    return [(q.member_id, q.text) for q in layout(round_)
            if q.member_id is not None and q.type == "choice"]


def grade_labels(round_: Round) -> dict[str, str]:
    """The final grades the round's kind gives, value → label (empty: none)."""
    return dict(get_kind(round_.kind).final_grades)


def grades_of(round_: Round) -> dict[int, MemberGrade]:
    """The grades recorded so far, by member id."""
    rows = db.session.scalars(sa.select(MemberGrade).where(MemberGrade.round_id == round_.id))
    return {g.member_id: g for g in rows}


@writes
def record_grade(actor: User, round_: Round, member_id: int, grade: str) -> MemberGrade:
    """The branch records (or changes, until confirmed) one member's final grade."""
    require_writer(actor, round_.organisation_id)
    _lock_current(round_)
    kind = get_kind(round_.kind)
    labels = dict(kind.final_grades)
    if not labels:
        raise Invalid({"round": "该测评不评定党员等次"})
    if round_.state is not RoundState.CLOSED:
        raise Invalid({"round": "评议结束后才能进行组织评定"})
    members = dict(graded_members(round_))
    if member_id not in members:
        raise Invalid({"member": "该人员不在本次评议的正式党员名单中，不能评定等次"})
    if grade not in labels:
        raise Invalid({"grade": "请选择优秀、合格、基本合格或不合格"})
    existing = grades_of(round_)
    row = existing.get(member_id)
    if row is not None and row.confirmed:
        raise Invalid({"grade": "该党员的等次已经先教办确认，不能修改"})
    if grade == kind.capped_grade:
        _check_cap(round_, labels[grade], len(members), existing, member_id)
    if row is None:
        row = MemberGrade(round_id=round_.id, member_id=member_id,
                          organisation_id=round_.organisation_id, grade=grade,
                          recorded_by=actor.username, recorded_on=today())
        db.session.add(row)
    else:
        row.grade, row.recorded_by, row.recorded_on = grade, actor.username, today()
    audit.record(actor, "member_grade.record", row, round_id=round_.id, member_id=member_id,
                 grade=grade)
    return row


def _lock_current(round_: Round) -> None:
    """Grades are written in the current campaign only, one writer per round at a time:
    the round row is locked (PostgreSQL; SQLite's writer lock already serialises), so two
    优秀 entered at once cannot both pass the cap, nor a change slip past a confirmation.
    (A 不合格's follow-up may outlive the campaign: 限期改正 often runs a year.)"""
    require_current(round_.campaign_id)
    db.session.execute(sa.select(Round.id).where(Round.id == round_.id).with_for_update())
    db.session.refresh(round_)


def _check_cap(round_: Round, label: str, members: int, existing: dict[int, MemberGrade],
               member_id: int) -> None:
    cap = db.session.get(Campaign, round_.campaign_id).excellent_cap
    limit = capped_limit(members, cap)
    capped = get_kind(round_.kind).capped_grade
    already = sum(1 for m, g in existing.items() if m != member_id and g.grade == capped)
    if already + 1 > limit:
        raise Invalid({"grade": f"评为{label}的党员不得超过参评正式党员的三分之一"
                                f"（{cap:.0%}）：本支部 {members} 名，最多 {limit} 名，"
                                f"已评 {already} 名"})


@writes
def confirm_grades(actor: User, round_: Round) -> list[MemberGrade]:
    """The office confirms the branch's grades, once every listed member has one."""
    require_office(actor)
    _lock_current(round_)
    members = graded_members(round_)
    grades = grades_of(round_)
    missing = [name for member_id, name in members if member_id not in grades]
    if missing:
        raise Invalid({"grades": f"尚有 {len(missing)} 名党员未评定等次："
                                 + "、".join(missing)})
    pending = [g for g in grades.values() if not g.confirmed]
    if not pending:
        raise Invalid({"grades": "该支部的组织评定已经确认过"})
    for row in pending:
        row.confirmed_by, row.confirmed_on = actor.username, today()
        audit.record(actor, "member_grade.confirm", row, member_id=row.member_id,
                     grade=row.grade)
    return pending


@writes
def record_followup(actor: User, row: MemberGrade, step: str, note: str,
                    deadline: date | None = None) -> MemberGrade:
    """The branch records the next follow-up step of a confirmed failing grade; steps
    come in order, a deadline is set in the future, an outcome comes after it."""
    require_writer(actor, row.organisation_id)
    round_ = db.session.get(Round, row.round_id)
    if row.grade != get_kind(round_.kind).failing_grade or not row.confirmed:
        raise Invalid({"step": "只有经先教办确认为不合格的党员需要登记后续处理"})
    if not note.strip():
        raise Invalid({"note": "请填写处理情况"})
    expected = {None: EDUCATED, EDUCATED: CORRECTING}.get(row.followup, "outcome")
    if row.followup in OUTCOMES:
        raise Invalid({"step": "该党员的后续处理已经办结"})
    if step != expected and not (expected == "outcome" and step in OUTCOMES):
        raise Invalid({"step": f"请先登记「{_next_label(expected)}」"})
    if step == EDUCATED:
        row.education_note, row.education_on = note.strip(), today()
    elif step == CORRECTING:
        if deadline is None or deadline <= today():
            raise Invalid({"deadline": "限期改正的期限须晚于今天"})
        row.correction_note, row.deadline = note.strip(), deadline
    else:
        if today() < row.deadline:
            raise Invalid({"step": f"限期改正到 {row.deadline:%Y-%m-%d} 截止，期满后再登记结果"})
        row.outcome_note, row.outcome_on = note.strip(), today()
    row.followup = step
    audit.record(actor, "member_grade.followup", row, member_id=row.member_id, step=step,
                 note=note.strip(), deadline=deadline)
    return row


def _next_label(expected: str) -> str:
    return FOLLOWUP_LABELS.get(expected, "转化或组织处理")


def failing_for(org_id: int) -> list[tuple[MemberGrade, Round]]:
    """A branch's confirmed failing grades with their rounds, newest first: what its page
    shows of the follow-up."""
    rows = db.session.execute(
        sa.select(MemberGrade, Round).join(Round, Round.id == MemberGrade.round_id)
        .where(MemberGrade.organisation_id == org_id, MemberGrade.confirmed_on.is_not(None))
        .order_by(MemberGrade.id.desc())).all()
    return [(g, r) for g, r in rows if g.grade == get_kind(r.kind).failing_grade]
