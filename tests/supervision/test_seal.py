"""Sealed rounds: a clean round verifies; any edit, deletion or addition is detected."""
import json
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, GroupCode, Receipt, RespondentGroup
from evalsvc.services import ballots, closing, rounds
from evalsvc.services.packed import Malformed
from evalsvc.services.seal import digest_of
from tests.helpers import SATISFACTION, new_round, rewrite_answers


def _closed_round(n=8):
    round_, _ = new_round(groups={GroupCode.MASSES: 10, GroupCode.MEMBER: 5})
    cards = [code for group, code in rounds.card_codes(round_) if group.code == GroupCode.MASSES]
    for code in cards[:n]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16),
                                 [(k, v, "") for k, v in SATISFACTION.items()])
    closing.close_round(None, round_)
    return round_


def test_closing_seals_with_a_digest_that_verifies(runner, demo):
    round_ = _closed_round()
    assert len(round_.digest) == 64
    assert digest_of(round_) == (round_.digest, 8, 8, 0)
    result = runner.invoke(args=["verify", str(round_.id)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and round_.digest in result.output


def _tamper(kind: str, round_id: int) -> None:
    """Change the stored ballots directly, as someone with database access could."""
    db.session.commit()
    with db.engine.begin() as conn:
        first = conn.execute(sa.select(Ballot).where(Ballot.round_id == round_id)
                             .order_by(Ballot.id)).first()
        if kind == "edit":
            rewrite_answers(conn, first.id, lambda answers: [
                [q, "dissatisfied" if q == "overall" else v, t] for q, v, t in answers])
        elif kind == "regroup":
            other = conn.execute(sa.select(RespondentGroup.id).where(
                RespondentGroup.round_id == round_id,
                RespondentGroup.code != GroupCode.MASSES)).scalar()
            conn.execute(sa.update(Ballot).where(Ballot.round_id == round_id)
                         .values(group_id=other))
        elif kind == "delete":
            conn.execute(sa.delete(Ballot).where(Ballot.id == first.id))
        elif kind == "add":
            conn.execute(sa.insert(Ballot).values(
                id=secrets.token_hex(16), round_id=round_id, group_id=first.group_id,
                day=first.day, answers='[["overall","satisfied",null]]'))
            conn.execute(sa.insert(Receipt).values(code="FORGEDFORGED", round_id=round_id))
        elif kind == "reorder":  # the same answers, stored in another order
            rewrite_answers(conn, first.id, lambda answers: json.dumps(answers[::-1]))


@pytest.mark.parametrize("kind, named", [
    ("edit", "result.items['overall'].options['dissatisfied'].count: stored 0, recounted 1"),
    ("regroup", "result.groups['masses'].ballots: stored 8, recounted 0"),
    ("delete", "result.ballots: stored 8, recounted 7"),
    ("add", "result.ballots: stored 8, recounted 9"),
    ("reorder", "1 ballot(s) whose stored answers are not canonically packed"),
])
def test_tampering_with_one_ballot_fails_verification_and_names_the_round(runner, demo, kind,
                                                                           named):
    round_ = _closed_round()
    db.session.commit()  # end this test's read snapshot before someone edits the tables
    _tamper(kind, round_.id)
    db.session.commit()
    result = runner.invoke(args=["verify", str(round_.id)])
    assert result.exit_code == 1
    assert f"round {round_.id}: digest differs" in result.output
    assert named in result.output


def test_verify_refuses_a_round_that_is_not_sealed(runner, demo):
    round_, _ = new_round()
    result = runner.invoke(args=["verify", str(round_.id)])
    assert result.exit_code == 1 and "not closed and sealed" in result.output
    assert runner.invoke(args=["verify", "999"]).exit_code != 0


def test_supervisor_verifies_from_the_web_and_it_is_audited(client, demo):
    from evalsvc.models import AuditEntry
    from tests.helpers import login

    round_ = _closed_round()
    login(client, "supervisor")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert round_.digest in html
    page = client.post(f"/rounds/{round_.id}/verify").get_data(as_text=True)
    assert "核验通过" in page
    _tamper("edit", round_.id)
    page = client.post(f"/rounds/{round_.id}/verify").get_data(as_text=True)
    assert "核验未通过" in page and "digest differs" in page
    actions = db.session.scalars(sa.select(AuditEntry.actor).where(
        AuditEntry.action == "round.verify")).all()
    assert actions == ["supervisor", "supervisor"]


@pytest.mark.parametrize("answer", [
    ("quality", None, None),  # a value that is not text
    ("quality", "satisfied", 5),  # a free text that is not text
    (7, "satisfied", None),  # a question that is not text
])
def test_answers_the_seal_would_refuse_are_never_stored(app, demo, answer):
    """The packer refuses whatever the seal would later count as malformed: a ballot
    stored that way (say, from a kind plugin's own validation) would make its round
    impossible to close. The cast fails, the card stays unspent, and the round closes."""
    round_, cards = new_round()
    with pytest.raises(Malformed):
        ballots.cast_card_ballot(round_.id, cards[0], secrets.token_urlsafe(16),
                                 [("overall", "satisfied", ""), answer])
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).where(
        Ballot.round_id == round_.id)) == 0
    ballots.cast_card_ballot(round_.id, cards[0], secrets.token_urlsafe(16),
                             [(q, v, "") for q, v in SATISFACTION.items()])
    closing.close_round(None, round_)
    assert round_.digest
