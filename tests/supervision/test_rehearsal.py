"""Rehearsal rounds: a purge removes the rehearsal's ballots only, and is audited."""
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Ballot, Card, RoundState
from evalsvc.services import ballots, rehearsal, rounds
from evalsvc.services.errors import Invalid
from tests.helpers import SATISFACTION, counts, new_round

ROWS = [(k, v, "") for k, v in SATISFACTION.items()]


def test_purge_removes_rehearsal_ballots_only_and_reissues_cards(runner, demo):
    live, live_cards = new_round()
    practice, practice_cards = new_round(org_code="XW0102", rehearsal=True)
    for code in live_cards[:2]:
        ballots.cast_card_ballot(live.id, code, secrets.token_urlsafe(16), ROWS)
    for code in practice_cards[:3]:
        ballots.cast_card_ballot(practice.id, code, secrets.token_urlsafe(16), ROWS)
    result = runner.invoke(args=["round", "purge", str(practice.id)])
    assert result.exit_code == 0 and "purged 3" in result.output
    db.session.expire_all()
    assert counts(live.id) == (2, 2)
    assert counts(practice.id) == (0, 0)
    assert practice.state is RoundState.DRAFT and not practice.rehearsal
    assert practice.digest is None and not practice.receipts_published
    new_cards = [c for _, c in rounds.card_codes(practice)]
    assert not set(new_cards) & set(practice_cards)  # the practice cards no longer work
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card).where(
        Card.round_id == practice.id, Card.spent.is_(True))) == 0
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "round.purge_rehearsal"))
    assert entry.object_id == str(practice.id) and '"ballots": 3' in entry.detail


def test_a_live_round_cannot_be_purged(app, demo):
    live, cards = new_round()
    ballots.cast_card_ballot(live.id, cards[0], secrets.token_urlsafe(16), ROWS)
    with pytest.raises(Invalid):
        rehearsal.purge(None, live)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 1
