"""Exactly-once ballots against a real gunicorn process: races, crowds and a hard crash.

Every request goes to 127.0.0.1 over real sockets; the database is read directly
afterwards, so what the respondent saw is checked against what was stored.
"""
import hashlib
import http.client
import random
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.server

CHOICE_ITEMS = ("quality", "organisation", "service", "work", "overall")
SCALE = ("satisfied", "fairly", "basic", "dissatisfied", "unknown")
THANKS = "提交成功"
SPENT = "此二维码已使用"
REQUEST_TIMEOUT = 60  # seconds for one HTTP exchange
BARRIER_TIMEOUT = 60  # seconds for every client thread to be connected and waiting
RECEIPT = re.compile(r'class="receipt"[^>]*>\s*([A-Z2-7-]+)\s*<')


# -- helpers --------------------------------------------------------------------------


@dataclass
class Reply:
    """What one POST got: a status and page, or the error that stopped it."""

    status: int | None = None
    body: str = ""
    error: Exception | None = None

    @property
    def receipt(self) -> str | None:
        """The receipt code shown on the page, as stored (without dashes)."""
        match = RECEIPT.search(self.body)
        return match.group(1).replace("-", "") if match else None

    @property
    def thanked(self) -> bool:
        return self.status == 200 and THANKS in self.body and self.receipt is not None


def ballot(advice: str | None = None) -> dict[str, str]:
    """A complete, valid satisfaction ballot from a fresh page (its own nonce)."""
    fields = {item: random.choice(SCALE) for item in CHOICE_ITEMS}
    if advice:
        fields["advice"] = advice
    fields["nonce"] = secrets.token_urlsafe(16)
    return fields


def card_path(url: str) -> str:
    """The path of a printed card URL (HTTP://127.0.0.1:P/C/CODE → /c/CODE)."""
    return "/c/" + urlsplit(url).path.rsplit("/", 1)[-1]


def card_code(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def connect(server) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT)
    conn.connect()
    return conn


def send(conn: http.client.HTTPConnection, path: str, fields: dict[str, str]) -> Reply:
    """POST a form on an open connection and read the whole answer."""
    try:
        conn.request("POST", path, urlencode(fields).encode(),
                     {"Content-Type": "application/x-www-form-urlencoded",
                      "Connection": "close"})
        response = conn.getresponse()
        return Reply(response.status, response.read().decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException) as exc:
        return Reply(error=exc)
    finally:
        conn.close()


def post(server, path: str, fields: dict[str, str]) -> Reply:
    try:
        conn = connect(server)
    except OSError as exc:
        return Reply(error=exc)
    return send(conn, path, fields)


def post_together(server, requests: list[tuple[str, dict[str, str]]]) -> list[Reply]:
    """One thread per request; all of them send at the same instant.

    The threads connect only after the barrier: connections opened earlier would hold
    the sync workers idle and could fill a small listen backlog before anything is sent.
    """
    barrier = threading.Barrier(len(requests), timeout=BARRIER_TIMEOUT)

    def one(request: tuple[str, dict[str, str]]) -> Reply:
        path, fields = request
        barrier.wait()
        return post(server, path, fields)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def new_round(server, cards: int) -> tuple[int, list[str]]:
    """An open satisfaction round of XW0101 with ``cards`` masses cards; (id, card URLs)."""
    round_id = int(server.cli("round", "create", "--org", "XW0101", "--kind", "satisfaction",
                              "--stage", "review", "--group", f"masses={cards}").strip())
    server.cli("round", "open", str(round_id))
    urls = server.cli("round", "cards", str(round_id), "--urls").split()
    assert len(urls) == cards
    return round_id, urls


class Stored:
    """Direct, read-only queries on the server's database."""

    def __init__(self, database_url: str, round_id: int):
        self.engine = sa.create_engine(database_url, poolclass=NullPool)
        self.round_id = round_id

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), {"r": self.round_id, **params}).scalar()

    def column(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), {"r": self.round_id, **params}).scalars())

    def ballots(self) -> int:
        return self.scalar("SELECT count(*) FROM ballots WHERE round_id = :r")

    def receipts(self) -> set[str]:
        return set(self.column("SELECT code FROM receipts WHERE round_id = :r"))

    def spent_cards(self) -> int:
        return self.scalar("SELECT count(*) FROM cards WHERE round_id = :r AND spent")

    def card_spent(self, code: str) -> bool:
        return bool(self.scalar("SELECT spent FROM cards WHERE round_id = :r AND code_hash = :h",
                                h=hashlib.sha256(code.encode("ascii")).hexdigest()))

    def answers(self) -> set[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return set(map(tuple, conn.execute(sa.text(
                "SELECT question, value, coalesce(text, '') FROM answers WHERE round_id = :r"),
                {"r": self.round_id})))

    def ballots_without_full_answers(self, answers_per_ballot: int) -> int:
        return self.scalar(
            "SELECT count(*) FROM ballots b WHERE b.round_id = :r AND "
            "(SELECT count(*) FROM answers a WHERE a.ballot_id = b.id) <> :n",
            n=answers_per_ballot)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def stored(live_server):
    """Open ``Stored`` views on the live server's database, disposed afterwards."""
    opened: list[Stored] = []

    def open_(round_id: int) -> Stored:
        opened.append(Stored(live_server.database_url, round_id))
        return opened[-1]

    yield open_
    for view in opened:
        view.close()


def assert_log_clean(server) -> None:
    """No traceback and no worker timeout in gunicorn's output."""
    log = server.log()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-5000:]


def describe(replies: list[Reply]) -> Counter:
    return Counter(r.status if r.error is None else type(r.error).__name__ for r in replies)


# -- one card, many pages at once -----------------------------------------------------


@pytest.mark.parametrize("pages", [50, 200])
def test_one_card_submitted_from_many_pages_at_once_counts_once(live_server, stored, pages):
    round_id, urls = new_round(live_server, cards=3)
    url = urls[0]
    requests = [(card_path(url), ballot(advice=f"意见 {n}")) for n in range(pages)]

    replies = post_together(live_server, requests)

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
    sent = requests[winners[0]][1]
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
    pages = [(card_path(url), ballot()) for url in urls]
    requests = [page for page in pages for _click in range(2)]

    replies = post_together(live_server, requests)

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
