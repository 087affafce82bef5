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
size is sealed (and verified, see ``services.verification``) in constant memory. Closing
reads that stream once (``Sealing``): each ballot decoded is hashed and handed to the tally,
whose stored result the chain then ends with. A stored
value that is not the canonical packing of its answers is counted (``Digest.malformed``)
and refused: two different stored values never seal alike.
"""
import hashlib
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from typing import NamedTuple

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Receipt, RespondentGroup, Round
from evalsvc.services.packed import (
    Malformed, canonical, canonical_text, is_canonical, stream, unpack,
)
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
        self.link(canonical(record))

    def link(self, encoded: bytes) -> None:
        """Link one more record, already in canonical form."""
        self.state = hashlib.sha256(self.state + encoded).digest()

    def final(self, record: list) -> str:
        """The hex digest after the last record."""
        return hashlib.sha256(self.state + canonical(record)).hexdigest()


class Digest(NamedTuple):
    """A digest computed from what is stored, with what it counted."""

    digest: str
    ballots: int
    receipts: int
    malformed: int = 0  # ballots whose stored answers are not canonically packed


class Sealing:
    """One pass of the seal over what is stored: the records before the ballots (at once),
    then the ballots in id order (``each_ballot``), then the receipts and the stored
    result (``finish``). Each ballot is read and decoded once, and what the pass decoded
    is handed on, so the close counts its result from the same pass."""

    def __init__(self, round_: Round):
        self.round_ = round_
        group_rows = db.session.execute(
            sa.select(RespondentGroup.id, RespondentGroup.code, RespondentGroup.card_count)
            .where(RespondentGroup.round_id == round_.id)).all()
        self.codes = {group_id: code.value for group_id, code, _cards in group_rows}
        self.chain = _Chain([VERSION, round_.id, round_.kind, round_.title])
        self.chain.add(["settings", asdict(settings_for(round_))])
        self.chain.add(["groups", sorted([code.value, cards]
                                         for _id, code, cards in group_rows)])
        self.chain.add(["layout",
                        json.loads(round_.layout_json) if round_.layout_json else None])
        self.ballots = self.malformed = 0
        self.linked = False  # every ballot: a digest over part of them would seal a part

    def each_ballot(self) -> Iterator[tuple[int, list]]:
        """Link each ballot's record, in ballot-id order, and yield its (group id, decoded
        answers). A stored value that is not the canonical packing of answers is sealed as
        its text, counted in ``malformed`` and not yielded."""
        codes, chain = self.codes, self.chain
        for ballot_id, group_id, day, channel, packed in stream(
                sa.select(Ballot.id, Ballot.group_id, Ballot.day, Ballot.channel,
                          Ballot.answers)
                .where(Ballot.round_id == self.round_.id).order_by(ordered(Ballot.id))):
            code = codes.get(group_id, group_id)
            try:
                answers = unpack(packed)
            except Malformed:
                answers = None
            if answers is not None and is_canonical(packed, answers):
                mine = _with_code(packed, answers, code)
            else:
                self.malformed, answers = self.malformed + 1, None
                mine = canonical_text(packed)  # sealed as its text
            head = canonical_text(["ballot", ballot_id, code, day.isoformat()])[:-1]
            tail = "]" if channel == "phone" else f",{canonical_text(channel)}]"
            chain.link(f"{head},{mine}{tail}".encode())
            self.ballots += 1
            if answers is not None:
                yield group_id, answers
        self.linked = True

    def finish(self) -> Digest:
        """The receipts and the stored result linked, the digest with what it counted."""
        if not self.linked:
            raise RuntimeError(f"round {self.round_.id}: sealing before every ballot is linked")
        receipts = 0
        for (code,) in stream(sa.select(Receipt.code).where(Receipt.round_id == self.round_.id)
                               .order_by(ordered(Receipt.code))):
            self.chain.add(["receipt", code])
            receipts += 1
        self.chain.add(["result", normal_result(stored_result(self.round_))])
        return Digest(self.chain.final(["end", self.ballots, receipts]), self.ballots,
                      receipts, self.malformed)


def _with_code(packed: str, answers: list, code: str | int) -> str:
    """The canonical form of [[group code, question, value, text], ...] from ``packed``,
    the canonical form of ``answers`` (``is_canonical``), without encoding them again: the
    code goes after each answer's opening bracket. Between two answers ``packed`` reads
    '],['; when it reads so nowhere else (no free text holds it), those are the places."""
    if not answers:
        return "[]"
    if packed.count("],[") != len(answers) - 1:
        return canonical_text([[code, *answer] for answer in answers])
    opening = f"[{canonical_text(code)},"
    return "[" + opening + packed[2:].replace("],[", "]," + opening)


def digest_of(round_: Round) -> Digest:
    """The digest of what is stored now, with the ballots and receipts it covers."""
    sealing = Sealing(round_)
    deque(sealing.each_ballot(), maxlen=0)  # linked, nothing kept
    return sealing.finish()


def ordered(column):
    """Byte order on every engine (PostgreSQL would otherwise sort by its locale)."""
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


class SealError(RuntimeError):
    """The round's ballots and receipts disagree, or a ballot's stored answers are not
    canonically packed: it cannot be sealed."""


def seal(round_: Round, sealing: Sealing | None = None) -> str:
    """Store the digest with the round (inside the closing transaction, after the result).
    ``sealing``: the close's pass, its ballots already linked (and counted into the
    result); without it, the digest of what is stored now."""
    digest, ballots, receipts, malformed = sealing.finish() if sealing else digest_of(round_)
    if ballots != receipts:
        raise SealError(f"round {round_.id}: {ballots} ballots but {receipts} receipts")
    if malformed:
        raise SealError(f"round {round_.id}: {malformed} ballot(s) whose stored answers are "
                        "not canonically packed")
    round_.digest = digest
    return digest
