"""Paper ballots: a sheet counts once two different staff key in the same answers."""
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, GroupCode, PaperEntry, Role, Round
from evalsvc.services import ballots, closing, paper, printing, results, users, verification
from tests.helpers import SATISFACTION, counts as stored_counts, new_round, stored_answers

ROWS = [(k, v, "") for k, v in SATISFACTION.items()]
OTHER = [(k, "dissatisfied" if k == "quality" else v, "") for k, v in SATISFACTION.items()]


def staff(name: str, role: Role = Role.OFFICE):
    """A staff account of the demo county."""
    return users.create_user(None, users.UserData(name, role, name), "long-enough-pass-1")


@pytest.fixture
def three(demo):
    """Three office staff."""
    return staff("keyer1"), staff("keyer2"), staff("keyer3")


def counts(round_id: int) -> tuple[int, int]:
    """(ballots, receipts) as committed now (the test's own snapshot ends first)."""
    db.session.commit()
    return stored_counts(round_id)


def _spent(round_id: int) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Card).where(
        Card.round_id == round_id, Card.spent))


def _raw_pending() -> list[tuple]:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT * FROM paper_entries").all()


def test_two_agreeing_entries_by_different_staff_store_one_paper_ballot(three):
    a, b, _ = three
    round_, codes = new_round()
    assert paper.enter_sheet(a, round_, codes[0], ROWS) == paper.WAITING
    assert counts(round_.id) == (0, 0) and _spent(round_.id) == 0
    assert len(_raw_pending()) == 1
    assert paper.enter_sheet(b, round_, codes[0], ROWS) == paper.COUNTED
    db.session.expire_all()
    assert counts(round_.id) == (1, 1) and _spent(round_.id) == 1
    assert db.session.scalar(sa.select(Ballot.channel)) == "paper"
    assert _raw_pending() == []  # held key-ins gone in the same transaction
    with pytest.raises(paper.PaperRefused, match="已经使用过"):  # a third key-in
        paper.enter_sheet(three[2], round_, codes[0], ROWS)
    assert counts(round_.id) == (1, 1)


def test_the_same_person_twice_does_not_count(three):
    a, _, _ = three
    round_, codes = new_round()
    paper.enter_sheet(a, round_, codes[0], ROWS)
    with pytest.raises(paper.PaperRefused, match="另一位工作人员"):
        paper.enter_sheet(a, round_, codes[0], ROWS)
    assert counts(round_.id) == (0, 0) and _spent(round_.id) == 0
    assert len(_raw_pending()) == 1


def test_disagreement_is_listed_never_counted_and_a_third_look_resolves_it(three):
    a, b, c = three
    round_, codes = new_round()
    paper.enter_sheet(a, round_, codes[0], ROWS)
    assert paper.enter_sheet(b, round_, codes[0], OTHER) == paper.DISPUTED
    assert counts(round_.id) == (0, 0) and _spent(round_.id) == 0
    disputes = paper.disputed(round_, {"quality": "提高党员素质"})
    assert [(d.mark, d.entries, d.questions) for d in disputes] == [
        (codes[0][-4:], 2, ["提高党员素质"])]
    assert paper.enter_sheet(c, round_, codes[0], OTHER) == paper.COUNTED
    db.session.expire_all()
    assert counts(round_.id) == (1, 1) and paper.disputed(round_, {}) == []
    assert _raw_pending() == []
    answer = next(v for _b, _g, q, v, _t in stored_answers(round_.id) if q == "quality")
    assert answer == "dissatisfied"  # the agreed answers, not the first key-in


def test_entry_for_a_card_spent_by_phone_is_refused_and_nothing_stored(three):
    a, _, _ = three
    round_, codes = new_round()
    ballots.cast_card_ballot(round_.id, codes[0], secrets.token_urlsafe(16), ROWS)
    with pytest.raises(paper.PaperRefused, match="已通过手机提交"):
        paper.enter_sheet(a, round_, codes[0], ROWS)
    assert counts(round_.id) == (1, 1) and _raw_pending() == []


def test_a_card_spent_by_phone_between_two_key_ins_stops_the_second(three):
    a, b, _ = three
    round_, codes = new_round()
    paper.enter_sheet(a, round_, codes[0], ROWS)
    ballots.cast_card_ballot(round_.id, codes[0], secrets.token_urlsafe(16), ROWS)
    with pytest.raises(paper.PaperRefused, match="已经使用过"):
        paper.enter_sheet(b, round_, codes[0], ROWS)
    assert counts(round_.id) == (1, 1)


def test_entry_for_a_closed_round_is_refused_and_pending_key_ins_are_dropped(three):
    a, b, _ = three
    round_, codes = new_round()
    paper.enter_sheet(a, round_, codes[0], ROWS)
    closing.close_round(None, round_)
    assert _raw_pending() == []  # never agreed: gone with the close, never counted
    with pytest.raises(paper.PaperRefused, match="已经结束"):
        paper.enter_sheet(b, round_, codes[0], ROWS)
    assert counts(round_.id) == (0, 0)


def test_unknown_code_and_another_rounds_card_are_refused(three):
    a, _, _ = three
    round_, _codes = new_round()
    _other, other_codes = new_round()
    with pytest.raises(paper.PaperRefused, match="不属于本次测评"):
        paper.enter_sheet(a, round_, other_codes[0], ROWS)
    with pytest.raises(paper.PaperRefused, match="没有找到"):
        paper.enter_sheet(a, round_, "A" * 26, ROWS)
    assert _raw_pending() == []


def test_secretary_enters_only_where_printing_is_delegated(demo):
    from evalsvc.services.errors import Forbidden

    secretary = db.session.scalar(sa.select(users.User).where(
        users.User.username == "secretary"))
    round_, codes = new_round()
    with pytest.raises(Forbidden):
        paper.enter_sheet(secretary, round_, codes[0], ROWS)
    printing.set_delegation(None, round_, True)
    assert paper.enter_sheet(secretary, round_, codes[0], ROWS) == paper.WAITING


def _cast_mixed(three, phone: int, sheets: int):
    a, b, _ = three
    round_, codes = new_round(groups={GroupCode.MASSES: phone + sheets})
    for code in codes[:phone]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), ROWS)
    for code in codes[phone:]:
        paper.enter_sheet(a, round_, code, ROWS)
        paper.enter_sheet(b, round_, code, ROWS)
    closing.close_round(None, round_)
    return db.session.get(Round, round_.id)


def test_channels_are_counted_in_one_tally_and_shown_apart(three):
    round_ = _cast_mixed(three, phone=6, sheets=5)
    assert results.result_of(round_).ballots == 11
    assert results.channel_counts(round_) == [("phone", "电子", 6), ("paper", "纸质", 5)]
    document = results.tally_document(round_, results.result_of(round_))
    assert [c["ballots"] for c in document["channels"]] == [6, 5]


def test_a_channel_under_five_is_suppressed_with_its_complement(three):
    round_ = _cast_mixed(three, phone=6, sheets=2)
    assert results.channel_counts(round_) == [("phone", "电子", None), ("paper", "纸质", None)]


def test_the_seal_covers_the_channel(three):
    round_ = _cast_mixed(three, phone=5, sheets=5)
    assert verification.verify(round_).ok
    db.session.commit()
    with db.engine.begin() as conn:  # an insider turns one paper ballot into a phone one
        conn.execute(sa.update(Ballot).where(Ballot.id == sa.select(Ballot.id).where(
            Ballot.channel == "paper").limit(1).scalar_subquery()).values(channel="phone"))
    db.session.commit()
    found = verification.verify(db.session.get(Round, round_.id))
    assert not found.ok and any("digest differs" in d for d in found.differences)


def test_held_key_ins_name_neither_card_nor_staff(three):
    a, _, _ = three
    round_, codes = new_round()
    paper.enter_sheet(a, round_, codes[0], ROWS)
    (row,) = _raw_pending()
    stored = " ".join(str(v) for v in row)
    assert codes[0] not in stored
    assert ballots.codes.hash_code(codes[0]) not in stored
    assert a.username not in stored
    paper.enter_sheet(a, round_, codes[1], ROWS)  # one person's key-ins do not pair up
    assert len(set(db.session.scalars(sa.select(PaperEntry.keyer)))) == 2


def test_purging_a_rehearsal_drops_its_held_key_ins(three):
    from evalsvc.services import rehearsal

    a, _, _ = three
    round_, codes = new_round(rehearsal=True)
    paper.enter_sheet(a, round_, codes[0], ROWS)
    rehearsal.purge(None, round_)
    assert _raw_pending() == []
