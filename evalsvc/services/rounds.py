"""Rounds: creation with their cards, the draft → open → closed lifecycle, participation."""
import functools
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from evalsvc.database import insert_rows, writes
from evalsvc.definitions import Question, layout_from_data, layout_to_data
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.kinds import UnknownKind, get_kind, registry
from evalsvc.kinds.base import MemberRef
from evalsvc.models import (
    Ballot,
    Campaign,
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
from evalsvc.questionnaires import default_definition, definition_at, definitions
from evalsvc.services import audit, batches, codes, flags, stages
from evalsvc.services.campaigns import current_campaign, ensure_campaign, require_current
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
    errors, chosen = check_round(org, data)
    if errors:
        raise Invalid(errors)
    round_ = Round(**round_values(org, data, chosen, data.attempt or
                                  _next_attempt(org.id, data), ensure_campaign().id))
    round_.extra_items_json = _extra_items(org, data)
    round_.groups = [RespondentGroup(code=code, card_count=count)
                     for code, count in group_sizes(data)]
    db.session.add(round_)
    db.session.flush()
    issue_cards([round_])
    audit.record(actor, "round.create", round_, **created_detail(round_, data))
    return round_


def insert_rounds(accepted, campaign_id: int) -> list[Round]:
    """Draft rounds, one per branch, with their groups, inserted together (not one
    INSERT per round); ``accepted``: (branch, data, definition) that ``check_round``
    passed, in print order. Returns the rounds, with their groups and branches, in it."""
    if not accepted:
        return []
    made = db.session.scalars(sa.insert(Round).returning(Round), [
        round_values(org, data, chosen, data.attempt, campaign_id)
        for org, data, chosen in accepted]).all()
    by_branch = {round_.organisation_id: round_ for round_ in made}
    groups: dict[int, list[RespondentGroup]] = {round_.id: [] for round_ in made}
    for group in db.session.scalars(sa.insert(RespondentGroup).returning(RespondentGroup), [
            {"round_id": by_branch[org.id].id, "code": code, "card_count": count}
            for org, data, _chosen in accepted for code, count in group_sizes(data)]).all():
        groups[group.round_id].append(group)
    created = []
    for org, _data, _chosen in accepted:
        round_ = by_branch[org.id]
        set_committed_value(round_, "organisation", org)
        set_committed_value(round_, "groups", sorted(groups[round_.id], key=lambda g: g.id))
        created.append(round_)
    return created


def round_values(org: Organisation, data: RoundData, chosen, attempt: int,
                 campaign_id: int) -> dict[str, object]:
    """The columns of a new draft round (and its poster)."""
    return dict(
        organisation_id=org.id, campaign_id=campaign_id, stage=data.stage, kind=data.kind,
        definition_name=chosen.name, definition_version=chosen.version,
        title=data.title.strip() or f"{org.name}{chosen.title}",
        attempt=attempt, created_on=today(), rehearsal=data.rehearsal, card_epoch=0,
        code_version=codes.CODE_VERSION,
        cards_issued=sum(count for _code, count in group_sizes(data)),
        poster_token=secrets.token_urlsafe(9) if data.poster else None,
        poster_cap=data.poster_cap if data.poster else None)


def group_sizes(data: RoundData) -> list[tuple[GroupCode, int]]:
    """The groups of a new round and their cards (the poster's group has none)."""
    sizes = [(code, count) for code, count in data.groups.items() if count]
    return sizes + [(GroupCode.PUBLIC, 0)] if data.poster else sizes


def created_detail(round_: Round, data: RoundData, **extra) -> dict[str, object]:
    """What the audit entry of a created round says."""
    if round_.extra_items_json:
        extra["plan_items"] = [e["plan_item_id"] for e in extra_items(round_)]
    return dict(kind=data.kind, stage=data.stage.value, definition=round_.definition_name,
                groups={c.value: n for c, n in data.groups.items()},
                poster_cap=data.poster_cap if data.poster else None,
                rehearsal=data.rehearsal, **extra)


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


def check_round(org: Organisation, data: RoundData, campaign: Campaign | None = None,
                known: dict | None = None):
    """The problems with creating this round, by field (in Chinese), and its definition.
    A bulk action passes the current ``campaign`` and ``known`` (``definitions()``) it read
    once, rather than reading both again for every branch."""
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
        campaign = campaign or ensure_campaign()
        known = known if known is not None else definitions()
        chosen = (known.get(data.definition_name) if data.definition_name
                  else default_definition(data.kind, data.stage.value, campaign, known))
        if chosen is None or chosen.kind != data.kind:
            errors["definition_name"] = "测评表不存在或与测评类型不符"
        elif chosen.stage not in (None, data.stage.value):
            errors["definition_name"] = "该转段测评表属于其他阶段"
        elif not chosen.fits(campaign.start_year, campaign.end_year):
            errors["definition_name"] = (f"测评表“{chosen.title}”属于{chosen.campaign_text}，"
                                         f"不适用于本次活动“{campaign.name}”")
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


def next_attempts(org_ids: list[int], data: RoundData, campaign_id: int) -> dict[int, int]:
    """The next attempt of this kind and stage in the campaign for many branches, in one
    query."""
    previous = dict(db.session.execute(
        sa.select(Round.organisation_id, sa.func.max(Round.attempt)).where(
            Round.organisation_id.in_(org_ids), Round.campaign_id == campaign_id,
            Round.stage == data.stage, Round.kind == data.kind).group_by(Round.organisation_id)).all())
    return {org_id: (previous.get(org_id) or 0) + 1 for org_id in org_ids}


def _next_attempt(org_id: int, data: RoundData) -> int:
    return next_attempts([org_id], data, ensure_campaign().id)[org_id]


CARD_COLUMNS = ("id", "round_id", "group_id", "code_hash", "spent")


def issue_cards(new_rounds: list[Round]) -> None:
    """Store the hash of every card code of new rounds; the codes themselves are never stored."""
    insert_rows(Card.__table__, CARD_COLUMNS, _card_rows(new_rounds))


def _card_rows(new_rounds: list[Round]) -> Iterator[tuple]:
    """One row per card: a random id, its round and group, the hash of its code. What
    the rows need is read from the rounds here, before the rows are made: they are made
    while PostgreSQL is in COPY, when the connection can run nothing else (a lazy load
    would wait for ever)."""
    groups = [(round_.id, group.id, group.code.value, group.card_count, round_.card_epoch,
               round_.code_version) for round_ in new_rounds for group in round_.groups]
    return _rows_of(current_app.config["SECRET_KEY"], groups)


def _rows_of(key: str, groups: list[tuple]) -> Iterator[tuple]:
    digest = codes.hash_code
    for round_id, group_id, code, count, epoch, version in groups:
        ids = os.urandom(16 * count).hex()  # the group's random ids at once
        for n, card in enumerate(codes.card_codes(key, round_id, code, range(count), epoch,
                                                  version)):
            yield ids[32 * n:32 * n + 32], round_id, group_id, digest(card), False


def group_codes(round_: Round, group: RespondentGroup) -> list[str]:
    """The card codes of one group, in card-number order (they are derived, not stored)."""
    return codes.card_codes(current_app.config["SECRET_KEY"], round_.id, group.code.value,
                            range(group.card_count), round_.card_epoch, round_.code_version)


def card_codes(round_: Round) -> list[tuple[RespondentGroup, str]]:
    """Every card of the round as (group, code), in a fresh random order each time."""
    cards = [(g, code) for g in round_.groups for code in group_codes(round_, g)]
    secrets.SystemRandom().shuffle(cards)
    return cards


def layout(round_: Round) -> tuple[Question, ...]:
    """The questions of the round: frozen once open, from the definition while a draft."""
    if round_.layout_json is not None:
        return _frozen_layout(round_.layout_json)
    kind = get_kind(round_.kind)
    chosen = definition_at(round_.definition_name, round_.definition_version)
    extra = kind.extra_questions(chosen, _current_wording(extra_items(round_)))
    members = _members(round_) if kind.lists_members else []
    return kind.with_extra_questions(kind.layout(chosen, members), extra)


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
    gate = OpenGate.for_rounds([round_])
    gate.check(actor, round_, window_override)
    stages.mark_started(round_.organisation, round_.stage, gate.campaign)
    round_.layout_json = prepare_open(actor, round_, gate, window_override)
    round_.state, round_.opened_on = RoundState.OPEN, today()
    audit.record(actor, "round.open", round_)
    return round_


@dataclass
class OpenGate:
    """What the opening checks read, looked up once for the rounds about to open: one
    round (``open_round``) or many (a bulk open) go through the same steps."""

    campaign: Campaign | None
    earlier: dict[tuple, list[int]]  # (branch, campaign, stage, kind) -> its round ids
    pending_make_up: set[int]  # round ids with a 补课 undecided, or confirmed not recorded
    states: dict[int, dict]  # branch -> its stage states in the current campaign
    windows: dict[int | None, object] = field(default_factory=dict)  # batch id -> outside

    @classmethod
    def for_rounds(cls, candidates: list[Round]) -> "OpenGate":
        """The gate for these rounds, in a fixed number of queries."""
        earlier: dict[tuple, list[int]] = {}
        if candidates:
            rows = db.session.execute(sa.select(
                Round.organisation_id, Round.campaign_id, Round.stage, Round.kind, Round.id)
                .where(Round.organisation_id.in_({r.organisation_id for r in candidates}),
                       Round.campaign_id.in_({r.campaign_id for r in candidates})))
            for org_id, campaign_id, stage, kind, round_id in rows:
                earlier.setdefault((org_id, campaign_id, stage, kind), []).append(round_id)
        ids = {i for found in earlier.values() for i in found}
        campaign = current_campaign()
        states = stages.states_of({r.organisation_id for r in candidates}, campaign) \
            if campaign is not None else {r.organisation_id: {} for r in candidates}
        return cls(campaign, earlier, flags.open_make_ups(ids), states)

    def check(self, actor: User | None, round_: Round, window_override: str = "") -> None:
        """Raise ``Invalid`` (in Chinese) unless the round may open now; changes nothing:
        the campaign is current, the round a draft, the stage gate, a recorded 补课, the
        batch's window, members on the ballot."""
        require_current(round_.campaign_id, self.campaign)
        if round_.state is not RoundState.DRAFT:
            raise Invalid({"state": "只有草稿状态的测评可以开始"})
        stages.check_can_open(round_.organisation, round_.stage, self.campaign,
                              self.states[round_.organisation_id])
        same = self.earlier.get((round_.organisation_id, round_.campaign_id, round_.stage,
                                 round_.kind), [])
        if any(i != round_.id and i in self.pending_make_up for i in same):
            raise Invalid({"make_up": "上一次测评的补课建议尚待先教办确认，或已确认需要补课："
                                      "请先登记补课情况，再开始新一次测评"})
        batches.check_window(actor, self.outside_window(round_.organisation), window_override)
        if get_kind(round_.kind).lists_members and not _members(round_):
            raise Invalid({"members": "本支部没有在册的正式党员，无法开展民主评议"})

    def outside_window(self, org: Organisation):
        """The branch's batch when today is outside its window (once per batch)."""
        if org.batch_id not in self.windows:
            self.windows[org.batch_id] = batches.outside_window(org, today(), self.campaign)
        return self.windows[org.batch_id]


def prepare_open(actor: User | None, round_: Round, gate: OpenGate,
                 window_override: str = "", layouts: dict | None = None) -> str:
    """For a round ``gate.check`` passed: record any window override, and return its
    questions frozen as JSON, which the caller stores with the open state (one round, or
    many in one statement), marks the stage started and audits the opening. ``layouts``
    reuses the frozen questions of rounds of the same definition (and version) that list no
    members and ask about no plan items."""
    batches.record_override(actor, round_, gate.outside_window(round_.organisation),
                            window_override)
    key = (round_.kind, round_.definition_name, round_.definition_version)
    own = get_kind(round_.kind).lists_members or bool(round_.extra_items_json)
    if layouts is None or own or key not in layouts:
        frozen = json.dumps(layout_to_data(layout(round_)), ensure_ascii=False)
        if layouts is not None and not own:
            layouts[key] = frozen
        return frozen
    return layouts[key]


def mark_open(opened: dict[str, list[Round]]) -> None:
    """Store many rounds as open, one UPDATE per frozen layout (``prepare_open``'s), and
    say so to the session's copies of them (no commit)."""
    on = today()
    for frozen, same in opened.items():
        db.session.execute(sa.update(Round).where(Round.id.in_([r.id for r in same]))
                           .values(layout_json=frozen, state=RoundState.OPEN, opened_on=on)
                           .execution_options(synchronize_session=False))
        for round_ in same:
            set_committed_value(round_, "layout_json", frozen)
            set_committed_value(round_, "state", RoundState.OPEN)
            set_committed_value(round_, "opened_on", on)


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
    from evalsvc.services.scope import visible_clause

    query = sa.select(Round).where(visible_clause(user, Round.organisation_id)) \
        .order_by(Round.id.desc())
    if org_id is not None:
        query = query.where(Round.organisation_id == org_id)
    return list(db.session.scalars(query))


