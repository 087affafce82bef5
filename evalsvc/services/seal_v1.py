"""The first seal (``evalsvc-seal-v1``), kept only to verify rounds sealed with it.

It hashed the ballots and receipts, not the layout, the member list or the stored result,
and its text encoding was ambiguous (a free text could absorb another answer). Rounds
closed since v2 are sealed with ``services.seal``; see the README.
"""
import hashlib

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Answer, Ballot, Receipt, RespondentGroup
from evalsvc.services.seal import ordered

VERSION = "evalsvc-seal-v1"


def digest_of(round_id: int) -> tuple[str, int, int]:
    """(digest, ballots, receipts) as the v1 seal computed them."""
    codes = dict(db.session.execute(
        sa.select(RespondentGroup.id, RespondentGroup.code)
        .where(RespondentGroup.round_id == round_id)).all())

    def group_of(group_id: int) -> str:
        return getattr(codes.get(group_id), "value", str(group_id))

    answers = iter(db.session.execute(
        sa.select(Answer.ballot_id, Answer.group_id, Answer.question, Answer.value, Answer.text)
        .where(Answer.round_id == round_id).order_by(ordered(Answer.ballot_id))
        .execution_options(yield_per=2000)))
    pending = next(answers, None)
    chain = hashlib.sha256(f"{VERSION}|round|{round_id}".encode()).digest()
    ballots = 0
    for ballot_id, group_id, day in db.session.execute(
            sa.select(Ballot.id, Ballot.group_id, Ballot.day).where(Ballot.round_id == round_id)
            .order_by(ordered(Ballot.id)).execution_options(yield_per=2000)):
        mine = []
        while pending is not None and pending.ballot_id <= ballot_id:
            if pending.ballot_id == ballot_id:
                mine.append(f"{group_of(pending.group_id)}={pending.question}="
                            f"{pending.value}={pending.text or ''}")
            pending = next(answers, None)
        record = f"ballot|{ballot_id}|{group_of(group_id)}|{day.isoformat()}|" + \
            "|".join(sorted(mine))
        chain = hashlib.sha256(chain + record.encode()).digest()
        ballots += 1
    receipts = 0
    for (code,) in db.session.execute(sa.select(Receipt.code).where(
            Receipt.round_id == round_id).order_by(ordered(Receipt.code))):
        chain = hashlib.sha256(chain + f"receipt|{code}".encode()).digest()
        receipts += 1
    return hashlib.sha256(chain + f"end|{ballots}|{receipts}".encode()).hexdigest(), \
        ballots, receipts
