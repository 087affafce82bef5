"""Sealing a closed round: a digest over everything people read of it.

The digest (``evalsvc-seal-v2``) is a SHA-256 hash chain. Each link hashes the previous
link and one record, a JSON array in canonical form (sorted keys, no whitespace, UTF-8,
not ASCII-escaped), so no field can run into the next one:

    h = SHA-256(canonical(["evalsvc-seal-v2", round id, kind, title]))
    h = SHA-256(h || canonical(["settings", the campaign's rule thresholds]))
    h = SHA-256(h || canonical(["groups", [[group code, cards issued], ...]]))
    h = SHA-256(h || canonical(["layout", the frozen layout: questions, options, members]))
    for each ballot, in ballot-id order (byte order):
        h = SHA-256(h || canonical(["ballot", id, group code, day,
                                    [[group code, question, value, text], ...]]))
        (the answers sorted by question and value; text is null for a choice; a ballot
        entered from a paper sheet has its channel appended: [..., answers, "paper"], so
        phone ballots keep the record they were sealed with before paper ballots existed)
    for each receipt code, sorted:
        h = SHA-256(h || canonical(["receipt", code]))
    h = SHA-256(h || canonical(["result", the stored result, free texts sorted]))
    digest = hex(SHA-256(h || canonical(["end", ballots, receipts])))

Ballots and answers are read as two ordered streams and merged, so a round of any size
is sealed (and verified, see ``services.verification``) in constant memory.
"""
import hashlib
import json
from dataclasses import asdict

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Answer, Ballot, Receipt, RespondentGroup, Round
from evalsvc.services.results import settings_for

VERSION = "evalsvc-seal-v2"


def canonical(value: object) -> bytes:
    """The one byte string a JSON value is sealed as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def normal_result(data: dict | None) -> dict | None:
    """A result as sealed and compared: free texts are shown shuffled, so they are sorted."""
    if data is None:
        return None
    return {**data, "comments": {k: sorted(v) for k, v in data.get("comments", {}).items()}}


def stored_result(round_: Round) -> dict | None:
    """The result stored with the round, as plain data."""
    return json.loads(round_.result_json) if round_.result_json else None


class _Chain:
    """A SHA-256 hash chain over canonical records."""

    def __init__(self, first: list):
        self.state = hashlib.sha256(canonical(first)).digest()

    def add(self, record: list) -> None:
        """Link one more record."""
        self.state = hashlib.sha256(self.state + canonical(record)).digest()

    def final(self, record: list) -> str:
        """The hex digest after the last record."""
        return hashlib.sha256(self.state + canonical(record)).hexdigest()


def digest_of(round_: Round) -> tuple[str, int, int]:
    """(digest, ballots, receipts) computed from what is stored now."""
    group_rows = db.session.execute(
        sa.select(RespondentGroup.id, RespondentGroup.code, RespondentGroup.card_count)
        .where(RespondentGroup.round_id == round_.id)).all()
    codes = {group_id: code.value for group_id, code, _cards in group_rows}
    chain = _Chain([VERSION, round_.id, round_.kind, round_.title])
    chain.add(["settings", asdict(settings_for(round_))])
    chain.add(["groups", sorted([code.value, cards] for _id, code, cards in group_rows)])
    chain.add(["layout", json.loads(round_.layout_json) if round_.layout_json else None])
    ballots = 0
    for record in _ballot_records(round_.id, codes):
        chain.add(record)
        ballots += 1
    receipts = 0
    for (code,) in _stream(sa.select(Receipt.code).where(Receipt.round_id == round_.id)
                           .order_by(ordered(Receipt.code))):
        chain.add(["receipt", code])
        receipts += 1
    chain.add(["result", normal_result(stored_result(round_))])
    return chain.final(["end", ballots, receipts]), ballots, receipts


def _ballot_records(round_id: int, codes: dict[int, str]):
    """["ballot", ...] records in ballot-id order, merging the ballot and answer streams.

    An answer whose ballot is not among the round's is left out here; ``stray_answers``
    counts those, and any of them fails verification.
    """
    answers = _stream(sa.select(Answer.ballot_id, Answer.group_id, Answer.question,
                                Answer.value, Answer.text)
                      .where(Answer.round_id == round_id)
                      .order_by(ordered(Answer.ballot_id), ordered(Answer.question),
                                ordered(Answer.value)))
    done = (chr(0x10FFFF),)  # after every id: the merge's end marker
    pending = next(answers, done)
    for ballot_id, group_id, day, channel in _stream(
            sa.select(Ballot.id, Ballot.group_id, Ballot.day, Ballot.channel)
            .where(Ballot.round_id == round_id).order_by(ordered(Ballot.id))):
        mine = []
        while pending[0] <= ballot_id:
            answer_ballot, answer_group, question, value, text = pending
            if answer_ballot == ballot_id:
                mine.append([codes.get(answer_group, answer_group), question, value, text])
            pending = next(answers, done)
        record = ["ballot", ballot_id, codes.get(group_id, group_id), day.isoformat(), mine]
        yield record if channel == "phone" else [*record, channel]


def stray_answers(round_id: int) -> int:
    """Answer rows filed under the round whose ballot is not one of the round's ballots."""
    mine = sa.select(Ballot.id).where(Ballot.id == Answer.ballot_id,
                                      Ballot.round_id == round_id)
    return db.session.scalar(sa.select(sa.func.count()).select_from(Answer).where(
        Answer.round_id == round_id, ~mine.exists()))


def ordered(column):
    """Byte order on every engine (PostgreSQL would otherwise sort by its locale)."""
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


def _stream(query, batch: int = 5000):
    """Rows as plain tuples, in batches (a server-side cursor on PostgreSQL), never all at
    once: the seal of a 100,000-ballot round holds a few thousand rows at a time."""
    db.session.flush()  # what the session holds is what is sealed
    result = db.session.connection().execute(query.execution_options(stream_results=True, max_row_buffer=batch))
    while rows := result.fetchmany(batch):
        yield from map(tuple, rows)


class SealError(RuntimeError):
    """The round's ballots, answers and receipts disagree: it cannot be sealed."""


def seal(round_: Round) -> str:
    """Store the digest with the round (inside the closing transaction, after the result)."""
    digest, ballots, receipts = digest_of(round_)
    if ballots != receipts:
        raise SealError(f"round {round_.id}: {ballots} ballots but {receipts} receipts")
    strays = stray_answers(round_.id)
    if strays:
        raise SealError(f"round {round_.id}: {strays} answer row(s) of no ballot of the round")
    round_.digest = digest
    return digest
