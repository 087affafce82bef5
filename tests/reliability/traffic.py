"""Respondents' traffic against real server processes, and direct reads of what was stored.

Shared by the reliability tests: every request goes to 127.0.0.1 over real sockets (to a
gunicorn, or to nginx in front of several), and the database is read directly afterwards,
so what the respondent saw is checked against what was stored. A target is anything with a
``port`` (a LiveServer, the test nginx).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import random
import re
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

CHOICE_ITEMS = ("quality", "organisation", "service", "work", "overall")
SCALE = ("satisfied", "fairly", "basic", "dissatisfied", "unknown")
THANKS = "提交成功"
SPENT = "此二维码已使用"
REQUEST_TIMEOUT = 60  # seconds for one HTTP exchange
BARRIER_TIMEOUT = 60  # seconds for every client thread to be connected and waiting
RECEIPT = re.compile(r'class="receipt"[^>]*>\s*([A-Z2-7-]+)\s*<')


@dataclass
class Reply:
    """What one request got: a status, headers and page, or the error that stopped it."""

    status: int | None = None
    body: str = ""
    error: Exception | None = None
    headers: http.client.HTTPMessage | None = None

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


def unknown_code() -> str:
    """A well-formed card code that was never issued."""
    return "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))


def card_path(url: str) -> str:
    """The path of a printed card URL (HTTP://127.0.0.1:P/C/CODE → /c/CODE)."""
    return "/c/" + urlsplit(url).path.rsplit("/", 1)[-1]


def card_code(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def connect(target, source: str | None = None) -> http.client.HTTPConnection:
    """A connection to ``target``, from the local address ``source`` if given (any of
    127.0.0.0/8 is this machine: a second "client" for the rate limits)."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=REQUEST_TIMEOUT,
                                      source_address=(source, 0) if source else None)
    conn.connect()
    return conn


def request(target, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, source: str | None = None) -> Reply:
    """One request on a fresh connection; the whole answer, or the error that stopped it."""
    try:
        conn = connect(target, source)
    except OSError as exc:
        return Reply(error=exc)
    try:
        conn.request(method, path, body, {"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return Reply(response.status, response.read().decode("utf-8", "replace"),
                     headers=response.headers)
    except (OSError, http.client.HTTPException) as exc:
        return Reply(error=exc)
    finally:
        conn.close()


def post(target, path: str, fields: dict[str, str], **options) -> Reply:
    """POST a form, as the ballot page does."""
    return request(target, "POST", path, urlencode(fields).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded"}, **options)


def post_together(requests: list[tuple[object, str, dict[str, str]]]) -> list[Reply]:
    """One thread per (target, path, fields); all of them send at the same instant.

    The threads connect only after the barrier: connections opened earlier would hold
    the sync workers idle and could fill a small listen backlog before anything is sent.
    """
    barrier = threading.Barrier(len(requests), timeout=BARRIER_TIMEOUT)

    def one(sent: tuple[object, str, dict[str, str]]) -> Reply:
        target, path, fields = sent
        barrier.wait()
        return post(target, path, fields)

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

    def _packed(self) -> list[list]:
        """Each stored ballot's answers, decoded from the raw column."""
        return [json.loads(packed) for packed in
                self.column("SELECT answers FROM ballots WHERE round_id = :r")]

    def answers(self) -> set[tuple[str, str, str]]:
        return {(q, v, t or "") for answers in self._packed() for q, v, t in answers}

    def ballots_without_full_answers(self, answers_per_ballot: int) -> int:
        return sum(len(answers) != answers_per_ballot for answers in self._packed())

    def close(self) -> None:
        self.engine.dispose()


def assert_log_clean(server) -> None:
    """No traceback and no worker timeout in gunicorn's output."""
    log = server.log()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-5000:]


def describe(replies: list[Reply]) -> Counter:
    return Counter(r.status if r.error is None else type(r.error).__name__ for r in replies)
