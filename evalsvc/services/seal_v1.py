"""The first seal (``evalsvc-seal-v1``), kept only to verify rounds sealed with it.

It hashed the ballots and receipts, not the layout, the member list or the stored result,
and its text encoding was ambiguous (a free text could absorb another answer). Rounds
closed since v2 are sealed with ``services.seal``; see the README.
"""
import hashlib

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Receipt, RespondentGroup
from evalsvc.services.packed import Malformed, is_canonical, unpack
from evalsvc.services.seal import Digest, ordered

VERSION = "evalsvc-seal-v1"


def digest_of(round_id: int) -> Digest:
    """The digest as the v1 seal computed it, with the ballots and receipts it covers."""
    codes = dict(db.session.execute(
        sa.select(RespondentGroup.id, RespondentGroup.code)
        .where(RespondentGroup.round_id == round_id)).all())

    def group_of(group_id: int) -> str:
        return getattr(codes.get(group_id), "value", str(group_id))

    chain = hashlib.sha256(f"{VERSION}|round|{round_id}".encode()).digest()
    ballots = malformed = 0
    for ballot_id, group_id, day, packed in db.session.execute(
            sa.select(Ballot.id, Ballot.group_id, Ballot.day, Ballot.answers)
            .where(Ballot.round_id == round_id)
            .order_by(ordered(Ballot.id)).execution_options(yield_per=2000)):
        try:
            answers = unpack(packed)
        except Malformed:
            answers = None
        if answers is not None and is_canonical(packed, answers):
            mine = [f"{group_of(group_id)}={question}={value}={text or ''}"
                    for question, value, text in answers]
        else:
            malformed, mine = malformed + 1, [packed]
        record = f"ballot|{ballot_id}|{group_of(group_id)}|{day.isoformat()}|" + \
            "|".join(sorted(mine))
        chain = hashlib.sha256(chain + record.encode()).digest()
        ballots += 1
    receipts = 0
    for (code,) in db.session.execute(sa.select(Receipt.code).where(
            Receipt.round_id == round_id).order_by(ordered(Receipt.code))):
        chain = hashlib.sha256(chain + f"receipt|{code}".encode()).digest()
        receipts += 1
    return Digest(hashlib.sha256(chain + f"end|{ballots}|{receipts}".encode()).hexdigest(),
                  ballots, receipts, malformed)
