"""The weekly report's totals, kept per day, batch and committee (``models.DayTotals``).

What the report sums over its period — rounds held with their cards, ballots and lowest
headline figure, flags raised and confirmed, 补课 / 黄牌 / 诫勉 proposals, 本期变化 entries —
is kept as it happens, so the report reads days × batches × committees in scope, not every
branch of a province.

How it stays exact: every flush notes which branches and days it touched (rounds, flags,
change entries of the audit log, a branch moved to another parent or batch); before the
transaction commits, the rows of those days and those branches' parents are **recomputed**
from the facts (a committee's branches on a few days: a few indexed rows), inside the same
transaction. Recomputing, not adding, means a closed round, an overridden verdict, a purged
rehearsal or a moved branch all come out right the same way. On PostgreSQL two writers of
the same committee take turns (an advisory lock per parent), so neither recomputes from a
snapshot missing the other's change. Writes that bypass the ORM (``insert_rows``) say what
they touched with ``touch``; ``rebuild`` recomputes the whole table (the migration, bulk
loads).
"""
import logging
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from evalsvc.database import writes
from evalsvc.models import (
    AuditEntry, CommitteeBranches, DayTotals, Decision, Flag, FlagKind, Organisation, OrgType,
    Round,
)
from evalsvc.services.today import local_day, utc_start, zone

# What the report says happened (opinions are listed on their own).
CHANGE_ACTIONS = ("round.open", "round.close", "round.purge_rehearsal",
                  "round.verdict.confirm", "round.verdict.override", "transition.apply",
                  "transition.review", "transition.decide", "flag.confirmed", "flag.overridden",
                  "flag.make_up.required", "flag.make_up", "flag.admonishment.carried_out",
                  "plan.create", "plan.submit", "plan.review", "plan.approve", "plan.return",
                  "plan.item_add", "plan.item_update", "plan.item_remove", "plan.note",
                  "round.publish_result", "round.withdraw_result")
COUNTS = ("rounds_held", "cards", "ballots", "flags_raised", "flags_confirmed", "make_up",
          "yellow_cards", "admonishments", "changes")
KIND_COLUMNS = {FlagKind.MAKE_UP: "make_up", FlagKind.YELLOW_CARD: "yellow_cards",
                FlagKind.ADMONISHMENT: "admonishments"}
log = logging.getLogger(__name__)
LOCK_SPACE = 16_001  # pg_advisory_xact_lock(LOCK_SPACE, parent id): one committee's days
# (LOCK_SPACE, -1): shared by each refresh, exclusive for a rebuild or a branch moved
EVERY_PARENT = -1
YIELD = 500
_PENDING = "day_totals"  # session.info key: what this transaction touched
_ROUND_FIELDS = ("closed_on", "rehearsal", "cards_issued", "ballots_counted", "figures_json",
                 "result_json", "state", "organisation_id", "kind")
_FLAG_FIELDS = ("raised_on", "decided_on", "status", "kind", "organisation_id")
_ORG_FIELDS = ("parent_id", "batch_id", "type")

Key = tuple[date, int | None, int | None]  # day, batch, parent


# -- noting what a transaction touched ---------------------------------------------------
def init_app(app) -> None:  # noqa: ARG001 - listens on every session of the process
    """Keep the totals in every session's transactions."""
    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def _pending(session: Session) -> dict:
    return session.info.setdefault(_PENDING, {"touched": set(), "moved": {}, "rounds": set(),
                                               "flags": set(), "counted": set()})


def touch(session: Session, pairs: Iterable[tuple[int | None, date | None]]) -> None:
    """Note (organisation id, day) pairs a write changed outside the ORM."""
    touched = _pending(session)["touched"]
    touched.update((org, day) for org, day in pairs if org is not None and day is not None)


def _values(state, fields) -> tuple[bool, dict[str, set]]:
    """Whether any of ``fields`` changed, and the values of each this flush knows (the
    columns' ``active_history`` keeps the old value of one set on an expired object)."""
    changed, seen = False, {}
    for name in fields:
        history = state.attrs[name].history
        changed = changed or history.has_changes()
        seen[name] = {v for v in (*history.added, *history.unchanged, *history.deleted)
                      if v is not None}
    return changed, seen


def _note_flush(session: Session, _context) -> None:
    """Note the branches and days this flush touched: the values it knows now, and the
    ids of the rounds and flags whose current days are read before the commit."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Round):
            _note_row(session, obj, "rounds", _ROUND_FIELDS, ("closed_on",))
        elif isinstance(obj, Flag):
            _note_row(session, obj, "flags", _FLAG_FIELDS, ("raised_on", "decided_on"))
        elif isinstance(obj, AuditEntry):
            if obj in session.new and obj.action in CHANGE_ACTIONS and obj.at:
                touch(session, [(obj.organisation_id, local_day(obj.at))])
        elif isinstance(obj, Organisation):
            changed, seen = _values(sa.inspect(obj), _ORG_FIELDS)
            if obj in session.new:  # nothing happened to it yet: only its parent's count
                _pending(session)["counted"].add(obj.parent_id)
            elif changed or obj in session.deleted:
                _pending(session)["moved"].setdefault(obj.id, set()).update(
                    seen["parent_id"] or {None})


def _note_row(session: Session, obj, kind: str, fields, day_fields) -> None:
    state = sa.inspect(obj)
    changed, seen = _values(state, fields)
    if not (changed or obj in session.deleted):
        return
    pending = _pending(session)
    days = set().union(*(seen[f] for f in day_fields))
    pending["touched"].update((org, day) for org in seen["organisation_id"] for day in days)
    if obj not in session.deleted and state.identity:
        pending[kind].add(state.identity[0])


def _before_commit(session: Session) -> None:
    session.flush()  # so the last changes are noted
    pending = session.info.pop(_PENDING, None)
    if pending and any(pending.values()):
        conn = session.connection()
        _current_days(conn, pending)
        _refresh_touched(conn, pending)


def _current_days(conn, pending: dict) -> None:
    """The days the touched rounds and flags are on now, read from the transaction."""
    touched = pending["touched"]
    for ids, columns in ((pending["rounds"], (Round.closed_on,)),
                         (pending["flags"], (Flag.raised_on, Flag.decided_on))):
        table = columns[0].class_
        for chunk in _chunks(sorted(ids)):
            for org, *days in conn.execute(sa.select(table.organisation_id, *columns)
                                           .where(table.id.in_(chunk))):
                touched.update((org, day) for day in days if day is not None)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _refresh_touched(conn, pending: dict) -> None:
    """Recompute the rows of the touched days of the touched branches' parents (and, for a
    branch moved, every day it has something on, under its old and new parent)."""
    _take_turn(conn, exclusive=bool(pending["moved"]))
    by_parent: dict[int | None, set[date]] = {}
    orgs = sorted({org for org, _day in pending["touched"]} | set(pending["moved"]))
    parent_of: dict[int, int | None] = {}
    for chunk in _chunks(orgs):
        parent_of.update(conn.execute(sa.select(Organisation.id, Organisation.parent_id)
                                      .where(Organisation.id.in_(chunk))).all())
    for org, day in pending["touched"]:
        if org in parent_of:
            by_parent.setdefault(parent_of[org], set()).add(day)
    counted: set[int | None] = set(pending["counted"])
    for org, old_parents in pending["moved"].items():
        days = _days_of(conn, org)
        for parent in old_parents | ({parent_of[org]} if org in parent_of else set()):
            by_parent.setdefault(parent, set()).update(days)
            counted.add(parent)
    refresh(conn, by_parent, counted)


def _take_turn(conn, exclusive: bool) -> None:
    """PostgreSQL: wait for a rebuild or a branch move under way, before the branches'
    parents are read (``exclusive``: this is one, and waits for every refresh under way).
    Without it a close that read its branch's old parent recomputed that parent after the
    move had committed (and the move had computed without the close): the round was kept
    nowhere; and a refresh during a rebuild wrote a day beside the rebuild's."""
    if conn.dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(sa.text(f"SELECT {lock}(:space, :every)"),
                     {"space": LOCK_SPACE, "every": EVERY_PARENT})


def _days_of(conn, org_id: int) -> set[date]:
    """Every day the organisation has something the totals count on."""
    days = set(conn.scalars(sa.select(Round.closed_on).where(
        Round.organisation_id == org_id, Round.closed_on.is_not(None)).distinct()))
    for column in (Flag.raised_on, Flag.decided_on):
        days.update(conn.scalars(sa.select(column).where(
            Flag.organisation_id == org_id, column.is_not(None)).distinct()))
    days.update(local_day(at) for at in conn.scalars(sa.select(AuditEntry.at).where(
        AuditEntry.organisation_id == org_id, AuditEntry.action.in_(CHANGE_ACTIONS))))
    return days


# -- recomputing -------------------------------------------------------------------------
def refresh(conn, days_by_parent: dict[int | None, set[date]],
            counted: set[int | None] = frozenset()) -> None:
    """Recompute the rows of these parents on these days from the facts, and the branch
    counts of the parents ``counted``: parents with the same days together, a chunk at a
    time (a bulk action over a batch touches thousands of committees on one day)."""
    everyone = sorted(set(days_by_parent) | set(counted), key=lambda p: -1 if p is None else p)
    if conn.dialect.name == "postgresql":  # in order: two writers never wait in a ring
        for chunk in _chunks([p or 0 for p in everyone]):
            conn.execute(sa.text(
                "SELECT pg_advisory_xact_lock(:space, p) FROM"
                " (SELECT DISTINCT unnest(CAST(:parents AS integer[])) AS p ORDER BY 1) AS s"),
                {"space": LOCK_SPACE, "parents": chunk})
    by_days: dict[frozenset, list[int | None]] = {}
    for parent, days in days_by_parent.items():
        if days:
            by_days.setdefault(frozenset(days), []).append(parent)
    for days, parents in by_days.items():
        for chunk in _chunks(parents):
            conn.execute(sa.delete(DayTotals).where(_parent_in(DayTotals.parent_id, chunk),
                                                    DayTotals.day.in_(sorted(days))))
            _insert(conn, compute(conn, _parent_in(Organisation.parent_id, chunk), set(days)))
    for chunk in _chunks(list(counted)):
        conn.execute(sa.delete(CommitteeBranches).where(
            _parent_in(CommitteeBranches.parent_id, chunk)))
        _count_branches(conn, _parent_in(Organisation.parent_id, chunk))


def _chunks(items: list, size: int = 1000) -> Iterator[list]:
    """``items`` a thousand at a time (bound parameters stay few)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _parent_in(column, parents: list[int | None]):
    """The column is one of ``parents`` (None: no parent)."""
    known = [p for p in parents if p is not None]
    clauses = ([column.in_(known)] if known else []) + \
        ([column.is_(None)] if len(known) < len(parents) else [])
    return sa.or_(*clauses)


def rebuild(conn) -> None:
    """The whole tables again, from the facts (on PostgreSQL after every refresh under way
    has committed, and before any other starts: none writes a day beside the rebuild's)."""
    _take_turn(conn, exclusive=True)
    conn.execute(sa.delete(DayTotals))
    _insert(conn, compute(conn))
    conn.execute(sa.delete(CommitteeBranches))
    _count_branches(conn)


@writes
def rebuild_kept() -> tuple[int, int]:
    """``rebuild`` as an operator's use case (the CLI): rows of day totals and of branch
    counts made."""
    from evalsvc.extensions import db

    conn = db.session.connection()
    rebuild(conn)
    return (conn.scalar(sa.select(sa.func.count()).select_from(DayTotals)),
            conn.scalar(sa.select(sa.func.count()).select_from(CommitteeBranches)))


def _count_branches(conn, where=None) -> None:
    """Branches per parent and batch (of the parents ``where`` selects)."""
    query = sa.select(Organisation.parent_id, Organisation.batch_id, sa.func.count()) \
        .where(Organisation.type == OrgType.BRANCH) \
        .group_by(Organisation.parent_id, Organisation.batch_id)
    if where is not None:
        query = query.where(where)
    conn.execute(sa.insert(CommitteeBranches).from_select(
        ["parent_id", "batch_id", "branches"], query))


def _insert(conn, rows: dict[Key, dict]) -> None:
    if rows:
        kept_in = zone().key
        conn.execute(sa.insert(DayTotals), [
            {"day": day, "batch_id": batch, "parent_id": parent, "zone": kept_in, **values}
            for (day, batch, parent), values in sorted(rows.items(), key=_order)])


def _order(item) -> tuple:
    (day, batch, parent), _values_ = item
    return day, batch or 0, parent or 0


def compute(conn, branches=None, days: set[date] | None = None) -> dict[Key, dict]:
    """The totals per (day, batch, parent) of the branches ``branches`` selects (a clause
    on ``Organisation``; every branch when None), on ``days`` (every day when None)."""
    where = [Organisation.type == OrgType.BRANCH]
    if branches is not None:
        where.append(branches)
    found: dict[Key, dict] = {}

    def row(day, batch, parent) -> dict:
        return found.setdefault((day, batch, parent), dict.fromkeys(COUNTS, 0) | {
            "lowest": None})

    _rounds(conn, where, days, row)
    _flags(conn, where, days, row)
    _changes(conn, where, days, row)
    return found


def _rounds(conn, where, days, row) -> None:
    from evalsvc.services.totals import figures

    held = [Round.closed_on.is_not(None), Round.rehearsal.is_(False)]
    if days is not None:
        held.append(Round.closed_on.in_(sorted(days)))
    query = sa.select(Round.closed_on, Organisation.batch_id, Organisation.parent_id,
                      Round.cards_issued, Round.ballots_counted, Round.kind, Round.state,
                      Round.figures_json,
                      sa.case((Round.figures_json.is_(None), Round.result_json))
                      .label("result_json")) \
        .join(Organisation, Organisation.id == Round.organisation_id).where(*where, *held)
    for r in conn.execute(query.execution_options(yield_per=YIELD)):
        line = row(r.closed_on, r.batch_id, r.parent_id)
        line["rounds_held"] += 1
        line["cards"] += int(r.cards_issued or 0)
        line["ballots"] += int(r.ballots_counted or 0)
        values = figures(r).values()
        if values:
            low = min(values)
            line["lowest"] = low if line["lowest"] is None else min(low, line["lowest"])


def _flags(conn, where, days, row) -> None:
    on = [] if days is None else [Flag.raised_on.in_(sorted(days))]
    for day, batch, parent, kind, status, count in conn.execute(
            sa.select(Flag.raised_on, Organisation.batch_id, Organisation.parent_id, Flag.kind,
                      Flag.status, sa.func.count())
            .join(Organisation, Organisation.id == Flag.organisation_id).where(*where, *on)
            .group_by(Flag.raised_on, Organisation.batch_id, Organisation.parent_id,
                      Flag.kind, Flag.status)):
        line = row(day, batch, parent)
        line["flags_raised"] += count
        if status is not Decision.OVERRIDDEN and kind in KIND_COLUMNS:
            line[KIND_COLUMNS[kind]] += count
    on = [] if days is None else [Flag.decided_on.in_(sorted(days))]
    for day, batch, parent, count in conn.execute(
            sa.select(Flag.decided_on, Organisation.batch_id, Organisation.parent_id,
                      sa.func.count())
            .join(Organisation, Organisation.id == Flag.organisation_id)
            .where(*where, *on, Flag.status == Decision.CONFIRMED, Flag.decided_on.is_not(None))
            .group_by(Flag.decided_on, Organisation.batch_id, Organisation.parent_id)):
        row(day, batch, parent)["flags_confirmed"] += count


def _changes(conn, where, days, row) -> None:
    """本期变化 entries by local day (the report's period is in local days)."""
    query = sa.select(AuditEntry.at, Organisation.batch_id, Organisation.parent_id) \
        .join(Organisation, Organisation.id == AuditEntry.organisation_id) \
        .where(*where, AuditEntry.action.in_(CHANGE_ACTIONS))
    if days is not None:
        query = query.where(AuditEntry.at >= utc_start(min(days)),
                            AuditEntry.at < utc_start(max(days) + timedelta(days=1)))
    for at, batch, parent in conn.execute(query.execution_options(yield_per=YIELD)):
        day = local_day(at)
        if days is None or day in days:
            row(day, batch, parent)["changes"] += 1


# -- reading a period --------------------------------------------------------------------
def period(user, start: date, end: date) -> dict[int | None, dict]:
    """The totals of the branches in the user's scope over ``start``..``end``, per batch id:
    the kept rows of the committees in scope, summed by the database; and, for branches a
    supervisor sees without their parent (a branch assigned on its own), the same figures
    computed from the facts (a handful of branches)."""
    from evalsvc.extensions import db
    from evalsvc.services.scope import visible_parents

    kept = sa.select(DayTotals.batch_id, *(sa.func.sum(getattr(DayTotals, c)) for c in COUNTS),
                     sa.func.min(DayTotals.lowest)) \
        .where(DayTotals.day >= start, DayTotals.day <= end).group_by(DayTotals.batch_id)
    scope = visible_parents(user)
    if scope is not None:
        kept = kept.where(DayTotals.parent_id.in_(scope))
    found: dict[int | None, dict] = {}
    for batch, *counts, lowest in db.session.execute(kept):
        found[batch] = dict(zip(COUNTS, (int(c or 0) for c in counts))) | {"lowest": lowest}
    alone = _alone(user) if scope is not None else []
    if alone:
        days = {start + timedelta(days=n) for n in range((end - start).days + 1)}
        for (_day, batch, _parent), values in compute(
                db.session.connection(), Organisation.id.in_(alone), days).items():
            _add(found.setdefault(batch, dict.fromkeys(COUNTS, 0) | {"lowest": None}), values)
    if _counted_in_another_zone(start, end):
        _recount_changes(found, user, start, end)
    return found


def _counted_in_another_zone(start: date, end: date) -> bool:
    """Whether a kept day of the period, or one a zone apart from it (two days either side:
    offsets differ by up to 26 hours), counted its changes in another TIMEZONE than today's
    (the setting was changed since; ``evalsvc report rebuild-totals`` counts them again)."""
    from evalsvc.extensions import db

    near = timedelta(days=2)
    return db.session.scalar(sa.select(DayTotals.id).where(
        DayTotals.day >= start - near, DayTotals.day <= end + near,
        DayTotals.zone != zone().key).limit(1)) is not None


def _recount_changes(found: dict, user, start: date, end: date) -> None:
    """The period's 本期变化 counted from the audit log in today's zone, over the user's
    branches (slower, and right), until the kept days are counted again."""
    from evalsvc.extensions import db
    from evalsvc.services.scope import branch_clause

    log.warning("the weekly totals of %s..%s were kept in another TIMEZONE: counting their "
                "changes from the audit log; run `evalsvc report rebuild-totals`", start, end)
    for values in found.values():
        values["changes"] = 0
    days = {start + timedelta(days=n) for n in range((end - start).days + 1)}
    counted: dict[Key, dict] = {}
    _changes(db.session.connection(), [branch_clause(user)], days,
             lambda day, batch, parent: counted.setdefault((day, batch, parent), {"changes": 0}))
    for (_day, batch, _parent), values in counted.items():
        found.setdefault(batch, dict.fromkeys(COUNTS, 0) | {"lowest": None})["changes"] += \
            values["changes"]


def branch_counts(user) -> dict[int | None, int]:
    """Branches in the user's scope per batch id: the kept counts of the committees in
    scope, and the branches a supervisor sees without their parent, counted."""
    from evalsvc.extensions import db
    from evalsvc.services.scope import visible_parents

    kept = sa.select(CommitteeBranches.batch_id, sa.func.sum(CommitteeBranches.branches)) \
        .group_by(CommitteeBranches.batch_id)
    scope = visible_parents(user)
    if scope is not None:
        kept = kept.where(CommitteeBranches.parent_id.in_(scope))
    found = {batch: int(n) for batch, n in db.session.execute(kept) if n}
    alone = _alone(user) if scope is not None else []
    if alone:
        for batch, n in db.session.execute(
                sa.select(Organisation.batch_id, sa.func.count())
                .where(Organisation.type == OrgType.BRANCH, Organisation.id.in_(alone))
                .group_by(Organisation.batch_id)):
            found[batch] = found.get(batch, 0) + n
    return found


def _alone(user) -> list[int]:
    """The branches in the user's scope whose parent is not (branches a supervisor is
    assigned on their own; a secretary's): usually none, and then nothing is read."""
    from evalsvc.extensions import db
    from evalsvc.services.scope import assigned_branches, visible_parents

    assigned = assigned_branches(user)
    if not assigned:
        return []
    parent_unseen = sa.or_(Organisation.parent_id.is_(None),
                           Organisation.parent_id.not_in(visible_parents(user)))
    return list(db.session.scalars(sa.select(Organisation.id).where(
        Organisation.id.in_(assigned), parent_unseen)))


def _add(into: dict, values: dict) -> None:
    for column in COUNTS:
        into[column] += values[column]
    if values["lowest"] is not None:
        into["lowest"] = values["lowest"] if into["lowest"] is None \
            else min(into["lowest"], values["lowest"])
