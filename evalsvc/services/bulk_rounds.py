"""Rounds in bulk: create, open or close the rounds of many branches in one action.

A selection is a batch, everything under a 党委/总支, or a list of branches. Every action has
a preview (``plan_*``) that changes nothing and says, per branch, what will happen and what
the rules refuse and why; the action itself then does the same per branch.

Partial by design, as the office expects: the branches (or rounds) the rules refuse get
nothing and are listed with the reason; the rest go ahead. Creating and opening are one
unit of work each (all accepted rounds commit together, so a crash leaves nothing
half-made); closing commits round by round, because each close is its own sealed pipeline
(services/closing.py). Every round created, opened or closed gets its own audit entry.
"""
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from evalsvc.database import in_unit_of_work, writes
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import (
    Batch,
    GroupCode,
    Member,
    Organisation,
    OrgType,
    Round,
    RoundState,
    User,
)
from evalsvc.questionnaires import definitions
from evalsvc.services import audit, closing, planned_close, rounds, stages, traces
from evalsvc.services.campaigns import batch_by_number, ensure_campaign
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office, subtree


@dataclass(frozen=True)
class Selection:
    """Which branches: a batch number, the code of an organisation above them, or ids."""

    batch: int | None = None
    under: str | None = None
    org_ids: tuple[int, ...] = ()

    def describe(self) -> str:
        """The selection in Chinese, for messages and the audit log."""
        if self.batch is not None:
            return f"第{self.batch}批次"
        if self.under:
            return f"{self.under} 下属支部"
        return f"选定的 {len(self.org_ids)} 个支部"


@dataclass(frozen=True)
class Outcome:
    """What a bulk action did (or, as a preview, would do): rounds done, and refusals."""

    done: list = field(default_factory=list)  # Organisation (a preview of create) or Round
    refused: list[tuple[str, str]] = field(default_factory=list)  # (branch name, reason)

    def summary(self, verb: str) -> str:
        """One line in Chinese: how many rounds, and how many branches were refused."""
        text = f"{verb} {len(self.done)} 次测评"
        if self.refused:
            text += f"；{len(self.refused)} 个支部未{verb}（见下方原因），其余不受影响"
        return text


def branches(selection: Selection) -> list[Organisation]:
    """The branches of a selection, by code; ``Invalid`` (Chinese) for a bad selection."""
    query = sa.select(Organisation).where(Organisation.type == OrgType.BRANCH) \
        .order_by(Organisation.code)
    given = [selection.batch is not None, bool(selection.under), bool(selection.org_ids)]
    if sum(given) > 1:
        raise Invalid({"selection": "批次、上级组织和选定的支部只能选择其中一种"})
    if selection.batch is not None:
        batch = batch_by_number(selection.batch)
        if batch is None:
            raise Invalid({"batch": f"批次 {selection.batch} 不存在"})
        query = query.where(Organisation.id.in_(_in_batch(batch.number)))
    elif selection.under:
        root = db.session.scalar(sa.select(Organisation.id).where(
            Organisation.code == selection.under))
        if root is None:
            raise Invalid({"under": f"组织编码 {selection.under!r} 不存在"})
        query = query.where(Organisation.id.in_(subtree([root])))
    elif selection.org_ids:
        query = query.where(Organisation.id.in_(selection.org_ids))
    else:
        raise Invalid({"selection": "请选择批次、上级组织或支部"})
    found = list(db.session.scalars(query))
    if not found:
        raise Invalid({"selection": f"{selection.describe()}没有党支部"})
    return found


def _in_batch(number: int) -> set[int]:
    """Organisations in batch ``number``: their own batch's number, or else the nearest
    ancestor's (batches are numbered alike in every campaign, so an organisation keeps
    its batch from one campaign to the next)."""
    numbers = dict(db.session.execute(sa.select(Batch.id, Batch.number)).all())
    rows = db.session.execute(sa.select(Organisation.id, Organisation.parent_id,
                                        Organisation.batch_id)).all()
    parent = {i: p for i, p, _b in rows}
    own = {i: numbers.get(b) for i, _p, b in rows}

    def batch_of(org_id: int | None) -> int | None:
        while org_id is not None and own.get(org_id) is None:
            org_id = parent.get(org_id)
        return own.get(org_id) if org_id is not None else None

    return {i for i in own if batch_of(i) == number}


def active_members(org_ids: list[int]) -> dict[int, int]:
    """Active members (full and probationary: both vote) per branch."""
    return dict(db.session.execute(
        sa.select(Member.organisation_id, sa.func.count()).where(
            Member.organisation_id.in_(org_ids), Member.active.is_(True))
        .group_by(Member.organisation_id)).all())


def _refusal(errors: dict[str, str]) -> str:
    return "；".join(errors.values())


def plan_create(selection: Selection, template: rounds.RoundData,
                orgs: list[Organisation] | None = None):
    """Per branch: the RoundData to create, or the reason it is refused; changes nothing.

    The same checks as creating one round (``rounds.check_round``), in the current
    campaign, plus the stage gate its opening would meet, so a branch refused here gets
    nothing. Without an explicit member count the members group is sized from the
    branch's active members. Returns ([(branch, data, definition)], [(branch name, reason)]).
    ``orgs``: the selection's branches, when the caller has locked them already.
    """
    if template.plan_item_ids:
        raise Invalid({"plan_item_ids": "整改方案的事项属于各组织自己的方案，不能批量选择"})
    orgs = branches(selection) if orgs is None else orgs
    ids = [o.id for o in orgs]
    members = active_members(ids)
    campaign = ensure_campaign()
    states = stages.states_of(ids, campaign)
    attempts = (rounds.next_attempts(ids, template, campaign.id)
                if template.attempt is None else {})
    unfinished = _unfinished(ids, template, campaign.id)
    known = definitions()
    accepted, refused = [], []
    for org in orgs:
        if org.id in unfinished:  # e.g. the same form confirmed twice
            refused.append((org.name, unfinished[org.id]))
            continue
        groups = {GroupCode.MEMBER: members.get(org.id, 0), **template.groups}
        data = replace(template, organisation_id=org.id, groups=groups,
                       attempt=template.attempt or attempts[org.id])
        errors, chosen = rounds.check_round(org, data, campaign, known)
        try:
            stages.check_can_open(org, data.stage, campaign, states[org.id])
        except Invalid as exc:
            errors = {**exc.errors, **errors}
        if errors:
            refused.append((org.name, _refusal(errors)))
        else:
            accepted.append((org, data, chosen))
    return accepted, refused


def _lock_branches(selection: Selection) -> list[Organisation]:
    """Hold the selection's branches until commit (PostgreSQL; SQLite's writer is alone
    already): the same form confirmed twice at once waits here, then sees what the first
    did (the rounds it made, or opened) and does none of it again. Returns the branches,
    so the action goes on with the ones it holds without finding them again."""
    found = branches(selection)
    ids = [o.id for o in found]
    db.session.execute(sa.select(Organisation.id).where(Organisation.id.in_(ids))
                       .order_by(Organisation.id).with_for_update())
    return found


def _unfinished(org_ids: list[int], template: rounds.RoundData,
                campaign_id: int) -> dict[int, str]:
    """Why a branch gets no new round: it already has a draft or open one of the same kind
    and stage in the campaign (a bulk action confirmed twice must not make a second set)."""
    found = db.session.execute(
        sa.select(Round.organisation_id, Round.attempt, Round.state).where(
            Round.organisation_id.in_(org_ids), Round.campaign_id == campaign_id,
            Round.kind == template.kind, Round.stage == template.stage,
            Round.state.in_([RoundState.DRAFT, RoundState.OPEN]))
        .order_by(Round.attempt))
    return {org_id: f"已有尚未结束的同类测评（第{attempt}次，{label(state)}），不再重复创建"
            for org_id, attempt, state in found}


def preview_create(selection: Selection, template: rounds.RoundData) -> Outcome:
    """What ``create_rounds`` would create (branches) and refuse."""
    accepted, refused = plan_create(selection, template)
    return Outcome(done=[(org, data) for org, data, _chosen in accepted], refused=refused)


@writes
def create_rounds(actor: User | None, selection: Selection, template: rounds.RoundData,
                  planned_close_on: date | None = None) -> Outcome:
    """Create a draft round, with its cards, for every branch the rules allow (each with
    the planned close date, when one is given)."""
    if actor is not None:
        require_office(actor)
    if planned_close_on is not None:
        planned_close.check_day(planned_close_on)
    accepted, refused = plan_create(selection, template, _lock_branches(selection))
    created = rounds.insert_rounds(accepted, ensure_campaign().id)
    rounds.issue_cards(created)
    data_of = {org.id: data for org, data, _chosen in accepted}
    audit.record_many(actor, "round.create", [
        (round_, rounds.created_detail(round_, data_of[round_.organisation_id],
                                       bulk=selection.describe())) for round_ in created])
    planned_close.plan_new(actor, created, planned_close_on)
    return Outcome(done=created, refused=refused)


def rounds_in(selection: Selection, state: RoundState, with_groups: bool = True,
              orgs: list[Organisation] | None = None) -> list[Round]:
    """The selection's rounds of the current campaign in one state (an earlier campaign's
    are read-only), by branch code then id; ``with_groups`` loads their groups too;
    ``orgs``: the selection's branches, when the caller has them (locked) already."""
    ids = [o.id for o in (branches(selection) if orgs is None else orgs)]
    return list(db.session.scalars(
        sa.select(Round).join(Round.organisation).where(
            Round.organisation_id.in_(ids), Round.campaign_id == ensure_campaign().id,
            Round.state == state)
        .options(contains_eager(Round.organisation),
                 *([selectinload(Round.groups)] if with_groups else []))
        .order_by(Organisation.code, Round.id)))


def _plan_open(actor: User | None, selection: Selection, window_override: str,
               with_groups: bool = True, orgs: list[Organisation] | None = None):
    """The gate and the Outcome of a bulk open, computed together."""
    ready, refused = [], []
    drafts = rounds_in(selection, RoundState.DRAFT, with_groups, orgs)
    gate = rounds.OpenGate.for_rounds(drafts)
    for round_ in drafts:
        try:
            gate.check(actor, round_, window_override)
        except Invalid as exc:
            refused.append((round_.organisation.name, f"{round_.title}：{_refusal(exc.errors)}"))
        else:
            ready.append(round_)
    return gate, Outcome(done=ready, refused=refused)


def plan_open(actor: User | None, selection: Selection, window_override: str = "") -> Outcome:
    """Which draft rounds would open, and which the rules keep closed and why: the same
    checks as opening one round (``rounds.OpenGate``); changes nothing."""
    return _plan_open(actor, selection, window_override)[1]


@writes
def open_rounds(actor: User | None, selection: Selection, window_override: str = "",
                planned_close_on: date | None = None) -> Outcome:
    """Open every draft round of the selection that the rules allow, in one commit (each
    with the planned close date, when one is given).

    The checks change nothing, so a refused round leaves no trace and the others go
    ahead; the accepted ones are opened exactly as ``open_round`` opens one.
    """
    if actor is not None:
        require_office(actor)
    if planned_close_on is not None:
        planned_close.check_day(planned_close_on)
    gate, plan = _plan_open(actor, selection, window_override, with_groups=False,
                            orgs=_lock_branches(selection))
    layouts: dict = {}
    opened: dict[str, list[Round]] = {}
    with db.session.no_autoflush:  # one flush for all rounds, not one per round
        for round_ in plan.done:
            frozen = rounds.prepare_open(actor, round_, gate, window_override, layouts)
            opened.setdefault(frozen, []).append(round_)
    rounds.mark_open(opened)
    stages.mark_started_many(plan.done, gate.campaign, gate.states)
    audit.record_many(actor, "round.open", [(round_, {}) for round_ in plan.done])
    planned_close.plan_new(actor, plan.done, planned_close_on)
    return plan


def plan_close(selection: Selection) -> Outcome:
    """The open rounds that would close."""
    return Outcome(done=rounds_in(selection, RoundState.OPEN))


def close_rounds(actor: User | None, selection: Selection,
                 progress: Callable[[int], None] = lambda _per_cent: None) -> Outcome:
    """Close every open round of the selection, each in its own sealed commit; then clear
    the database's traces once for all of them (services/traces.py). ``progress`` hears
    the per cent done after each round (a job's page shows it)."""
    if actor is not None:
        require_office(actor)
    closed, refused, ids = [], [], []
    to_close = plan_close(selection).done
    try:
        for n, round_ in enumerate(to_close, 1):
            name, title, round_id = round_.organisation.name, round_.title, round_.id
            try:
                closed.append(closing.close_round(actor, round_, scrub=False))
            except Invalid as exc:
                refused.append((name, f"{title}：{_refusal(exc.errors)}"))
            else:
                ids.append(round_id)
            progress(100 * n // len(to_close))
    finally:
        if ids and not in_unit_of_work():
            traces.after_close(*ids)
    return Outcome(done=closed, refused=refused)

