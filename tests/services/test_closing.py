"""Closing a round: the rewrite keeps every row and loses arrival order, the seal is the
documented hash chain, and a close that fails half-way leaves the round open, untouched."""
import hashlib
import json
import random
import secrets
from dataclasses import asdict

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    AuditEntry, Ballot, Card, GroupCode, Receipt, RespondentGroup, RoundState,
)
from evalsvc.services import ballots, closing, seal
from evalsvc.services.results import settings_for
from tests.anonymity.test_traces_postgresql import _until_cleared
from tests.helpers import SATISFACTION, new_round, rewrite_answers, stored_answers

TEXTS = ["请多下基层", "引号\"与反斜杠\\，换行\n制表\t", "emoji 🎉 and \u2028 and \x01",
         "方括号],[照原样"]  # reads as the seam between two packed answers


def _cast(round_, codes):
    for n, code in enumerate(codes):
        rows = [(k, v, "") for k, v in SATISFACTION.items()]
        if n < len(TEXTS):
            rows.append(("advice", "", TEXTS[n]))
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)


def _rows(round_id: int) -> dict[str, list]:
    """Every stored row of the round's ballot tables, sorted (order is not content)."""
    tables = {"ballots": Ballot, "receipts": Receipt}
    return {name: sorted(tuple(str(v) for v in row) for row in db.session.execute(
        sa.select(*model.__table__.columns).where(model.round_id == round_id)))
        for name, model in tables.items()}


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _documented_digest(round_, answers_of=None) -> str:
    """The seal as the module docstring describes it, from plain full reads with SQL;
    ``answers_of`` (ballot id → [(question, value, text)]) defaults to the decoded
    ``ballots.answers`` (a test of the migration passes the old answers table's rows)."""
    groups = db.session.execute(sa.select(RespondentGroup.id, RespondentGroup.code,
                                          RespondentGroup.card_count)
                                .where(RespondentGroup.round_id == round_.id)).all()
    code = {gid: c.value for gid, c, _n in groups}
    h = hashlib.sha256(_canonical(["evalsvc-seal-v2", round_.id, round_.kind, round_.title]))
    link = h.digest()

    def add(record):
        nonlocal link
        link = hashlib.sha256(link + _canonical(record)).digest()

    add(["settings", asdict(settings_for(round_))])
    add(["groups", sorted([c.value, n] for _gid, c, n in groups)])
    add(["layout", json.loads(round_.layout_json)])
    ballot_rows = db.session.execute(sa.text(
        "SELECT id, group_id, day, channel FROM ballots WHERE round_id = :r"),
        {"r": round_.id}).all()
    if answers_of is None:
        answers_of = {b: json.loads(packed) for b, packed in db.session.execute(sa.text(
            "SELECT id, answers FROM ballots WHERE round_id = :r"), {"r": round_.id})}
    for ballot_id, group_id, day, channel in sorted(ballot_rows, key=lambda b: b[0].encode()):
        mine = sorted(([code[group_id], q, v, t] for q, v, t in answers_of.get(ballot_id, [])),
                      key=lambda r: (r[1].encode(), r[2].encode()))
        day = day if isinstance(day, str) else day.isoformat()  # SQLite gives text
        record = ["ballot", ballot_id, code[group_id], day, mine]
        add(record if channel == "phone" else [*record, channel])
    receipts = sorted(db.session.scalars(sa.select(Receipt.code).where(
        Receipt.round_id == round_.id)).all(), key=str.encode)
    for receipt in receipts:
        add(["receipt", receipt])
    add(["result", seal.normal_result(seal.stored_result(round_))])
    return hashlib.sha256(link + _canonical(["end", len(ballot_rows), len(receipts)])
                          ).hexdigest()


def test_closing_rewrites_every_row_unchanged_and_seals_the_documented_chain(app, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 20, GroupCode.MEMBER: 10})
    _cast(round_, cards[:25])
    db.session.commit()
    before = _rows(round_.id)
    closing.close_round(None, round_)
    db.session.refresh(round_)
    assert round_.state is RoundState.CLOSED
    assert _rows(round_.id) == before
    assert len(stored_answers(round_.id)) == 25 * len(SATISFACTION) + len(TEXTS)
    assert round_.digest == _documented_digest(round_)


def _storage_order(model, round_id: int) -> list[str]:
    """Key values in the order the database keeps the rows (PostgreSQL: by ctid)."""
    key = list(model.__table__.primary_key.columns)[0]
    query = sa.select(key).where(model.round_id == round_id)
    if db.engine.dialect.name == "postgresql":
        query = query.order_by(sa.text("ctid"))
    return list(db.session.scalars(query))


def test_the_rewritten_order_is_the_random_keys_order_whatever_the_arrival(app, demo):
    """Rows are written back in key order: the keys are random, so where a row sits says
    nothing of when it came, and the same ballots in any arrival order sit the same way."""
    round_, cards = new_round(groups={GroupCode.MASSES: 30})
    arrival = []
    for code in cards[:24]:
        _cast(round_, [code])
        db.session.commit()
        arrival.append(db.session.scalars(sa.select(Ballot.id).where(
            Ballot.round_id == round_.id, Ballot.id.not_in(arrival))).one())
    closing.close_round(None, round_)
    stored = _storage_order(Ballot, round_.id)
    assert sorted(stored) == sorted(arrival) and stored != arrival
    assert stored == sorted(stored)
    receipts = _storage_order(Receipt, round_.id)
    assert receipts == sorted(receipts)
    if db.engine.dialect.name == "postgresql":
        for table in ("ballots", "receipts", "cards"):
            xids = db.session.execute(sa.text(
                f"SELECT count(DISTINCT xmin::text) FROM {table} WHERE round_id = :r"),
                {"r": round_.id}).scalar()
            assert xids == 1, table  # all written by the closing transaction


def test_ballots_of_different_lengths_sit_in_key_order_after_close(app, demo):
    """Free texts of any length: while the round was open each page filled in arrival
    order and the database noted the room each one had left; the close's key-ordered
    insert dropped short ballots into that room, and the rewrite kept the order it found
    (PostgreSQL), so where a ballot sat still said something of the arrival."""
    round_, cards = new_round(groups={GroupCode.MASSES: 200})
    lengths = random.Random(5)
    for code in cards:
        rows = [("overall", "satisfied", ""), ("advice", "", "意" * lengths.randint(10, 600))]
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    closing.close_round(None, round_)
    _until_cleared()
    stored = _storage_order(Ballot, round_.id)
    assert len(stored) == 200 and stored == sorted(stored)


@pytest.mark.parametrize("failing", ["store", "seal"])
def test_a_close_that_fails_half_way_leaves_the_round_open_and_untouched(app, demo,
                                                                          monkeypatch,
                                                                          failing):
    round_, cards = new_round(groups={GroupCode.MASSES: 10})
    _cast(round_, cards[:6])
    db.session.commit()
    before = _rows(round_.id)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    target = closing.results if failing == "store" else closing.seal
    monkeypatch.setattr(target, failing, broken)
    with pytest.raises(RuntimeError, match="disk full"):
        closing.close_round(None, round_)
    db.session.expire_all()
    db.session.refresh(round_)
    assert (round_.state, round_.digest, round_.result_json) == (RoundState.OPEN, None, None)
    assert not round_.traces_pending
    assert _rows(round_.id) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card).where(
        Card.round_id == round_.id, Card.spent)) == 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "round.close", AuditEntry.object_id == str(round_.id))) == 0
    monkeypatch.undo()
    closing.close_round(None, round_)  # and it closes once the fault is gone
    assert round_.state is RoundState.CLOSED and _rows(round_.id) == before


@pytest.mark.parametrize("stored", ["not json", "numbers", "unsorted"])
def test_a_close_refuses_a_ballot_stored_in_another_form_and_leaves_the_round_open(
        app, demo, stored):
    """Closing seals and counts in one pass: a ballot whose stored answers are not their
    canonical packing (an insider's edit) is named by count and round, nothing is kept."""
    round_, cards = new_round(groups={GroupCode.MASSES: 10})
    _cast(round_, cards[:6])
    db.session.commit()
    first = db.session.scalars(sa.select(Ballot.id).where(Ballot.round_id == round_.id)
                               .order_by(Ballot.id)).first()
    db.session.commit()  # the edit below is then what the session reads
    change = {"not json": lambda a: '[["overall"', "numbers": lambda a: "[[1,2,3]]",
              "unsorted": lambda a: json.dumps(a[::-1], separators=(",", ":"),
                                               ensure_ascii=False)}[stored]
    with db.engine.begin() as conn:
        rewrite_answers(conn, first, change)
    before = _rows(round_.id)
    with pytest.raises(seal.SealError, match=rf"round {round_.id}: 1 ballot\(s\) whose "
                                             "stored answers are not canonically packed"):
        closing.close_round(None, round_)
    db.session.expire_all()
    db.session.refresh(round_)
    assert (round_.state, round_.digest, round_.result_json) == (RoundState.OPEN, None, None)
    assert _rows(round_.id) == before
