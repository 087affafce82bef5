"""Proposals the rules raise, and the office's decisions on them.

* A round's verdict lives on the round alone (``passed``, ``verdict_status``,
  ``verdict_reason``): the rules propose a pass or 补课 when it closes, and the office confirms
  or overrides it. 补课 is decided there; deciding it opens a MAKE_UP flag, which carries the
  branch's follow-up (what it made up, and when) and never a decision of its own.
* Deciding 补课, or returning a branch's first transition request of a stage, proposes
  a yellow card for that branch and stage (at most one per stage).
* Confirming a unit's second yellow card in the same campaign proposes collective
  admonishment for the unit; the office then records when and how it was carried out.
* Every flag belongs to the campaign it was raised in; earlier campaigns' flags are read-only
  and never count in a later campaign.
* A member_review round proposes preliminary 不合格 for members above the threshold.
Every proposal is confirmed or overridden (with a reason) by the office; both are audited.
"""
import json
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import (
    BranchDecision, Campaign, Decision, Flag, FlagKind, Organisation, Role, Round, Stage, User,
)
from evalsvc.services import audit
from evalsvc.services.campaigns import current_campaign, require_current
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.scope import in_scope, require_office, require_writer
from evalsvc.services.today import formal_date, today
from evalsvc.tally import RoundResult


def _unit_of(org: Organisation) -> str:
    """The unit a flag counts against: the unit record, else the legacy text, else the org."""
    return org.unit_record.name if org.unit_record is not None else (org.unit or org.name)


def raise_for_round(round_: Round, result: RoundResult) -> list[Flag]:
    """The proposals a closed round's result calls for besides its verdict (no commit):
    preliminary 不合格 members. A proposed 补课 is the round's own verdict."""
    org = db.session.get(Organisation, round_.organisation_id)
    raised = []
    for member in result.members:
        if member.flagged:
            raised.append(_flag(FlagKind.UNQUALIFIED, org, round_.stage, round_id=round_.id,
                                member_id=member.member_id, campaign_id=round_.campaign_id,
                                summary=f"{member.name}：不合格票超过半数，初评不合格"))
    return raised


def _flag(kind: FlagKind, org: Organisation, stage: Stage | None, **fields) -> Flag:
    fields.setdefault("campaign_id", current_campaign().id)
    flag = Flag(kind=kind, organisation_id=org.id, stage=stage, unit=_unit_of(org),
                raised_on=today(), **fields)
    db.session.add(flag)
    audit.record(None, f"flag.propose.{kind.value}", flag, system="rules", summary=flag.summary)
    return flag


@writes
def confirm(actor: User, flag: Flag, reason: str = "") -> Flag:
    """The office confirms a proposal; confirmations may raise the next proposal."""
    _decide(actor, flag, Decision.CONFIRMED, reason)
    if flag.kind is FlagKind.YELLOW_CARD:
        _propose_admonishment(flag)
    return flag


@writes
def override(actor: User, flag: Flag, reason: str) -> Flag:
    """The office sets a proposal aside; a written reason is required."""
    if not reason.strip():
        raise Invalid({"reason": "推翻规则建议必须写明理由"})
    _decide(actor, flag, Decision.OVERRIDDEN, reason)
    return flag


def _decide(actor: User, flag: Flag, status: Decision, reason: str) -> None:
    require_office(actor)
    require_current(flag.campaign_id)
    if flag.kind is FlagKind.MAKE_UP:  # decided on the round, never as a flag
        raise Invalid({"flag": "补课在测评结果页决定，不能在此确认或推翻"})
    if flag.status is not Decision.PROPOSED:
        raise Invalid({"status": "该建议已经处理过"})
    flag.status, flag.reason = status, reason.strip()
    flag.decided_by, flag.decided_on = actor.username, today()
    audit.record(actor, f"flag.{status.value}", flag, kind=flag.kind.value, reason=flag.reason)


def propose_yellow_card(org: Organisation, stage: Stage | None, why: str) -> Flag | None:
    """At most one yellow card per branch and stage."""
    campaign = current_campaign()
    existing = db.session.scalar(sa.select(Flag).where(
        Flag.kind == FlagKind.YELLOW_CARD, Flag.organisation_id == org.id, Flag.stage == stage,
        Flag.campaign_id == campaign.id, Flag.status != Decision.OVERRIDDEN))
    if existing is not None:
        return None
    return _flag(FlagKind.YELLOW_CARD, org, stage, summary=f"{org.name}：{why}，建议黄牌警示")


def _propose_admonishment(card: Flag) -> None:
    """A unit's confirmed cards in the card's own campaign: enough → propose 集体诫勉."""
    campaign = db.session.get(Campaign, card.campaign_id)
    needed = campaign.admonish_after_cards
    in_unit = (Flag.unit == card.unit, Flag.campaign_id == campaign.id)
    confirmed = db.session.scalar(sa.select(sa.func.count()).select_from(Flag).where(
        Flag.kind == FlagKind.YELLOW_CARD, Flag.status == Decision.CONFIRMED, *in_unit))
    pending = db.session.scalar(sa.select(Flag.id).where(
        Flag.kind == FlagKind.ADMONISHMENT, Flag.status != Decision.OVERRIDDEN, *in_unit))
    if confirmed >= needed and pending is None:
        _flag(FlagKind.ADMONISHMENT, card.organisation, None,
              summary=f"{card.unit}：已有 {confirmed} 张黄牌，建议对领导班子集体诫勉")


@writes
def record_make_up(actor: User, flag: Flag, note: str, on: date | None) -> Flag:
    """The branch records what it made up; then a new attempt may run."""
    require_writer(actor, flag.organisation_id)
    require_current(flag.campaign_id)
    errors = {}
    if flag.kind is not FlagKind.MAKE_UP or flag.status is not Decision.CONFIRMED:
        errors["flag"] = "只有已确认的补课要求可以登记补课情况"
    if not note.strip():
        errors["note"] = "请填写补课内容"
    if on is None:
        errors["on"] = "请填写补课日期"
    elif flag.decided_on and on < flag.decided_on:
        errors["on"] = f"补课日期不能早于确认补课的日期（{formal_date(flag.decided_on)}）"
    elif on > today():
        errors["on"] = "补课日期不能晚于今天"
    if len(note) > 4000:
        errors["note"] = "补课内容不超过 4000 字"
    if errors:
        raise Invalid(errors)
    flag.make_up_note, flag.make_up_on = note.strip(), on
    # A supervision comment was about the record it read; a new record starts without one
    # (the audit log keeps both records and the comment).
    flag.make_up_comment = flag.make_up_comment_by = flag.make_up_comment_on = None
    audit.record(actor, "flag.make_up", flag, note=flag.make_up_note, on=on)
    return flag


@writes
def comment_make_up(actor: User, flag: Flag, comment: str) -> Flag:
    """The supervision group comments on a recorded make-up (补课记录的督导意见)."""
    if actor.role is not Role.SUPERVISOR or not in_scope(actor, flag.organisation_id):
        raise OutOfScope("supervisors of this organisation only")
    require_current(flag.campaign_id)
    if flag.kind is not FlagKind.MAKE_UP or flag.make_up_on is None:
        raise Invalid({"flag": "只能对已登记的补课记录提出意见"})
    if not comment.strip() or len(comment) > 2000:
        raise Invalid({"comment": "意见不能为空，且不超过 2000 字"})
    flag.make_up_comment, flag.make_up_comment_on = comment.strip(), today()
    flag.make_up_comment_by = actor.username
    audit.record(actor, "flag.make_up_comment", flag, comment=flag.make_up_comment)
    return flag


@writes
def record_branch_decision(actor: User, flag: Flag, decision: BranchDecision,
                           note: str) -> Flag:
    """The branch records what follows for a member found 不合格 (不唯票数)."""
    require_writer(actor, flag.organisation_id)
    require_current(flag.campaign_id)
    if flag.kind is not FlagKind.UNQUALIFIED:
        raise Invalid({"flag": "只能为初评不合格的党员登记处理决定"})
    flag.branch_decision, flag.branch_note = decision, note.strip()
    audit.record(actor, "flag.branch_decision", flag, decision=decision.value, note=note)
    return flag


@writes
def record_admonishment(actor: User, flag: Flag, on: date | None, note: str) -> Flag:
    """The office records when and how a confirmed 集体诫勉 was carried out."""
    require_office(actor)
    require_current(flag.campaign_id)
    errors = {}
    if flag.kind is not FlagKind.ADMONISHMENT or flag.status is not Decision.CONFIRMED:
        errors["flag"] = "只有已确认的集体诫勉可以登记执行情况"
    if on is None:
        errors["on"] = "请填写诫勉日期"
    if not note.strip():
        errors["note"] = "请填写诫勉的方式和内容"
    if errors:
        raise Invalid(errors)
    flag.carried_out_on, flag.carried_out_note = on, note.strip()
    audit.record(actor, "flag.admonishment.carried_out", flag, on=on, note=flag.carried_out_note)
    return flag


def open_make_ups(round_ids: set[int]) -> set[int]:
    """Which of these rounds hold a 补课 still to decide, or decided but not yet recorded
    (a new attempt of their kind waits until the make-up is recorded), in two queries."""
    if not round_ids:
        return set()
    undecided = db.session.scalars(sa.select(Round.id).where(
        Round.id.in_(round_ids), Round.verdict_status == Decision.PROPOSED,
        Round.passed.is_(False), Round.rehearsal.is_(False)))
    unrecorded = db.session.scalars(sa.select(Flag.round_id).where(
        Flag.kind == FlagKind.MAKE_UP, Flag.round_id.in_(round_ids),
        Flag.make_up_on.is_(None), Flag.status != Decision.OVERRIDDEN))
    return set(undecided) | set(unrecorded)


def flags_for(org_ids: set[int] | None, kinds=None, status=None,
              campaign_id: int | None = None) -> list[Flag]:
    """Flags in a scope (None = everywhere), of one campaign (None = all), newest first."""
    return list(db.session.scalars(flags_query(org_ids, kinds, status, campaign_id)))


def flags_query(org_ids, kinds=None, status=None, campaign_id: int | None = None) -> sa.Select:
    """``flags_for`` as a SELECT (to page or count); ``org_ids`` may be a SELECT of ids."""
    query = sa.select(Flag).options(selectinload(Flag.organisation)).order_by(Flag.id.desc())
    if campaign_id is not None:
        query = query.where(Flag.campaign_id == campaign_id)
    if org_ids is not None:
        query = query.where(Flag.organisation_id.in_(org_ids))
    if kinds:
        query = query.where(Flag.kind.in_(kinds))
    if status:
        query = query.where(Flag.status == status)
    return query


@writes
def confirm_verdict(actor: User, round_: Round, reason: str = "") -> None:
    """The office confirms what the rules proposed for a closed round."""
    _require_decidable(actor, round_)
    if round_.verdict_status is not Decision.PROPOSED or round_.passed is None:
        raise Invalid({"verdict": "该结果已处理过，或规则未作判定（请选择推翻并写明理由）"})
    audit.record(actor, "round.verdict.confirm", round_, passed=round_.passed, reason=reason)
    _settle(actor, round_, round_.passed, Decision.CONFIRMED, reason)


@writes
def override_verdict(actor: User, round_: Round, reason: str, passed: bool | None = None) \
        -> None:
    """The office decides otherwise, in writing: by default a pass becomes 补课 and 补课 a
    pass; where the rules could not decide, ``passed`` says which way."""
    _require_decidable(actor, round_)
    if not reason.strip():
        raise Invalid({"reason": "推翻规则建议必须写明理由"})
    if round_.verdict_status is not Decision.PROPOSED:
        raise Invalid({"verdict": "该结果已处理过"})
    target = passed if passed is not None else (
        None if round_.passed is None else not round_.passed)
    if target is None:
        raise Invalid({"passed": "规则未作判定：请选择判定通过或需要补课"})
    audit.record(actor, "round.verdict.override", round_, passed=target, reason=reason)
    _settle(actor, round_, target, Decision.OVERRIDDEN, reason)


def _require_decidable(actor: User, round_: Round) -> None:
    """Only the office decides, only in the current campaign, and never a rehearsal: its
    ballots are practice (closing it raises no proposals), so deciding it must open no 补课
    and no yellow card; the purge starts its verdict over. The round is locked and read
    again first: of two office users deciding it at once, the second sees the first's
    decision (PostgreSQL reads committed rows without waiting)."""
    require_office(actor)
    db.session.execute(sa.select(Round.id).where(Round.id == round_.id).with_for_update())
    db.session.refresh(round_)
    require_current(round_.campaign_id)
    if round_.rehearsal:
        raise Invalid({"verdict": "演练测评的结果仅供练习，不作判定；请清除演练答卷后正式测评"})


def _settle(actor: User, round_: Round, passed: bool, status: Decision, reason: str) -> None:
    """Write the decision in the one place it is kept; a decided 补课 opens its follow-up."""
    round_.passed, round_.verdict_status = passed, status
    round_.verdict_reason = reason.strip()
    if passed:
        return
    org = db.session.get(Organisation, round_.organisation_id)
    flag = Flag(kind=FlagKind.MAKE_UP, status=Decision.CONFIRMED, organisation_id=org.id,
                stage=round_.stage, round_id=round_.id, campaign_id=round_.campaign_id,
                unit=_unit_of(org), raised_on=today(), decided_by=actor.username,
                decided_on=today(), reason=round_.verdict_reason,
                summary=f"{round_.title}（第{round_.attempt}次）：{_make_up_grounds(round_, status)}")
    db.session.add(flag)
    audit.record(actor, "flag.make_up.required", flag, round=round_.id)
    propose_yellow_card(org, round_.stage, "需要补课")


@writes
def confirm_passes(actor: User, round_ids: list[int], reason: str = "") -> int:
    """The office confirms several proposed passes at once (one audit entry per round).
    Anything else in the selection (补课, undecided, decided) refuses the whole lot."""
    require_office(actor)
    chosen = [db.session.get(Round, i) for i in dict.fromkeys(round_ids)]
    if not chosen:
        raise Invalid({"rounds": "请至少选择一个测评"})
    for round_ in chosen:
        if round_ is None or not in_scope(actor, round_.organisation_id) or \
                round_.verdict_status is not Decision.PROPOSED or round_.passed is not True \
                or round_.rehearsal:
            raise Invalid({"rounds": "所选测评中有不是待确认的通过判定，未作任何确认"})
    for round_ in chosen:
        confirm_verdict(actor, round_, reason)
    return len(chosen)


def _make_up_grounds(round_: Round, status: Decision) -> str:
    """Why 补课: the rules' own words when the office confirmed them."""
    if status is Decision.CONFIRMED and round_.result_json:
        return json.loads(round_.result_json)["verdict"]["summary"]
    return "先教办决定需要补课"


def pending_verdicts(org_ids: set[int] | None) -> list[Round]:
    """Closed live rounds of the current campaign whose proposed verdict (a pass, 补课, or none)
    waits for the office (None: every organisation); an earlier campaign's rounds can no
    longer be decided."""
    return list(db.session.scalars(pending_verdicts_query(org_ids)))


def pending_verdicts_query(org_ids, passed: bool | None = None) -> sa.Select:
    """``pending_verdicts`` as a SELECT; ``passed`` True: the proposed passes only, False:
    every other proposal (补课, or none)."""
    campaign = current_campaign()
    query = sa.select(Round).where(Round.verdict_status == Decision.PROPOSED,
                                   Round.rehearsal.is_(False)) \
        .options(selectinload(Round.organisation)).order_by(Round.id)
    if passed is True:
        query = query.where(Round.passed.is_(True))
    elif passed is False:
        query = query.where(sa.or_(Round.passed.is_(False), Round.passed.is_(None)))
    if campaign is not None:
        query = query.where(Round.campaign_id == campaign.id)
    if org_ids is not None:
        query = query.where(Round.organisation_id.in_(org_ids))
    return query


def pending_passes(org_ids: set[int] | None) -> list[Round]:
    """The proposed passes among the pending verdicts (the office may confirm them at once)."""
    return [r for r in pending_verdicts(org_ids) if r.passed is True]
