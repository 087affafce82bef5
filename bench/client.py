"""A small HTTP/1.1 load client on raw asyncio streams, run as its own process.

    python -m bench.client JOB.json        # prints a JSON summary on stdout

The job names the server, the concurrency, and the requests (method, path, urlencoded
body). N connections each take the next request from the shared list until it is empty,
so every request is sent exactly once. A connection is reused while the server keeps it
alive (gunicorn's sync workers close it after each response; it is then reopened), and is
never reused after an error. Each request is bounded by ``timeout`` and the whole run by
``deadline``: requests not sent by then are counted as errors.

A response is read whole (status line, headers, a body of Content-Length bytes), and is
"acknowledged" when its status is 200 and its body holds the ``ack`` text (or, for a
baseline, when its status is the expected redirect).
"""
from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

MAX_HEADER_LINES = 100


class BadResponse(Exception):
    """The server sent something that is not an HTTP/1.1 response."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("connection closed before a response")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise BadResponse(status_line[:80].decode("latin-1"))
    headers: dict[str, str] = {"_version": parts[0].decode("latin-1")}
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadResponse("too many header lines")
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.read()  # until the server closes
    return int(parts[1]), headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readline()


def _keeps_alive(headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    return headers["_version"] == "HTTP/1.1" and connection != "close"


class Run:
    """One load run: shared request list, results, bounds."""

    def __init__(self, job: dict):
        self.host, self.port = job["host"], job["port"]
        self.timeout = float(job.get("timeout", 10))
        self.deadline = time.monotonic() + float(job.get("deadline", 300))
        self.ack = job.get("ack", "").encode()
        self.ack_status = int(job.get("ack_status", 200))
        self.requests = [self._encode(m, p, b) for m, p, b in job["requests"]]
        self.next_index = 0
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.acknowledged = 0
        self.connections = 0

    def _encode(self, method: str, path: str, body: str) -> bytes:
        data = body.encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if method == "POST":
            head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {len(data)}\r\n")
        return (head + "\r\n").encode() + data

    async def connection(self) -> None:
        reader = writer = None
        while self.next_index < len(self.requests):
            if time.monotonic() > self.deadline:
                return
            request = self.requests[self.next_index]
            self.next_index += 1
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(self.host, self.port), self.timeout)
                    self.connections += 1
                writer.write(request)
                await writer.drain()
                status, headers, body = await asyncio.wait_for(_read_response(reader),
                                                               self.timeout)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    BadResponse, ValueError) as exc:
                self.errors[type(exc).__name__] += 1
                writer = await _close(writer)
                continue
            self.latencies.append(time.perf_counter() - start)
            self.statuses[status] += 1
            if status == self.ack_status and (not self.ack or self.ack in body):
                self.acknowledged += 1
            if not _keeps_alive(headers):
                writer = await _close(writer)
        await _close(writer)

    async def run(self, concurrency: int) -> dict:
        cpu_before = _cpu()
        started = time.perf_counter()
        await asyncio.gather(*(self.connection() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        unsent = len(self.requests) - self.next_index
        if unsent:
            self.errors["deadline (not sent)"] += unsent
        return {"wall": wall, "latencies": self.latencies,
                "statuses": {str(k): v for k, v in self.statuses.items()},
                "errors": dict(self.errors), "acknowledged": self.acknowledged,
                "connections": self.connections, "client_cpu": _cpu() - cpu_before}


def _cpu() -> float:
    """CPU seconds this process has used (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _close(writer) -> None:
    if writer is not None:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 2)
        except (OSError, asyncio.TimeoutError):
            pass
    return None


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        job = json.load(fh)
    result = asyncio.run(Run(job).run(int(job["concurrency"])))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
