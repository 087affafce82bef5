"""The deployment files at work: Debian's nginx with deploy/nginx.conf in front of two
gunicorn servers on one PostgreSQL and one Redis (README "Deployment", issue 16 §3).

nginx runs as a child of the test (not a daemon), from the config rendered with local ports
and temporary folders. A missing nginx skips these tests with the command that installs it,
unless ``EVALSVC_REQUIRE_NGINX=1`` (set by CI) turns the skip into a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reliability.traffic import (
    SPENT, ballot, card_code, card_path, describe, new_round, post, post_together, request,
    unknown_code)
from tests.server import PROJECT_ROOT, free_port

pytestmark = pytest.mark.server

CONFIG = PROJECT_ROOT / "deploy" / "nginx.conf"
START_TIMEOUT = 15  # seconds for nginx to answer through to an app server
GUESSES = 5


def _nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        message = "nginx is missing: install Debian's with `apt-get install nginx`"
        if os.environ.get("EVALSVC_REQUIRE_NGINX") == "1":
            pytest.fail(f"{message} (EVALSVC_REQUIRE_NGINX=1)", pytrace=False)
        pytest.skip(message)
    return found


class Nginx:
    """deploy/nginx.conf rendered for two local app servers, run in the foreground."""

    def __init__(self, binary: str, upstreams: list, prefix: Path):
        self.binary, self.prefix = binary, prefix
        self.port = free_port()
        self.access_log = prefix / "logs" / "evalsvc-access.log"
        self.error_log = prefix / "logs" / "error.log"
        for folder in ("logs", "temp"):
            (prefix / folder).mkdir()
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(render(CONFIG.read_text(), {
            "LISTEN": f"127.0.0.1:{self.port}",
            "APP1": f"127.0.0.1:{upstreams[0].port}", "APP2": f"127.0.0.1:{upstreams[1].port}",
            "LOGS": str(prefix / "logs"), "TEMP": str(prefix / "temp")}))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.error_log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", "stderr",
                 "-g", f"daemon off; pid {self.prefix / 'nginx.pid'};"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited at start-up:\n{self.log()}")
            if request(self, "GET", "/login").status == 200:
                return
            time.sleep(0.05)  # polling interval, not an assertion
        raise RuntimeError(f"nginx did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # master and workers
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""


def render(template: str, values: dict[str, str]) -> str:
    """Replace every @NAME@; a name left over is a mistake in the file or the test."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    config = "\n".join(line.split("#")[0] for line in template.splitlines())
    assert not re.search(r"@[A-Z0-9]+@", config), "a placeholder of deploy/nginx.conf is left"
    return template


@pytest.fixture(autouse=True)
def nginx_binary() -> str:
    """Debian's nginx, looked for before any app server starts."""
    return _nginx_binary()


@pytest.fixture
def nginx(nginx_binary, servers):
    """nginx from deploy/nginx.conf in front of the two ``servers``."""
    binary = nginx_binary
    # Outside pytest's private temporary folder: nginx's workers (www-data when the test
    # runs as root) write request bodies and buffered answers here.
    prefix = Path(tempfile.mkdtemp(prefix="evalsvc-nginx-"))
    prefix.chmod(0o755)
    proxy = Nginx(binary, servers, prefix)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        print(f"----- nginx error log -----\n{proxy.log()}")
        shutil.rmtree(prefix, ignore_errors=True)


# -- ballots through the proxy --------------------------------------------------------


def test_a_ballot_through_nginx_is_stored_once(servers, nginx, stored_in):
    round_id, urls = new_round(servers[0], cards=2)
    path = card_path(urls[0])
    requests = [(nginx, path, ballot()) for _ in range(20)]

    replies = post_together(requests)

    thanked = [r for r in replies if r.thanked]
    assert len(thanked) == 1, describe(replies)
    assert all(r.status == 409 and SPENT in r.body for r in replies if not r.thanked)
    db = stored_in(servers[0], round_id)
    assert db.ballots() == db.spent_cards() == 1
    assert db.receipts() == {thanked[0].receipt}
    # Both servers took part, and neither nginx's log nor theirs holds the card code.
    access = nginx.access_log.read_text()
    assert {f"127.0.0.1:{s.port}" in access for s in servers} == {True}
    for text in (access, *(s.log() for s in servers)):
        assert card_code(urls[0]) not in text


@pytest.mark.parametrize("servers", [{"CARD_GUESS_LIMIT": f"{GUESSES}/600"}], indirect=True)
def test_the_rate_limiter_sees_the_real_client_address(servers, nginx, rate_keys):
    """Every request reaches the app servers from nginx's address, yet the limit counts the
    phone's own, and a forged X-Forwarded-For changes nothing."""
    phone, neighbour = "127.0.0.2", "127.0.0.3"  # two clients on this machine
    for n in range(GUESSES):
        forged = {"X-Forwarded-For": f"10.9.{n}.1"}
        assert request(nginx, "GET", f"/c/{unknown_code()}", headers=forged,
                       source=phone).status == 404
    assert request(nginx, "GET", f"/c/{unknown_code()}", headers={"X-Forwarded-For": "10.9.9.9"},
                   source=phone).status == 429
    assert request(nginx, "GET", f"/c/{unknown_code()}", source=neighbour).status == 404
    assert rate_keys() == {f"card:{phone}", f"card:{neighbour}"}


def test_security_headers_reach_the_client_through_nginx(servers, nginx):
    reply = request(nginx, "GET", "/login")
    assert reply.status == 200
    headers = reply.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "nginx"  # no version
    assert headers.get_all("Content-Security-Policy") == [headers["Content-Security-Policy"]]


def test_large_bodies_are_refused_by_nginx_before_any_app_server(servers, nginx):
    _round_id, urls = new_round(servers[0], cards=1)
    served = [len(s.log()) for s in servers]
    big_ballot = ballot(advice="很" * 100_000)  # 300 KB of UTF-8, over the 256 KiB of a ballot
    too_big = post(nginx, card_path(urls[0]), big_ballot)
    assert too_big.status == 413 and "提交的内容过大" in too_big.body
    upload = request(nginx, "POST", "/members/import", b"x" * (6 * 1024 * 1024),
                     {"Content-Type": "application/octet-stream"})
    assert upload.status == 413 and "提交的内容过大" in upload.body
    assert [len(s.log()) for s in servers] == served  # neither app server saw them
    assert post(nginx, card_path(urls[0]), ballot()).thanked  # the card is still usable


# -- failover -------------------------------------------------------------------------


FAILOVER_CARDS = 400
FAILOVER_CLIENTS = 8
FAILOVER_FIRING = 0.5  # seconds of traffic before one server is killed
FAILOVER_DEADLINE = 60  # seconds: no client loop runs longer than this


def test_nginx_fails_over_when_one_server_is_killed(servers, nginx, stored_in):
    """Phones keep voting through nginx while one app server is killed mid-rush: every one
    of them is thanked, none sees an error page, and every ballot is stored once.

    nginx sends a ballot whose server died before answering on to the other server. A
    server killed while its answer was on the wire (nginx had passed the headers on) cuts
    that answer short: no proxy can take it back. The phone shows a broken page and its
    user sends the same page again, which stores nothing twice and shows the same
    receipt; only a connection cut short is sent again, at most one per client in flight."""
    doomed, survivor = servers
    round_id, urls = new_round(doomed, cards=FAILOVER_CARDS)
    queue = list(urls)
    lock = threading.Lock()
    first_thanks = threading.Event()
    replies, cut_short = {}, []
    deadline = time.monotonic() + FAILOVER_DEADLINE

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                url = queue.pop()
            page = ballot()
            reply = post(nginx, card_path(url), page)
            if reply.error is not None:  # the answer was cut off: the user sends it again
                with lock:
                    cut_short.append(reply)
                reply = post(nginx, card_path(url), page)
            with lock:
                replies[url] = reply
            if reply.thanked:
                first_thanks.set()

    with ThreadPoolExecutor(max_workers=FAILOVER_CLIENTS) as pool:
        clients = [pool.submit(client) for _ in range(FAILOVER_CLIENTS)]
        assert first_thanks.wait(timeout=30), "no ballot acknowledged before the kill"
        time.sleep(FAILOVER_FIRING)
        with lock:
            left_at_kill = len(queue)
        doomed.kill_hard()
    for finished in clients:
        finished.result()

    assert left_at_kill > 0, "the rush finished before the kill: raise FAILOVER_CARDS"
    assert len(cut_short) <= FAILOVER_CLIENTS, describe(cut_short)
    assert len(replies) == FAILOVER_CARDS
    assert all(r.thanked for r in replies.values()), describe(list(replies.values()))
    db = stored_in(survivor, round_id)
    assert db.receipts() == {r.receipt for r in replies.values()}
    assert db.ballots() == db.spent_cards() == FAILOVER_CARDS
    # nginx's log shows the requests it passed on to the survivor when the other died.
    assert f"127.0.0.1:{doomed.port}, 127.0.0.1:{survivor.port}" in nginx.access_log.read_text()
