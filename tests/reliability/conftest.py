"""Fixtures for the reliability tests: several app servers on one database."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.traffic import Stored
from tests.server import LiveServer

REDIS_URL = "redis://127.0.0.1:6379/0"  # .ci/run starts it


def _redis():
    """A client for the shared Redis, or a failure naming what to start."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not answering ({exc}): several app servers share "
                    "their rate limits there; start it as .ci/run does", pytrace=False)
    return client


@pytest.fixture
def servers(database_url, tmp_path, request):
    """Two gunicorn instances (2 sync workers each) on different ports, sharing this test's
    PostgreSQL database and Redis, the demo loaded; behind one trusted proxy.

    Extra settings for both: ``@pytest.mark.parametrize("servers", [{"CARD_GUESS_LIMIT":
    "6/600"}], indirect=True)``. Each test keeps its rate-limit counters under a prefix of
    its own, removed at the end, so parallel tests never share a counter.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("several app servers share one PostgreSQL: SQLite is one machine's file "
                    "(set EVALSVC_TEST_DATABASE_URL; CI's PostgreSQL pass runs these)")
    prefix = f"test-{secrets.token_hex(6)}"
    redis = _redis()
    settings = {"EVALSVC_RATELIMIT_STORAGE": REDIS_URL, "EVALSVC_RATELIMIT_PREFIX": prefix,
                "EVALSVC_TRUSTED_PROXIES": "1",
                **{f"EVALSVC_{k}": v for k, v in (getattr(request, "param", None) or {}).items()}}
    pair = [LiveServer(database_url, tmp_path / name, workers=2, extra_env=settings)
            for name in ("a", "b")]
    pair[0].prepare()  # one schema and one demo county for both
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # each start waits seconds for gunicorn
            list(pool.map(LiveServer.start, pair))
        yield pair
    finally:
        for server in pair:
            server.kill_hard()
            print(f"----- gunicorn log ({server.log_path}) -----\n{server.log()}")
        keys = list(redis.scan_iter(f"{prefix}:*"))
        if keys:
            redis.delete(*keys)
        redis.close()


@pytest.fixture
def rate_keys(servers):
    """The rate-limit keys the two servers hold in Redis right now (without the prefix)."""
    prefix = servers[0].env["EVALSVC_RATELIMIT_PREFIX"] + ":rl:"
    redis = _redis()

    def keys() -> set[str]:
        return {key.decode().removeprefix(prefix) for key in redis.scan_iter(f"{prefix}*")}

    yield keys
    redis.close()


@pytest.fixture
def stored_in(request):
    """Open ``Stored`` views on a server's database, disposed afterwards:
    ``stored_in(server, round_id)``."""
    opened: list[Stored] = []

    def open_(server, round_id: int) -> Stored:
        opened.append(Stored(server.database_url, round_id))
        return opened[-1]

    yield open_
    for view in opened:
        view.close()
