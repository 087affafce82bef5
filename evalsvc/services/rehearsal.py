"""Rehearsals: run a round for practice, then purge its ballots in one step before the
live run. Purging re-issues every card (the practice cards stop working) and is audited."""
import secrets

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, PaperEntry, Receipt, Round, RoundState, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid
from evalsvc.services.rounds import issue_cards, require_manage


@writes
def purge(actor: User | None, round_: Round) -> int:
    """Delete a rehearsal's ballots, receipts and cards; the round becomes a live draft."""
    require_manage(actor, round_)
    # Wait for ballots being written (as closing does), then look again.
    db.session.execute(sa.select(Round.id).where(Round.id == round_.id).with_for_update())
    db.session.refresh(round_)
    if not round_.rehearsal:
        raise Invalid({"rehearsal": "只有演练测评可以清除答卷"})
    ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(
        Ballot.round_id == round_.id))
    for model in (Ballot, Receipt, PaperEntry, Card):
        db.session.execute(sa.delete(model).where(model.round_id == round_.id))
    round_.state, round_.opened_on, round_.closed_on = RoundState.DRAFT, None, None
    round_.layout_json = round_.result_json = round_.digest = round_.settings_json = None
    round_.passed, round_.verdict_status, round_.poster_used = None, None, 0
    round_.ballots_counted = round_.figures_json = None
    round_.verdict_reason, round_.receipts_published = "", False
    round_.rehearsal, round_.card_epoch = False, round_.card_epoch + 1
    if round_.poster_token:  # phones that practised on the poster must not look "done"
        round_.poster_token = secrets.token_urlsafe(9)
    db.session.flush()
    issue_cards([round_])
    audit.record(actor, "round.purge_rehearsal", round_, ballots=ballots)
    return ballots
