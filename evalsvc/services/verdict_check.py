"""Checking what a closed round shows as decided against the audit log.

The seal covers the rules' proposal (inside the stored result). What the dashboard, the weekly
report and the round's page show as the outcome is the office's decision on it, kept in
``rounds.passed`` / ``rounds.verdict_status`` alone; a decided 补课 opens one MAKE_UP flag for
the branch's follow-up. Every decision is audited, and each can be taken once, so the first
decision in the log is the one that counts; without one, the proposal stands.

Databases from before the verdict was kept in one place decided 补课 on the flag itself
(``flag.confirmed`` / ``flag.overridden``); those entries are read too.
"""
import json

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Decision, Flag, FlagKind, Round

ROUND_DECISIONS = {"round.verdict.confirm": "confirmed", "round.verdict.override": "overridden"}
FLAG_DECISIONS = {"flag.confirmed": "confirmed", "flag.overridden": "overridden"}
OUTCOME = {True: "通过", False: "未通过", None: "未判定"}


def verdict_differences(round_: Round, proposed: bool | None) -> list[str]:
    """One line per place where the shown outcome is not what the audit log decided.
    ``proposed``: the rules' verdict in the sealed result."""
    since = _last_start(round_)
    make_up = db.session.scalars(sa.select(Flag).where(
        Flag.round_id == round_.id, Flag.kind == FlagKind.MAKE_UP).order_by(Flag.id)).all()
    on_round = _decisions("round", [str(round_.id)], ROUND_DECISIONS, since)
    on_flags = _decisions("flag", [str(f.id) for f in make_up], FLAG_DECISIONS, since)
    if on_round:
        _, action, detail = on_round[0]
        expected = (detail.get("passed"), ROUND_DECISIONS[action])
    elif on_flags:
        _, action, _detail = on_flags[0]
        expected = (action == "flag.overridden", FLAG_DECISIONS[action])
    else:
        expected = (proposed, "proposed")
    found = _make_up_differences(make_up, on_flags, expected)
    if len(on_round) > 1:
        found.append(f"the audit log holds {len(on_round)} verdict decisions; a verdict is "
                     f"decided once")
    shown = (round_.passed, round_.verdict_status and round_.verdict_status.value)
    if shown != expected:
        found.append(f"final verdict: shown {OUTCOME.get(shown[0])} ({shown[1]}), the audit "
                     f"log says {OUTCOME.get(expected[0])} ({expected[1]})")
    return found


def _make_up_differences(make_up: list[Flag], on_flags,
                         expected: tuple[bool | None, str]) -> list[str]:
    """A decided 补课 has one follow-up flag in force; anything else (a pass, or a proposal
    not yet decided) has none. A flag decided on itself (older databases) must show what
    the log says of it."""
    found = []
    for flag in make_up:
        logged = [action for object_id, action, _ in on_flags if object_id == str(flag.id)]
        if logged and flag.status.value != FLAG_DECISIONS[logged[0]]:
            found.append(f"补课 flag {flag.id}: status {flag.status.value}, the audit log "
                         f"says {FLAG_DECISIONS[logged[0]]}")
    in_force = [f for f in make_up if f.status is Decision.CONFIRMED]
    wanted = 1 if expected[0] is False and expected[1] != "proposed" else 0
    if len(in_force) != wanted:
        found.append(f"补课 flags in force: {len(in_force)}, the audit log's verdict calls "
                      f"for {wanted}")
    return found


def _last_start(round_: Round) -> int:
    """The audit id where the round last started over (its rehearsal purge), else 0."""
    return db.session.scalar(sa.select(sa.func.min(AuditEntry.id)).where(
        AuditEntry.object_type == "round", AuditEntry.object_id == str(round_.id),
        AuditEntry.action == "round.purge_rehearsal")) or 0


def _decisions(object_type: str, object_ids: list[str], actions: dict[str, str],
               since: int) -> list[tuple[str, str, dict]]:
    """(object id, action, detail) of the decisions logged on these objects, oldest first."""
    if not object_ids:
        return []
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.action,
                                        AuditEntry.detail)
                              .where(AuditEntry.object_type == object_type,
                                     AuditEntry.object_id.in_(object_ids),
                                     AuditEntry.action.in_(list(actions)),
                                     AuditEntry.id > since)
                              .order_by(AuditEntry.id)).all()
    return [(object_id, action, json.loads(detail or "{}")) for object_id, action, detail in rows]
