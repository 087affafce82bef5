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

A ballot's answers are stored as that very list without the group codes
(``services.packed``): the ballots are read as one stream in id order, so a round of any
size is sealed (and verified, see ``services.verification``) in constant memory. A stored
value that is not the canonical packing of its answers is counted (``Digest.malformed``)
and refused: two different stored values never seal alike.
"""
import hashlib
import json
from dataclasses import asdict
from typing import NamedTuple

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Receipt, RespondentGroup, Round
from evalsvc.services.packed import Malformed, canonical, is_canonical, stream, unpack
from evalsvc.services.results import settings_for

VERSION = "evalsvc-seal-v2"


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


class Digest(NamedTuple):
    """A digest computed from what is stored, with what it counted."""

    digest: str
    ballots: int
    receipts: int
    malformed: int = 0  # ballots whose stored answers are not canonically packed


def digest_of(round_: Round) -> Digest:
    """The digest of what is stored now, with the ballots and receipts it covers."""
    group_rows = db.session.execute(
        sa.select(RespondentGroup.id, RespondentGroup.code, RespondentGroup.card_count)
        .where(RespondentGroup.round_id == round_.id)).all()
    codes = {group_id: code.value for group_id, code, _cards in group_rows}
    chain = _Chain([VERSION, round_.id, round_.kind, round_.title])
    chain.add(["settings", asdict(settings_for(round_))])
    chain.add(["groups", sorted([code.value, cards] for _id, code, cards in group_rows)])
    chain.add(["layout", json.loads(round_.layout_json) if round_.layout_json else None])
    ballots, malformed = 0, [0]
    for record in _ballot_records(round_.id, codes, malformed):
        chain.add(record)
        ballots += 1
    receipts = 0
    for (code,) in stream(sa.select(Receipt.code).where(Receipt.round_id == round_.id)
                           .order_by(ordered(Receipt.code))):
        chain.add(["receipt", code])
        receipts += 1
    chain.add(["result", normal_result(stored_result(round_))])
    return Digest(chain.final(["end", ballots, receipts]), ballots, receipts, malformed[0])


def _ballot_records(round_id: int, codes: dict[int, str], malformed: list[int]):
    """["ballot", ...] records in ballot-id order. A stored value that is not the
    canonical packing of answers adds one to ``malformed[0]`` and is sealed as its text."""
    for ballot_id, group_id, day, channel, packed in stream(
            sa.select(Ballot.id, Ballot.group_id, Ballot.day, Ballot.channel, Ballot.answers)
            .where(Ballot.round_id == round_id).order_by(ordered(Ballot.id))):
        code = codes.get(group_id, group_id)
        try:
            answers = unpack(packed)
        except Malformed:
            answers = None
        if answers is not None and is_canonical(packed, answers):
            mine = [[code, question, value, text] for question, value, text in answers]
        else:
            malformed[0] += 1
            mine = packed
        record = ["ballot", ballot_id, code, day.isoformat(), mine]
        yield record if channel == "phone" else [*record, channel]


def ordered(column):
    """Byte order on every engine (PostgreSQL would otherwise sort by its locale)."""
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


class SealError(RuntimeError):
    """The round's ballots and receipts disagree, or a ballot's stored answers are not
    canonically packed: it cannot be sealed."""


def seal(round_: Round) -> str:
    """Store the digest with the round (inside the closing transaction, after the result)."""
    digest, ballots, receipts, malformed = digest_of(round_)
    if ballots != receipts:
        raise SealError(f"round {round_.id}: {ballots} ballots but {receipts} receipts")
    if malformed:
        raise SealError(f"round {round_.id}: {malformed} ballot(s) whose stored answers are "
                        "not canonically packed")
    round_.digest = digest
    return digest
