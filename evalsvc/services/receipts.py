"""Receipts: a respondent checks that their ballot was counted; a closed round's receipt
list can be published. A receipt never leads to a ballot."""
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Organisation, Receipt, Round, RoundState, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid
from evalsvc.services.rounds import require_manage


@dataclass(frozen=True)
class ReceiptStatus:
    """Which round counted a receipt, and where that round stands."""

    round_title: str
    organisation: str
    state: RoundState
    rehearsal: bool


def lookup(code: str) -> ReceiptStatus | None:
    """The round whose receipt list holds this code, or None."""
    row = db.session.execute(
        sa.select(Round.title, Organisation.name, Round.state, Round.rehearsal)
        .join(Receipt, Receipt.round_id == Round.id)
        .join(Organisation, Organisation.id == Round.organisation_id)
        .where(Receipt.code == code)).first()
    return ReceiptStatus(*row) if row else None


def published_list(round_id: int) -> tuple[Round, list[str]] | None:
    """A closed, published round and its receipt codes in sorted order."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.state is not RoundState.CLOSED or not round_.receipts_published:
        return None
    codes = db.session.scalars(sa.select(Receipt.code).where(Receipt.round_id == round_id)
                               .order_by(Receipt.code)).all()
    return round_, list(codes)


@writes
def publish(actor: User | None, round_: Round) -> None:
    """Make a closed round's receipt list public."""
    require_manage(actor, round_)
    if round_.state is not RoundState.CLOSED:
        raise Invalid({"state": "测评结束后才能公布回执码"})
    round_.receipts_published = True
    audit.record(actor, "round.publish_receipts", round_)
