"""Irreversible actions ask first: closing a round and purging a rehearsal show a page naming
the round and its ballots, and the server acts only on a post carrying that count."""
from evalsvc.extensions import db
from evalsvc.models import RoundState
from evalsvc.services.rounds import ballot_count
from tests.helpers import ballot_for, login, new_round


def _cast(client, round_, cards):
    for code in cards:
        client.post(f"/C/{code}", data=ballot_for(round_, "satisfied"))


def test_closing_asks_first_naming_the_round_and_its_ballots(client, demo):
    round_, cards = new_round()
    _cast(client, round_, cards[:4])
    login(client, "secretary")
    page = client.post(f"/rounds/{round_.id}/close")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "确认结束测评" in html
    assert round_.title in html and "已收回答卷 <strong>4</strong> 份" in html
    db.session.refresh(round_)
    assert round_.state is RoundState.OPEN  # one click closed nothing
    # A confirmation for another count (a ballot arrived meanwhile, or a forged post) asks
    # again with the current count.
    _cast(client, round_, cards[4:5])
    html = client.post(f"/rounds/{round_.id}/close", data={"confirmed": "4"}).get_data(
        as_text=True)
    assert "已收回答卷 <strong>5</strong> 份" in html
    db.session.refresh(round_)
    assert round_.state is RoundState.OPEN
    response = client.post(f"/rounds/{round_.id}/close", data={"confirmed": "5"},
                           follow_redirects=True)
    assert f"已结束测评“{round_.title}”，共收回 5 份" in response.get_data(as_text=True)
    db.session.refresh(round_)
    assert round_.state is RoundState.CLOSED


def test_purging_a_rehearsal_asks_first_and_says_what_was_removed(client, demo):
    round_, cards = new_round(rehearsal=True)
    _cast(client, round_, cards[:3])
    login(client, "office")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "清除演练答卷" in html
    html = client.post(f"/rounds/{round_.id}/purge").get_data(as_text=True)
    assert "确认清除演练数据" in html and round_.title in html and "<strong>3</strong>" in html
    assert ballot_count(round_.id) == 3
    response = client.post(f"/rounds/{round_.id}/purge", data={"confirmed": "3"},
                           follow_redirects=True)
    assert f"已清除演练“{round_.title}”的 3 份答卷" in response.get_data(as_text=True)
    assert ballot_count(round_.id) == 0


def test_only_a_step_that_can_happen_asks_for_confirmation(client, demo):
    """A closed round is not asked to close again, nor a live round to be purged as a
    rehearsal: the refusal says why, and nothing changes."""
    round_, cards = new_round()
    _cast(client, round_, cards[:2])
    login(client, "office")
    html = client.post(f"/rounds/{round_.id}/purge", follow_redirects=True).get_data(
        as_text=True)
    assert "确认清除演练数据" not in html and "只有演练测评可以清除答卷" in html
    assert ballot_count(round_.id) == 2
    client.post(f"/rounds/{round_.id}/close", data={"confirmed": "2"})
    html = client.post(f"/rounds/{round_.id}/close", follow_redirects=True).get_data(
        as_text=True)
    assert "确认结束测评" not in html and "只有进行中的测评可以结束" in html
