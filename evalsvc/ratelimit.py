"""Per-client counters for rate limits: in memory (one process) or in Redis (shared by all
workers). They hold a key and a count for a short window and nothing else: never a link
to a ballot, and they are gone when the window ends."""
import ipaddress
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app

EXTENSION_KEY = "evalsvc.ratelimit"


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """'20/600' → 20 events per 600 seconds."""
        count, _, seconds = str(text).partition("/")
        return cls(int(count), int(seconds))


class MemoryCounter:
    """Fixed-window counters in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, seconds: int) -> int:
        """Count one event; return the count in the current window."""
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= seconds:
                start, count = now, 0
            self._windows[key] = (start, count + 1)
            if len(self._windows) > 100_000:  # bound memory: drop expired windows
                self._windows = {k: v for k, v in self._windows.items()
                                 if now - v[0] < 3600}
            return count + 1

    def peek(self, key: str, seconds: int) -> int:
        """The count in the current window, without counting."""
        with self._lock:
            start, count = self._windows.get(key, (0.0, 0))
            return count if time.monotonic() - start < seconds else 0

    def clear(self, key: str) -> None:
        """Forget a key (e.g. after a successful login)."""
        with self._lock:
            self._windows.pop(key, None)


class RedisCounter:
    """Fixed-window counters in Redis, shared by every worker and server."""

    def __init__(self, url: str, prefix: str = "evalsvc") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = f"{prefix}:rl:"

    def hit(self, key: str, seconds: int) -> int:
        """Count one event; return the count in the current window."""
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.expire(self._prefix + key, seconds, nx=True)
        return int(pipe.execute()[0])

    def peek(self, key: str, seconds: int) -> int:
        """The count in the current window, without counting."""
        return int(self._redis.get(self._prefix + key) or 0)

    def clear(self, key: str) -> None:
        """Forget a key."""
        self._redis.delete(self._prefix + key)


def init_app(app: Flask) -> None:
    """Choose the store: ``RATELIMIT_STORAGE`` is "memory" or a redis:// URL."""
    storage = str(app.config["RATELIMIT_STORAGE"])
    app.extensions[EXTENSION_KEY] = (
        RedisCounter(storage, app.config.get("RATELIMIT_PREFIX", "evalsvc"))
        if storage.startswith(("redis://", "rediss://", "unix://"))
        else MemoryCounter())


def counter() -> MemoryCounter | RedisCounter:
    """The app's counter store."""
    return current_app.extensions[EXTENSION_KEY]


def limit(name: str) -> Limit:
    """A configured limit, e.g. ``CARD_GUESS_LIMIT``."""
    return Limit.parse(current_app.config[name])


def client_key(address: str) -> str:
    """Whom a limit counts: an IPv4 address, or an IPv6 client's /64. One subscriber gets a
    whole /64 and may use any of its 2**64 addresses, so counting each address alone
    would let one phone guess without limit (the README's arithmetic assumes one count per
    client)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def exceeded(kind: str, client: str, name: str, count_it: bool = True) -> bool:
    """Count an event for this client and say whether it went over the limit ``name``;
    with ``count_it`` False, say whether the client has no events left in the window."""
    rule = limit(name)
    key = f"{kind}:{client_key(client)}"
    if not count_it:
        return counter().peek(key, rule.seconds) >= rule.count
    return counter().hit(key, rule.seconds) > rule.count
