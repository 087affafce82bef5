"""Counting a round's ballots into a RoundResult, and storing it when the round closes."""
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.kinds import get_kind
from evalsvc.kinds.base import Settings
from evalsvc.models import Ballot, Campaign, Decision, Round, RoundState
from evalsvc.services.campaign_rules import kind_settings
from evalsvc.services.packed import Malformed, stream, unpack
from evalsvc.services.rounds import layout
from evalsvc.tally import ALL, Counts, RoundResult, TallyInput, suppressed_groups

Decoded = Iterable[tuple[int, list]]  # each ballot's (group id, decoded answers)
CHANNELS = {"phone": "电子", "paper": "纸质"}  # how ballots arrived (扫码 / 纸质测评票)


def settings_for(round_: Round) -> Settings:
    """The rule thresholds of a round: those frozen at its close, else the campaign's
    current ones with the round's kind's own settings."""
    if round_.settings_json:
        return Settings(**json.loads(round_.settings_json))
    c = db.session.get(Campaign, round_.campaign_id)
    return Settings(c.satisfaction_threshold, c.stage_pass_threshold, c.unqualified_threshold,
                    c.excellent_cap, c.min_cell, c.min_text_cell,
                    kind=kind_settings(c, round_.kind))


def read_counts(round_id: int, multi_keys: list[str], text_keys: list[str],
                each_ballot: bool = False, decoded: Decoded | None = None):
    """One pass over the round's ballots (streamed, each decoded once): option counts,
    ballots per group, distinct answerers of multi questions, the free texts, and, with
    ``each_ballot``, each ballot's picked options as (group id, question → values), for
    kinds that score ballots one by one: without ballot ids, in the order read.
    ``decoded``: the ballots as another pass already decoded them (the close's seal),
    instead of reading them here."""
    per_group: Counts = defaultdict(int)
    ballots: dict[int, int] = defaultdict(int)
    answered: Counts = defaultdict(int)
    texts = defaultdict(list)
    picked_per_ballot = []
    multi, text = set(multi_keys), set(text_keys)
    for group_id, answers in _decoded(round_id) if decoded is None else decoded:
        ballots[group_id] += 1
        picked = defaultdict(set) if each_ballot or multi else None
        try:
            for question, value, answer_text in answers:
                if value == "":
                    if question in text:
                        texts[question].append(answer_text)
                    continue
                per_group[(group_id, question, value)] += 1
                if picked is not None:
                    picked[question].add(value)
        except (TypeError, ValueError):  # an answer that is not [question, value, text]
            raise Malformed(f"round {round_id}: a ballot's answers are malformed") from None
        if picked is None:
            continue
        for question in multi.intersection(picked):
            answered[(group_id, question, "")] += 1
        if each_ballot:
            picked_per_ballot.append((group_id, {q: frozenset(v) for q, v in picked.items()}))
    return (_with_round_totals(per_group), dict(ballots), _with_round_totals(answered),
            texts, picked_per_ballot)


def _decoded(round_id: int) -> Decoded:
    """The round's ballots read and decoded, in the order stored."""
    for group_id, packed in stream(sa.select(Ballot.group_id, Ballot.answers)
                                   .where(Ballot.round_id == round_id)):
        try:
            answers = unpack(packed)
        except Malformed:
            raise Malformed(f"round {round_id}: a ballot's answers are malformed") from None
        yield group_id, answers


def _with_round_totals(per_group: Counts) -> Counts:
    """The per-group counts, and their sums under ALL."""
    counts: Counts = defaultdict(int, per_group)
    for (_group_id, question, value), n in per_group.items():
        counts[(ALL, question, value)] += n
    return counts


def compute(round_: Round, decoded: Decoded | None = None) -> RoundResult:
    """The round's result with suppression applied and the verdict proposed (``decoded``:
    see ``read_counts``)."""
    questions = layout(round_)
    settings = settings_for(round_)
    multi = [q.key for q in questions if q.type == "multi"]
    text_keys = [q.key for q in questions if q.type == "text"]
    kind = get_kind(round_.kind)
    counts, ballots, answered, texts, each_ballot = read_counts(
        round_.id, multi, text_keys, each_ballot=kind.reads_ballots, decoded=decoded)
    tallied = TallyInput(round_.id, round_.title, round_.kind, round_.is_poster,
                         _groups(round_), questions, counts, ballots, answered, texts,
                         each_ballot)
    full = kind.tally(tallied, settings, suppress=False)
    verdict = _verdict(kind, full, settings)
    shown = kind.tally(tallied, settings, suppress=True)
    flagged = set(verdict.get("flagged_members", ()))
    for member in shown.members:
        member.flagged = member.member_id in flagged
    shown.verdict = verdict
    return shown


def _groups(round_: Round) -> list[tuple[int, str, str, int]]:
    return [(g.id, g.code.value, label(g.code), g.card_count) for g in round_.groups]


def _verdict(kind, full: RoundResult, settings: Settings) -> dict:
    if kind.can_require_make_up and full.ballots >= settings.min_cell and full.rate is None:
        return {"passed": None, "make_up": False, "decidable": False,
                "summary": "没有有效回答（均为不了解或未答），规则不作判定，由先教办决定",
                "flagged_members": []}
    if full.ballots < settings.min_cell:
        return {"passed": None, "make_up": False, "decidable": False,
                "summary": f"有效票少于 {settings.min_cell} 份，规则不作判定，由先教办决定",
                "flagged_members": []}
    verdict = kind.propose(full, settings)
    return {**asdict(verdict), "flagged_members":
            list(verdict.flagged_members)}


def store(round_: Round, decoded: Decoded | None = None) -> RoundResult:
    """Compute and keep the result with the round (called inside the closing transaction;
    ``decoded``: see ``read_counts``)."""
    result = compute(round_, decoded)
    round_.result_json = json.dumps(result.to_data(), ensure_ascii=False)
    # The rules' proposal is in force until the office decides (services/flags.py).
    round_.passed = result.verdict.get("passed")
    round_.verdict_status = Decision.PROPOSED
    return result


def freeze_settings(round_: Round) -> None:
    """Keep the thresholds the round is about to be decided with, for good."""
    round_.settings_json = None
    round_.settings_json = json.dumps(asdict(settings_for(round_)), sort_keys=True)


def result_of(round_: Round) -> RoundResult | None:
    """A closed round's stored result; None while it is open (participation only)."""
    if round_.state is not RoundState.CLOSED or round_.result_json is None:
        return None
    result = RoundResult.from_data(json.loads(round_.result_json))
    if not result.rate_label:  # stored before kinds labelled their results
        get_kind(round_.kind).labelled(result)
    return result


def channel_counts(round_: Round) -> list[tuple[str, str, int | None]]:
    """A closed round's ballots per channel as (channel, label, count); count None when
    the breakdown is suppressed (a channel under the campaign's minimum cell hides both,
    or the other would give it away by subtraction). Empty while the round is open."""
    if round_.state is not RoundState.CLOSED:
        return []
    stored = dict(db.session.execute(
        sa.select(Ballot.channel, sa.func.count()).where(Ballot.round_id == round_.id)
        .group_by(Ballot.channel)).all())
    per_channel = {c: stored.get(c, 0) for c in CHANNELS}
    hidden = suppressed_groups(per_channel, settings_for(round_).min_cell)
    return [(c, name, None if c in hidden and per_channel[c] else per_channel[c])
            for c, name in CHANNELS.items()]


def tally_document(round_: Round, result: RoundResult) -> dict:
    """The machine-readable tally (``evalsvc round tally ID --json``); see the README.

    Suppressed cells are ``null`` and carry ``"suppressed": true``.
    """
    def options(item):
        return [{"value": o.value, "label": o.label, "count": o.count, "share": o.share,
                 "suppressed": o.count is None} for o in item.options]

    def items(values):
        return [{"key": i.key, "text": i.text, "type": i.type, "answered": i.answered,
                 "valid": i.valid, "rate": i.rate, "suppressed": i.valid is None,
                 "options": options(i)} for i in values]

    has_rate = get_kind(round_.kind).reports_rate
    return {
        "round": round_.id, "kind": round_.kind, "title": round_.title,
        "stage": round_.stage.value, "attempt": round_.attempt, "ballots": result.ballots,
        "suppressed": result.suppressed, "poster": result.poster,
        "groups": [{"code": g.code, "label": g.label, "cards": g.cards, "ballots": g.ballots,
                    "suppressed": g.suppressed, "satisfaction_rate": g.rate,
                    "items": items(g.items)} for g in result.groups],
        "items": items(result.items),
        "members": [{"id": m.member_id, "name": m.name, "counts": m.counts, "valid": m.valid,
                     "flagged": m.flagged} for m in result.members],
        "satisfaction_rate": result.rate if has_rate else None,
        "rate": result.rate if has_rate else None, "rate_label": result.rate_label,
        "basis": result.verdict.get("details", {}).get("basis"),
        "tables": [asdict(t) for t in result.tables],
        "channels": [{"channel": c, "label": name, "ballots": n, "suppressed": n is None}
                     for c, name, n in channel_counts(round_)],
        "comments": result.comments, "comments_suppressed": result.comments_suppressed,
        "verdict": {**result.verdict, "status": _value(round_.verdict_status),
                    "effective_passed": round_.passed, "reason": round_.verdict_reason},
        "digest": round_.digest,
    }


def _value(status) -> str | None:
    return None if status is None else status.value
