"""Several app servers, one database: two gunicorn instances on different ports share one
PostgreSQL database and one Redis, as a province runs them behind a proxy (issue 16 §3).

A respondent may reach either server: a card still counts once, a rate limit still holds,
and a server that dies loses no acknowledged ballot while the other goes on serving.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.traffic import (
    CHOICE_ITEMS, SPENT, Reply, assert_log_clean, ballot, card_code, card_path, describe,
    new_round, post, post_together, request, unknown_code)

pytestmark = pytest.mark.server

TOO_MANY = "尝试次数过多"
GUESSES = 6  # unknown card codes one client may try (CARD_GUESS_LIMIT below)


# -- exactly once ---------------------------------------------------------------------


def test_a_card_sent_to_both_servers_at_once_counts_once(servers, stored_in):
    round_id, urls = new_round(servers[0], cards=3)
    path = card_path(urls[0])
    # Forty pages of the same card, half to each server, all at the same instant.
    requests = [(servers[n % 2], path, ballot(advice=f"意见 {n}")) for n in range(40)]

    replies = post_together(requests)

    assert all(r.error is None for r in replies), describe(replies)
    winners = [i for i, r in enumerate(replies) if r.thanked]
    assert len(winners) == 1, describe(replies)
    losers = [r for i, r in enumerate(replies) if i != winners[0]]
    assert all(r.status == 409 and SPENT in r.body for r in losers), describe(losers)
    db = stored_in(servers[0], round_id)
    assert db.ballots() == db.spent_cards() == 1
    assert db.receipts() == {replies[winners[0]].receipt}
    assert db.card_spent(card_code(urls[0]))
    sent = requests[winners[0]][2]
    assert db.answers() == ({(k, sent[k], "") for k in CHOICE_ITEMS}
                            | {("advice", "", sent["advice"])})
    for server in servers:
        assert_log_clean(server)


def test_the_same_page_sent_to_both_servers_gets_one_receipt(servers, stored_in):
    """A page re-sent to the other server (a retry after a timeout) is thanked with the
    same receipt there, and counted once."""
    round_id, urls = new_round(servers[0], cards=10)
    pages = [(card_path(url), ballot()) for url in urls]
    requests = [(server, path, fields) for path, fields in pages for server in servers]

    replies = post_together(requests)

    assert all(r.thanked for r in replies), describe(replies)
    assert all(replies[2 * n].receipt == replies[2 * n + 1].receipt for n in range(len(pages)))
    db = stored_in(servers[0], round_id)
    assert db.ballots() == db.spent_cards() == len(pages)
    assert db.receipts() == {r.receipt for r in replies}


# -- rate limits ----------------------------------------------------------------------


@pytest.mark.parametrize("servers", [{"CARD_GUESS_LIMIT": f"{GUESSES}/600"}], indirect=True)
def test_a_rate_limit_holds_across_both_servers(servers, rate_keys):
    _round_id, urls = new_round(servers[0], cards=1)
    # Guesses spread over both servers: the limit counts them together, not per server.
    guesses = [request(servers[n % 2], "GET", f"/c/{unknown_code()}") for n in range(GUESSES)]
    assert [r.status for r in guesses] == [404] * GUESSES

    for server in servers:
        refused = request(server, "GET", f"/c/{unknown_code()}")
        assert refused.status == 429 and TOO_MANY in refused.body
        # Once over the limit, the client gets nothing from either server, real cards
        # included, until the window ends.
        assert request(server, "GET", card_path(urls[0])).status == 429
    # The shared counter holds the client's address and nothing else: no code, no card.
    assert rate_keys() == {"card:127.0.0.1"}


# -- failover -------------------------------------------------------------------------


FAILOVER_CARDS = 600
FAILOVER_CLIENTS = 8
FAILOVER_FIRING = 0.5  # seconds of traffic before one server is killed
FAILOVER_DEADLINE = 60  # seconds: no client loop runs longer than this


def test_killing_one_server_mid_rush_loses_no_acknowledged_ballot(servers, stored_in):
    """Clients spread over both servers; one is killed mid-rush. Whoever got no answer
    sends the same page to the other server, which went on serving throughout."""
    doomed, survivor = servers
    round_id, urls = new_round(doomed, cards=FAILOVER_CARDS)
    pages = {url: ballot(advice="整改要落到实处") for url in urls}
    queue = list(urls)
    lock = threading.Lock()
    killed, first_thanks = threading.Event(), threading.Event()
    replies: dict[str, Reply] = {}
    retried: dict[str, Reply] = {}
    in_flight = {id(doomed): 0, id(survivor): 0}
    deadline = time.monotonic() + FAILOVER_DEADLINE

    def client(number: int) -> None:
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                url = queue.pop()
                # Half the clients use each server until it dies, as a proxy would spread them.
                server = survivor if number % 2 or killed.is_set() else doomed
                in_flight[id(server)] += 1
            reply = post(server, card_path(url), pages[url])
            with lock:
                in_flight[id(server)] -= 1
                replies[url] = reply
            if reply.error is not None:
                assert server is doomed and killed.is_set(), repr(reply.error)
                retried[url] = post(survivor, card_path(url), pages[url])
            elif reply.thanked:
                first_thanks.set()

    with ThreadPoolExecutor(max_workers=FAILOVER_CLIENTS) as pool:
        clients = [pool.submit(client, n) for n in range(FAILOVER_CLIENTS)]
        assert first_thanks.wait(timeout=30), "no ballot acknowledged before the kill"
        time.sleep(FAILOVER_FIRING)
        with lock:
            busy_on_doomed, left_at_kill = in_flight[id(doomed)], len(queue)
            killed.set()
            doomed.kill_hard()
    for finished in clients:
        finished.result()  # re-raise anything unexpected in a client thread

    assert left_at_kill > 0, "the rush finished before the kill: raise FAILOVER_CARDS"
    assert busy_on_doomed > 0, "no request was in flight on the killed server"
    assert not doomed.running and survivor.running
    answered = {url: r for url, r in replies.items() if r.error is None}
    assert all(r.thanked for r in answered.values()), describe(list(answered.values()))
    assert all(r.thanked for r in retried.values()), describe(list(retried.values()))
    assert len(replies) == FAILOVER_CARDS  # the survivor served every card left

    db = stored_in(survivor, round_id)
    shown = {r.receipt for r in answered.values()} | {r.receipt for r in retried.values()}
    assert db.receipts() == shown  # nothing acknowledged was lost, nothing extra stored
    assert db.ballots() == db.spent_cards() == FAILOVER_CARDS
    assert db.ballots_without_full_answers(len(CHOICE_ITEMS) + 1) == 0
    assert_log_clean(survivor)
