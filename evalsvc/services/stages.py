"""The stage gate: a branch leaves a stage only when its required rounds have passed,
supervision has reviewed the request, and the office has approved it.

Which kinds need a closed-and-passed round in a stage (the latest attempt of each kind
counts) is the campaign's data (``campaign_rules.requirements``), seeded from what each
kind declares in ``Kind.required_in``.
"""
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.database import insert_rows, writes
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.kinds import registry
from evalsvc.models import (
    Campaign,
    Decision,
    Organisation,
    Role,
    Round,
    RoundState,
    Stage,
    StageProgress,
    StageState,
    Transition,
    TransitionState,
    User,
)
from evalsvc.services import audit
from evalsvc.services.campaign_rules import requirements
from evalsvc.services.campaigns import current_campaign, require_current
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.flags import propose_yellow_card
from evalsvc.services.scope import in_scope, require_office, require_writer
from evalsvc.services.today import today

OPEN_REQUESTS = (TransitionState.APPLIED, TransitionState.AGREED, TransitionState.OBJECTED)


def previous(stage: Stage) -> Stage | None:
    """The stage before this one."""
    return list(Stage)[stage.index - 1] if stage.index else None


def next_stage(stage: Stage) -> Stage | None:
    """The stage after this one."""
    stages = list(Stage)
    return stages[stage.index + 1] if stage.index + 1 < len(stages) else None


def _progress(org: Organisation, stage: Stage, campaign: Campaign | None = None) -> StageProgress:
    row = next((p for p in org.progress if p.stage is stage), None)
    if row is None:
        row = StageProgress(stage=stage, campaign_id=(campaign or current_campaign()).id)
        org.progress.append(row)
    return row


def check_can_open(org: Organisation, stage: Stage, campaign: Campaign | None = None,
                   states: dict[Stage, StageState] | None = None) -> None:
    """A round of stage N+1 may not open before stage N is approved (a single-stage
    campaign has no gate). ``campaign`` and ``states`` (the organisation's, from
    ``states_of``): what the caller (a bulk action) has read for many at once."""
    if states is None:
        state = org.stage_state
    else:
        def state(of: Stage) -> StageState:
            return states.get(of, StageState.NOT_STARTED)
    before = None if (campaign or current_campaign()).single_stage else previous(stage)
    if before is not None and state(before) is not StageState.PASSED:
        raise Invalid({"stage": f"{label(before)}阶段尚未通过转段审批，不能开始"
                                f"{label(stage)}阶段的测评"})
    if state(stage) is StageState.PASSED:
        raise Invalid({"stage": f"{label(stage)}阶段已经通过，不能再开始该阶段的测评"})


def mark_started(org: Organisation, stage: Stage, campaign: Campaign | None = None) -> None:
    """Opening the first round of a stage puts the stage in progress (no commit)."""
    row = _progress(org, stage, campaign)
    if row.state is StageState.NOT_STARTED:
        row.state = StageState.IN_PROGRESS


def states_of(org_ids: Iterable[int], campaign: Campaign) -> dict[int, dict[Stage, StageState]]:
    """The stage states of many organisations in the campaign, in one query (a stage
    without a row is not started)."""
    states: dict[int, dict[Stage, StageState]] = {org_id: {} for org_id in org_ids}
    for org_id, stage, state in db.session.execute(sa.select(
            StageProgress.organisation_id, StageProgress.stage, StageProgress.state).where(
            StageProgress.campaign_id == campaign.id,
            StageProgress.organisation_id.in_(states))):
        states[org_id][stage] = state
    return states


def mark_started_many(opened: list[Round], campaign: Campaign,
                      states: dict[int, dict[Stage, StageState]]) -> None:
    """``mark_started`` for every round a bulk open opens (``states``: from ``states_of``
    before), with one INSERT of the missing progress rows and one UPDATE (no commit)."""
    missing, waiting = set(), set()
    for round_ in opened:
        key = (round_.organisation_id, round_.stage)
        state = states[round_.organisation_id].get(round_.stage)
        if state is None:
            missing.add(key)
        elif state is StageState.NOT_STARTED:
            waiting.add(key)
    insert_rows(StageProgress.__table__, ("organisation_id", "campaign_id", "stage", "state"),
                [(org_id, campaign.id, stage, StageState.IN_PROGRESS)
                 for org_id, stage in sorted(missing)])
    for stage in {stage for _org_id, stage in waiting}:
        db.session.execute(sa.update(StageProgress).where(
            StageProgress.campaign_id == campaign.id, StageProgress.stage == stage,
            StageProgress.state == StageState.NOT_STARTED,
            StageProgress.organisation_id.in_({o for o, s in waiting if s is stage}))
            .values(state=StageState.IN_PROGRESS).execution_options(
                synchronize_session=False))
    for org_id in {org_id for org_id, _stage in missing | waiting}:
        org = db.session.get(Organisation, org_id)  # in the identity map: no query
        if org is not None:
            db.session.expire(org, ["progress"])


def missing_for(org: Organisation, stage: Stage) -> list[str]:
    """What the stage still lacks before a transition may be requested (in Chinese)."""
    missing = []
    campaign = current_campaign()
    for kind in requirements(campaign).get(stage.value, ()):
        latest = db.session.scalar(sa.select(Round).where(
            Round.organisation_id == org.id, Round.campaign_id == campaign.id, Round.stage == stage, Round.kind == kind,
            Round.rehearsal.is_(False)).order_by(Round.attempt.desc(), Round.id.desc())
            .limit(1))
        name = registry()[kind].label if kind in registry() else kind
        if latest is None:
            missing.append(f"尚无已结束的{name}")
        elif latest.state is not RoundState.CLOSED:
            missing.append(f"{name}（第{latest.attempt}次）尚未结束")
        elif latest.passed is not True:
            missing.append(f"{name}（第{latest.attempt}次）未通过或未判定")
        elif latest.verdict_status not in (Decision.CONFIRMED, Decision.OVERRIDDEN):
            missing.append(f"{name}（第{latest.attempt}次）的判定待先教办确认")
        elif latest.is_poster and _advisory(latest):
            missing.append(f"{name}（第{latest.attempt}次）仅公开扫码作答，判定仅供参考，"
                           "不能单独作为转段依据")
    return missing


def _advisory(round_: Round) -> bool:
    """True when the round's verdict is advisory (answered only through an open poster)."""
    from evalsvc.services.results import (
        result_of,  # results imports rounds, which imports us
    )

    result = result_of(round_)
    return bool(result and result.verdict.get("details", {}).get("advisory"))


@writes
def apply(actor: User, org: Organisation, note: str = "") -> Transition:
    """The branch asks to leave its current stage."""
    require_writer(actor, org.id)
    stage = org.current_stage
    if org.stage_state(stage) is StageState.PASSED:
        raise Invalid({"stage": "三个阶段均已通过"})
    if _open_request(org.id, stage) is not None:
        raise Invalid({"stage": "已有待审批的转段申请"})
    missing = missing_for(org, stage)
    if missing:
        raise Invalid({"stage": "；".join(missing)})
    request = Transition(organisation_id=org.id, campaign_id=current_campaign().id,
                         stage=stage, applied_by=actor.username,
                         applied_on=today(), note=note.strip())
    db.session.add(request)
    _progress(org, stage).state = StageState.AWAITING_REVIEW
    audit.record(actor, "transition.apply", request, stage=stage.value)
    return request


def _open_request(org_id: int, stage: Stage) -> Transition | None:
    return db.session.scalar(sa.select(Transition).where(
        Transition.organisation_id == org_id, Transition.stage == stage,
        Transition.campaign_id == current_campaign().id,
        Transition.state.in_(OPEN_REQUESTS)))


@writes
def review(actor: User, request: Transition, agree: bool, opinion: str) -> Transition:
    """Supervision agrees, or objects in writing; it advises and never decides."""
    if actor.role is not Role.SUPERVISOR or not in_scope(actor, request.organisation_id):
        raise OutOfScope("supervisors of this branch only")
    require_current(request.campaign_id)
    if request.state not in OPEN_REQUESTS:
        raise Invalid({"state": "该申请已经审批"})
    if not agree and not opinion.strip():
        raise Invalid({"review_opinion": "提出异议时必须填写督导意见"})
    request.state = TransitionState.AGREED if agree else TransitionState.OBJECTED
    request.opinion, request.reviewed_by, request.reviewed_on = opinion.strip(), \
        actor.username, today()
    audit.record(actor, "transition.review", request, agree=agree, opinion=request.opinion)
    return request


@writes
def decide(actor: User, request: Transition, approve: bool, note: str = "") -> Transition:
    """The office approves (the next stage opens) or returns the request."""
    require_office(actor)
    require_current(request.campaign_id)
    if request.state not in (TransitionState.AGREED, TransitionState.OBJECTED):
        raise Invalid({"state": "须先由督导组审核后再审批"})
    if not approve and not note.strip():
        raise Invalid({"note": "退回申请必须写明理由"})
    org = request.organisation
    request.decided_by, request.decided_on = actor.username, today()
    request.decision_note = note.strip()
    if approve:
        request.state = TransitionState.APPROVED
        _progress(org, request.stage).state = StageState.PASSED
        following = next_stage(request.stage)
        if following is not None:
            _progress(org, following).state = StageState.IN_PROGRESS
    else:
        request.state = TransitionState.RETURNED
        _progress(org, request.stage).state = StageState.IN_PROGRESS
        if _is_first_request(request):
            propose_yellow_card(org, request.stage, "首次转段未获批准")
    audit.record(actor, "transition.decide", request, approve=approve, note=note)
    return request


def _is_first_request(request: Transition) -> bool:
    earlier = db.session.scalar(sa.select(sa.func.count()).select_from(Transition).where(
        Transition.organisation_id == request.organisation_id,
        Transition.stage == request.stage, Transition.campaign_id == request.campaign_id,
        Transition.id < request.id))
    return earlier == 0


def transitions_for(org_ids: set[int] | None, org_id: int | None = None) -> list[Transition]:
    """Requests in a scope, newest first."""
    return list(db.session.scalars(transitions_query(org_ids, org_id)))


def transitions_query(org_ids, org_id: int | None = None, states=None) -> sa.Select:
    """``transitions_for`` as a SELECT; ``org_ids`` may be a SELECT of ids, ``states`` a
    tuple of states to keep."""
    query = sa.select(Transition).options(selectinload(Transition.organisation)) \
        .order_by(Transition.id.desc())
    if states:
        query = query.where(Transition.state.in_(states))
    if org_ids is not None:
        query = query.where(Transition.organisation_id.in_(org_ids))
    if org_id is not None:
        query = query.where(Transition.organisation_id == org_id)
    return query
