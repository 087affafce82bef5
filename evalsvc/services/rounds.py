"""Rounds: creation with their cards, the draft → open → closed lifecycle, participation."""
import functools
import json
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.definitions import Question, layout_from_data, layout_to_data
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.kinds import UnknownKind, get_kind, registry
from evalsvc.kinds.base import MemberRef
from evalsvc.models import (
    Ballot,
    Card,
    GroupCode,
    Member,
    MemberStatus,
    Organisation,
    OrgType,
    PlanItem,
    RespondentGroup,
    Round,
    RoundState,
    Stage,
    User,
)
from evalsvc.questionnaires import default_definition, definition
from evalsvc.services import audit, batches, codes, flags, stages
from evalsvc.services.campaigns import ensure_campaign, require_current
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.member_order import in_branch_order
from evalsvc.services.scope import require_writer
from evalsvc.services.today import today

MAX_CARDS_PER_GROUP = 5000
CARD_GROUPS = (GroupCode.MEMBER, GroupCode.MASSES, GroupCode.SERVICE)
LEADERSHIP_ORGS = (OrgType.COMMITTEE, OrgType.GENERAL_BRANCH)  # 班子 民主测评


@dataclass(frozen=True)
class RoundData:
    """What a form or the CLI asks for."""

    organisation_id: int
    kind: str
    stage: Stage
    groups: dict[GroupCode, int] = field(default_factory=dict)
    definition_name: str | None = None
    title: str = ""
    attempt: int | None = None
    poster: bool = False
    poster_cap: int | None = None
    rehearsal: bool = False
    # 整改方案 items to ask about, one question each (kinds that accept extra items only).
    plan_item_ids: tuple[int, ...] = ()


@writes
def create_round(actor: User | None, data: RoundData) -> Round:
    """Check every rule, then create the round, its groups and its cards in one commit."""
    org = db.session.get(Organisation, data.organisation_id)
    if org is None:
        raise OutOfScope(f"organisation {data.organisation_id}")
    if actor is not None:
        require_writer(actor, org.id)
    errors, chosen = _check_round(org, data)
    if errors:
        raise Invalid(errors)
    round_ = Round(
        organisation_id=org.id, campaign_id=ensure_campaign().id, stage=data.stage,
        kind=data.kind, definition_name=chosen.name, title=data.title.strip() or
        f"{org.name}{chosen.title}", attempt=data.attempt or _next_attempt(org.id, data),
        created_on=today(), rehearsal=data.rehearsal, card_epoch=0,
    )
    round_.extra_items_json = _extra_items(org, data)
    round_.groups = [RespondentGroup(code=c, card_count=n) for c, n in data.groups.items() if n]
    if data.poster:
        round_.poster_token = secrets.token_urlsafe(9)
        round_.poster_cap = data.poster_cap
        round_.groups.append(RespondentGroup(code=GroupCode.PUBLIC, card_count=0))
    db.session.add(round_)
    db.session.flush()
    issue_cards(round_)
    audit.record(actor, "round.create", round_, kind=data.kind, stage=data.stage.value,
                 definition=chosen.name, groups={c.value: n for c, n in data.groups.items()},
                 poster_cap=data.poster_cap if data.poster else None, rehearsal=data.rehearsal,
                 **({"plan_items": [e["plan_item_id"] for e in extra_items(round_)]}
                    if round_.extra_items_json else {}))
    return round_


PLAN_ITEM_KEY = "plan_item_{}"


def _extra_items(org: Organisation, data: RoundData) -> str | None:
    """The chosen plan items as the round's extra questions (JSON), or None when there are
    none, the kind asks no extra questions, or the round is not of the 整改提高 stage (the
    plan is tested by the rectify-stage satisfaction round only)."""
    from evalsvc.services.plans import approved_items

    if not data.plan_item_ids or not get_kind(data.kind).accepts_extra_items \
            or data.stage is not Stage.RECTIFY:
        return None
    items = {i.id: i for i in approved_items(org.id)}
    if any(i not in items for i in data.plan_item_ids):
        raise Invalid({"plan_item_ids": "只能选择本组织已批准的整改方案中的事项"})
    return json.dumps([{"key": PLAN_ITEM_KEY.format(i), "text": items[i].problem,
                        "plan_item_id": i} for i in dict.fromkeys(data.plan_item_ids)],
                      ensure_ascii=False)


def extra_items(round_: Round) -> list[dict]:
    """The round's extra questions as stored: [{"key", "text", "plan_item_id"}]."""
    return json.loads(round_.extra_items_json) if round_.extra_items_json else []


def _leadership_refusal(kind) -> str:
    """Why an organisation that is not a branch may not hold this round (in Chinese)."""
    if kind.for_leadership:
        return f"只有党支部、党委或党总支可以开展{kind.label}"
    allowed = "、".join(k.label for k in registry().values() if k.for_leadership)
    return (f"{kind.label}只能由党支部开展；党委、党总支（班子测评）可开展：{allowed}"
            if allowed else "只有党支部可以开展测评")


def _check_round(org: Organisation, data: RoundData):
    errors: dict[str, str] = {}
    chosen = None
    try:
        kind = get_kind(data.kind)
    except UnknownKind:
        errors["kind"] = f"未知的测评类型 {data.kind!r}（可选：{'、'.join(sorted(registry()))}）"
        if not org.is_branch:
            errors["organisation"] = "只有党支部可以开展测评"
    else:
        if not org.is_branch and not (kind.for_leadership and org.type in LEADERSHIP_ORGS):
            errors["organisation"] = _leadership_refusal(kind)
        if kind.stages is not None and data.stage.value not in kind.stages:
            allowed = "、".join(label(Stage(s)) for s in kind.stages)
            errors["stage"] = f"{kind.label}只能在{allowed}阶段开展"
        chosen = (definition(data.definition_name) if data.definition_name
                  else default_definition(data.kind, data.stage.value))
        if chosen is None or chosen.kind != data.kind:
            errors["definition_name"] = "测评表不存在或与测评类型不符"
        elif chosen.stage not in (None, data.stage.value):
            errors["definition_name"] = "该转段测评表属于其他阶段"
    if any(c not in CARD_GROUPS for c in data.groups):
        errors["groups"] = "参评对象只能是党员、群众代表或服务对象"
    elif any(not 0 <= n <= MAX_CARDS_PER_GROUP for n in data.groups.values()):
        errors["groups"] = f"每类参评对象的测评卡数量应在 0 到 {MAX_CARDS_PER_GROUP} 之间"
    elif not any(data.groups.values()) and not data.poster:
        errors["groups"] = "请至少为一类参评对象发放测评卡，或启用公开二维码"
    if data.poster and data.poster_cap is not None and not 1 <= data.poster_cap <= 1_000_000:
        errors["poster_cap"] = "公开二维码的票数上限应在 1 到 1000000 之间"
    if len(data.title) > 200:
        errors["title"] = "标题不超过 200 字"
    if data.attempt is not None and not 1 <= data.attempt <= 99:
        errors["attempt"] = "测评次数应在 1 到 99 之间"
    return errors, chosen


def _next_attempt(org_id: int, data: RoundData) -> int:
    previous = db.session.scalar(sa.select(sa.func.max(Round.attempt)).where(
        Round.organisation_id == org_id, Round.campaign_id == ensure_campaign().id, Round.stage == data.stage, Round.kind == data.kind))
    return (previous or 0) + 1


def issue_cards(round_: Round) -> None:
    """Store the hash of every card code; the codes themselves are never stored."""
    key = current_app.config["SECRET_KEY"]
    rows = [
        {"id": secrets.token_hex(16), "round_id": round_.id, "group_id": group.id,
         "code_hash": codes.hash_code(codes.card_code(key, round_.id, group.code.value, n,
                                                      round_.card_epoch)),
         "spent": False}
        for group in round_.groups for n in range(group.card_count)
    ]
    if rows:
        db.session.execute(sa.insert(Card), rows)


def card_codes(round_: Round) -> list[tuple[RespondentGroup, str]]:
    """Every card of the round as (group, code), in a fresh random order each time."""
    key = current_app.config["SECRET_KEY"]
    cards = [(g, codes.card_code(key, round_.id, g.code.value, n, round_.card_epoch))
             for g in round_.groups for n in range(g.card_count)]
    secrets.SystemRandom().shuffle(cards)
    return cards


def layout(round_: Round) -> tuple[Question, ...]:
    """The questions of the round: frozen once open, from the definition while a draft."""
    if round_.layout_json is not None:
        return _frozen_layout(round_.layout_json)
    kind, chosen = get_kind(round_.kind), definition(round_.definition_name)
    extra = kind.extra_questions(chosen, _current_wording(extra_items(round_)))
    return kind.with_extra_questions(kind.layout(chosen, _members(round_)), extra)


def _current_wording(extras: list[dict]) -> list[tuple[str, str]]:
    """(key, problem) of a draft's plan items as the plan words them now (the wording
    stored at creation when an item is gone); opening the round freezes it."""
    if not extras:
        return []
    now = dict(db.session.execute(sa.select(PlanItem.id, PlanItem.problem).where(
        PlanItem.id.in_([e["plan_item_id"] for e in extras]))).all())
    return [(e["key"], now.get(e["plan_item_id"], e["text"])) for e in extras]


@functools.lru_cache(maxsize=256)
def _frozen_layout(layout_json: str) -> tuple[Question, ...]:
    """An open round's questions, parsed once per process."""
    return layout_from_data(json.loads(layout_json))


def _members(round_: Round) -> list[MemberRef]:
    """Active full members in the branch's order (排序, then 姓氏笔画): probationary
    members vote but are not on the ballot."""
    rows = db.session.execute(sa.select(Member.id, Member.name, Member.sort_order).where(
        Member.organisation_id == round_.organisation_id, Member.active.is_(True),
        Member.status == MemberStatus.FULL)).all()
    return [MemberRef(id=m.id, name=m.name) for m in in_branch_order(rows)]


@writes
def open_round(actor: User | None, round_: Round, window_override: str = "") -> Round:
    """draft → open: the questions (and the member list) are frozen from now on. Outside
    the batch's window only the office may open it, giving ``window_override``."""
    require_manage(actor, round_)
    require_current(round_.campaign_id)
    if round_.state is not RoundState.DRAFT:
        raise Invalid({"state": "只有草稿状态的测评可以开始"})
    kind = get_kind(round_.kind)
    org = db.session.get(Organisation, round_.organisation_id)
    stages.check_can_open(org, round_.stage)
    _check_make_up_recorded(round_)
    batches.check_window(actor, org, round_, window_override)
    if kind.lists_members and not _members(round_):
        raise Invalid({"members": "本支部没有在册的正式党员，无法开展民主评议"})
    stages.mark_started(org, round_.stage)
    round_.layout_json = json.dumps(layout_to_data(layout(round_)), ensure_ascii=False)
    round_.state, round_.opened_on = RoundState.OPEN, today()
    audit.record(actor, "round.open", round_)
    return round_


def _check_make_up_recorded(round_: Round) -> None:
    """After a confirmed 补课, a new attempt waits until the make-up is recorded."""
    earlier = list(db.session.scalars(sa.select(Round.id).where(
        Round.organisation_id == round_.organisation_id, Round.stage == round_.stage,
        Round.campaign_id == round_.campaign_id, Round.kind == round_.kind,
        Round.id != round_.id)))
    if flags.make_up_pending(earlier):
        raise Invalid({"make_up": "上一次测评的补课建议尚待先教办确认，或已确认需要补课："
                                  "请先登记补课情况，再开始新一次测评"})


def require_manage(actor: User | None, round_: Round) -> None:
    if actor is not None:
        require_writer(actor, round_.organisation_id)


def ballot_count(round_id: int) -> int:
    """Ballots stored for a round."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(
        Ballot.round_id == round_id)) or 0


@dataclass(frozen=True)
class GroupParticipation:
    """Cards issued and ballots received for one group: all an open round shows staff."""

    group: RespondentGroup
    ballots: int

    @property
    def rate(self) -> float | None:
        """Share of cards used (None for the poster group, which has no cards)."""
        return self.ballots / self.group.card_count if self.group.card_count else None


def participation(round_: Round) -> list[GroupParticipation]:
    """Ballots per group."""
    counts = dict(db.session.execute(
        sa.select(Ballot.group_id, sa.func.count()).where(Ballot.round_id == round_.id)
        .group_by(Ballot.group_id)).all())
    return [GroupParticipation(g, counts.get(g.id, 0)) for g in round_.groups]


def rounds_for(user: User, org_id: int | None = None) -> list[Round]:
    """Rounds in the user's scope, newest first."""
    from evalsvc.services.scope import visible_org_ids

    query = sa.select(Round).order_by(Round.id.desc())
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(Round.organisation_id.in_(ids))
    if org_id is not None:
        query = query.where(Round.organisation_id == org_id)
    return list(db.session.scalars(query))


