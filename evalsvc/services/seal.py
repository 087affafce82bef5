"""Sealing a closed round, and verifying the seal by recounting.

The digest is a SHA-256 hash chain over a canonical form of the round's ballots and its
receipt list:

    h0 = SHA-256("evalsvc-seal-v1|round|<round id>")
    for each ballot, in ballot-id order:
        h = SHA-256(h || "ballot|<id>|<group code>|<day>|" || answers)
        where answers are "<group code>=<question>=<value>=<text>" joined by "|", sorted
    for each receipt code, sorted:
        h = SHA-256(h || "receipt|<code>")
    digest = hex(SHA-256(h || "end|<ballots>|<receipts>"))

Anyone with read access to the tables can recompute it (``evalsvc verify ID``).
"""
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Answer, Ballot, Receipt, RespondentGroup, Round, RoundState
from evalsvc.services import audit
from evalsvc.services.results import compute
from evalsvc.tally import RoundResult

VERSION = "evalsvc-seal-v1"


def digest_of(round_id: int) -> tuple[str, int, int]:
    """(digest, ballots, receipts) computed from what is stored now.

    Ballots and answers are read as two streams in ballot-id order and merged, so a round
    of any size is sealed in constant memory.
    """
    codes = dict(db.session.execute(
        sa.select(RespondentGroup.id, RespondentGroup.code)
        .where(RespondentGroup.round_id == round_id)).all())

    def group_of(group_id: int) -> str:
        return getattr(codes.get(group_id), "value", str(group_id))

    answers = _stream(sa.select(Answer.ballot_id, Answer.group_id, Answer.question,
                                Answer.value, Answer.text)
                      .where(Answer.round_id == round_id).order_by(_ordered(Answer.ballot_id)))
    pending = next(answers, None)
    chain = hashlib.sha256(f"{VERSION}|round|{round_id}".encode()).digest()
    ballots = 0
    for ballot_id, group_id, day in _stream(
            sa.select(Ballot.id, Ballot.group_id, Ballot.day)
            .where(Ballot.round_id == round_id).order_by(_ordered(Ballot.id))):
        mine = []
        while pending is not None and pending.ballot_id <= ballot_id:
            if pending.ballot_id == ballot_id:  # answers of no ballot are skipped
                mine.append(f"{group_of(pending.group_id)}={pending.question}="
                            f"{pending.value}={pending.text or ''}")
            pending = next(answers, None)
        record = f"ballot|{ballot_id}|{group_of(group_id)}|{day.isoformat()}|" + \
            "|".join(sorted(mine))
        chain = hashlib.sha256(chain + record.encode()).digest()
        ballots += 1
    receipts = 0
    for (code,) in db.session.execute(sa.select(Receipt.code).where(
            Receipt.round_id == round_id).order_by(_ordered(Receipt.code))):
        chain = hashlib.sha256(chain + f"receipt|{code}".encode()).digest()
        receipts += 1
    final = hashlib.sha256(chain + f"end|{ballots}|{receipts}".encode()).hexdigest()
    return final, ballots, receipts


def _ordered(column):
    """Byte order on every engine (PostgreSQL would otherwise sort by its locale)."""
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


def _stream(query):
    """Rows in batches, not all at once."""
    return iter(db.session.execute(query.execution_options(yield_per=2000)))


class SealError(RuntimeError):
    """The round's receipts and ballots disagree in number: it cannot be sealed."""


def seal(round_: Round) -> str:
    """Store the digest with the round (inside the closing transaction)."""
    digest, ballots, receipts = digest_of(round_.id)
    if ballots != receipts:
        raise SealError(f"round {round_.id}: {ballots} ballots but {receipts} receipts")
    round_.digest = digest
    return digest


@dataclass(frozen=True)
class Verification:
    """What a recount found: ``ok`` when the digest and every count match."""

    round_id: int
    ok: bool
    differences: list[str]
    digest: str | None
    recomputed: str | None

    def report(self) -> str:
        """One line per finding, naming the round."""
        if self.ok:
            return f"round {self.round_id}: OK — digest {self.digest} and the recount match"
        return "\n".join(f"round {self.round_id}: {d}" for d in self.differences)


def verify(round_: Round) -> Verification:
    """Recount from the stored ballots and recompute the digest; name what differs."""
    if round_.state is not RoundState.CLOSED or not round_.digest:
        return Verification(round_.id, False, ["not closed and sealed"], round_.digest, None)
    digest, ballots, receipts = digest_of(round_.id)
    differences = []
    if digest != round_.digest:
        differences.append(f"digest differs: sealed {round_.digest}, recomputed {digest}")
    if ballots != receipts:
        differences.append(f"{ballots} ballots but {receipts} receipts")
    stored = RoundResult.from_data(json.loads(round_.result_json))
    differences += _count_differences(stored, compute(round_))
    return Verification(round_.id, not differences, differences, round_.digest, digest)


def _count_differences(stored: RoundResult, recount: RoundResult) -> list[str]:
    found = []
    if stored.ballots != recount.ballots:
        found.append(f"ballots: sealed {stored.ballots}, recounted {recount.ballots}")
    found += _option_differences("", stored.items, recount.items)
    for old, new in zip(stored.groups, recount.groups):
        if old.ballots != new.ballots:
            found.append(f"group {old.code}: sealed {old.ballots} ballots, "
                         f"recounted {new.ballots}")
        found += _option_differences(f"group {old.code} ", old.items, new.items)
    for old, new in zip(stored.members, recount.members):
        if old.counts != new.counts:
            found.append(f"member {old.name}: sealed {old.counts}, recounted {new.counts}")
    for key in set(stored.comments) | set(recount.comments):
        if sorted(stored.comments.get(key, [])) != sorted(recount.comments.get(key, [])):
            found.append(f"free text {key!r} differs")
    return found


def _option_differences(where: str, sealed, recounted) -> list[str]:
    """One line per option whose count changed, items paired in order."""
    return [f"{where}item {old.key!r} option {a.value!r}: sealed {a.count}, "
            f"recounted {b.count}"
            for old, new in zip(sealed, recounted)
            for a, b in zip(old.options, new.options) if a.count != b.count]


@writes
def verify_and_record(actor, round_: Round) -> Verification:
    """Verify, and write who checked and what they found to the audit log."""
    result = verify(round_)
    audit.record(actor, "round.verify", round_, ok=result.ok, differences=result.differences)
    return result
