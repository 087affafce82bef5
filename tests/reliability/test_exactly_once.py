"""Exactly-once ballots against a real gunicorn process: races, crowds and a hard crash.

Every request goes to 127.0.0.1 over real sockets; the database is read directly
afterwards, so what the respondent saw is checked against what was stored.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.traffic import (
    CHOICE_ITEMS, SPENT, Reply, assert_log_clean, ballot, card_code, card_path,
    describe, new_round, post, post_together)

pytestmark = pytest.mark.server


@pytest.fixture
def stored(live_server, stored_in):
    """``Stored`` views on the live server's database."""
    return lambda round_id: stored_in(live_server, round_id)


# -- one card, many pages at once -----------------------------------------------------


@pytest.mark.parametrize("pages", [50, 200])
def test_one_card_submitted_from_many_pages_at_once_counts_once(live_server, stored, pages):
    round_id, urls = new_round(live_server, cards=3)
    url = urls[0]
    requests = [(live_server, card_path(url), ballot(advice=f"意见 {n}"))
                for n in range(pages)]

    replies = post_together(requests)

    assert all(r.error is None for r in replies), describe(replies)
    assert not [r for r in replies if r.status >= 500], describe(replies)
    winners = [i for i, r in enumerate(replies) if r.thanked]
    assert len(winners) == 1, describe(replies)
    losers = [r for i, r in enumerate(replies) if i != winners[0]]
    assert all(r.status == 409 and SPENT in r.body for r in losers), describe(losers)

    db = stored(round_id)
    assert db.ballots() == 1
    assert db.receipts() == {replies[winners[0]].receipt}
    assert db.card_spent(card_code(url))
    assert db.spent_cards() == 1  # the round's other cards are untouched
    # The stored answers are the ones of the page that was thanked, not a mixture.
    sent = requests[winners[0]][2]
    expected = {(k, sent[k], "") for k in CHOICE_ITEMS} | {("advice", "", sent["advice"])}
    assert db.answers() == expected
    assert_log_clean(live_server)


# -- many cards at once ---------------------------------------------------------------


def test_five_hundred_cards_at_once_are_all_counted(live_server, stored):
    round_id, urls = new_round(live_server, cards=500)

    with ThreadPoolExecutor(max_workers=64) as pool:
        replies = list(pool.map(lambda url: post(live_server, card_path(url), ballot()), urls))

    assert all(r.error is None for r in replies), describe(replies)
    assert all(r.thanked for r in replies), describe(replies)
    shown = {r.receipt for r in replies}
    assert len(shown) == 500
    db = stored(round_id)
    assert db.ballots() == 500
    assert db.receipts() == shown
    assert db.spent_cards() == 500
    assert db.ballots_without_full_answers(len(CHOICE_ITEMS)) == 0
    assert_log_clean(live_server)


# -- the same page twice (double-click) -----------------------------------------------


def test_double_click_gets_the_same_receipt_and_counts_once(live_server, stored):
    round_id, urls = new_round(live_server, cards=10)
    pages = [(live_server, card_path(url), ballot()) for url in urls]
    requests = [page for page in pages for _click in range(2)]

    replies = post_together(requests)

    assert all(r.error is None for r in replies), describe(replies)
    assert all(r.thanked for r in replies), describe(replies)
    for n in range(len(pages)):
        first, second = replies[2 * n], replies[2 * n + 1]
        assert first.receipt == second.receipt
    shown = {r.receipt for r in replies}
    assert len(shown) == len(pages)
    db = stored(round_id)
    assert db.ballots() == len(pages)
    assert db.receipts() == shown
    assert db.spent_cards() == len(pages)
    assert_log_clean(live_server)


# -- a crash in the middle of a crowd -------------------------------------------------


CRASH_CARDS = 1500
CRASH_CLIENTS = 16
CRASH_FIRING = 1.5  # seconds of traffic before the crash
CRASH_DEADLINE = 60  # seconds: no client loop runs longer than this


def test_no_acknowledged_ballot_is_lost_in_a_crash(live_server, stored):
    round_id, urls = new_round(live_server, cards=CRASH_CARDS)
    pages = {url: ballot(advice="整改要落到实处") for url in urls}
    queue = list(urls)
    lock = threading.Lock()
    killing, crashed = threading.Event(), threading.Event()
    early_errors: list[Reply] = []  # failures before the kill began: a bug, not the crash
    first_thanks = threading.Event()
    replies: dict[str, Reply] = {}
    in_flight = 0
    deadline = time.monotonic() + CRASH_DEADLINE

    def client() -> None:
        nonlocal in_flight
        while not crashed.is_set() and time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                url = queue.pop()
                in_flight += 1
            reply = post(live_server, card_path(url), pages[url])
            with lock:
                in_flight -= 1
                replies[url] = reply
                if reply.error is not None and not killing.is_set():
                    early_errors.append(reply)
            if reply.thanked:
                first_thanks.set()

    with ThreadPoolExecutor(max_workers=CRASH_CLIENTS) as pool:
        try:
            clients = [pool.submit(client) for _ in range(CRASH_CLIENTS)]
            assert first_thanks.wait(timeout=30), "no ballot acknowledged before the crash"
            time.sleep(CRASH_FIRING)  # how long the crowd runs before the crash
            with lock:
                busy_at_crash, left_at_crash = in_flight, len(queue)
            killing.set()
            live_server.kill_hard()
        finally:
            crashed.set()
    for finished in clients:
        finished.result()  # re-raise anything unexpected in a client thread
    # Every client has returned (the pool is shut down): all replies are final.

    acked = {url: r for url, r in replies.items() if r.error is None}
    lost = [url for url, r in replies.items() if r.error is not None]
    assert left_at_crash > 0, "the crowd finished before the crash: raise CRASH_CARDS"
    assert busy_at_crash > 0, "no request was in flight when the server was killed"
    assert not early_errors, [repr(r.error) for r in early_errors]
    assert all(r.thanked for r in acked.values()), describe(list(acked.values()))

    live_server.restart()
    db = stored(round_id)
    shown = {r.receipt for r in acked.values()}
    assert shown <= db.receipts(), "an acknowledged ballot was lost in the crash"
    assert db.spent_cards() == db.ballots() == len(db.receipts())
    assert db.ballots_without_full_answers(len(CHOICE_ITEMS) + 1) == 0

    # Whoever got no answer re-sends the same page: it is counted exactly once either way.
    resent = {url: post(live_server, card_path(url), pages[url]) for url in lost}
    assert all(r.thanked for r in resent.values()), describe(list(resent.values()))
    attempted = len(replies)
    assert db.ballots() == db.spent_cards() == attempted
    assert db.receipts() == shown | {r.receipt for r in resent.values()}
    assert db.ballots_without_full_answers(len(CHOICE_ITEMS) + 1) == 0
    assert_log_clean(live_server)
