"""Driving bench.client from the benchmark process and summarising what it measured."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.server import PROJECT_ROOT

REQUEST_TIMEOUT = 10.0  # seconds for one request, connect included
RUN_DEADLINE = 240.0  # seconds for one whole run


@dataclass
class LoadResult:
    """What one run of the client saw."""

    requests: int
    wall: float
    latencies: list[float]
    statuses: dict[str, int]
    errors: dict[str, int]  # connection errors, timeouts, requests never sent
    acknowledged: int
    connections: int
    client_cpu: float
    machine_busy: float = float("nan")  # share of all CPUs busy during the run (set by caller)

    @property
    def rate(self) -> float:
        """Acknowledged requests per second of wall time."""
        return self.acknowledged / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile (nearest rank) in seconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    def error_count(self, allowed_statuses: tuple[int, ...]) -> int:
        """Connection errors plus responses whose status is not allowed."""
        bad = sum(n for s, n in self.statuses.items() if int(s) not in allowed_statuses)
        return bad + sum(self.errors.values())

    def describe_statuses(self) -> str:
        parts = [f"{s}×{n}" for s, n in sorted(self.statuses.items())]
        parts += [f"{e}×{n}" for e, n in sorted(self.errors.items())]
        return ", ".join(parts) or "nothing"


def run_load(port: int, requests: list[tuple[str, str, str]], concurrency: int, *,
             ack: str = "", ack_status: int = 200) -> LoadResult:
    """Send ``requests`` to 127.0.0.1:port over ``concurrency`` connections, from a
    separate process; bounded by RUN_DEADLINE."""
    job = {"host": "127.0.0.1", "port": port, "concurrency": concurrency,
           "timeout": REQUEST_TIMEOUT, "deadline": RUN_DEADLINE, "ack": ack,
           "ack_status": ack_status, "requests": requests}
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8",
                                     delete=False) as fh:
        json.dump(job, fh, ensure_ascii=False)
        job_path = Path(fh.name)
    try:
        done = subprocess.run([sys.executable, "-m", "bench.client", str(job_path)],
                              cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=RUN_DEADLINE + 60, check=False)
    finally:
        job_path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"load client failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout)
    return LoadResult(len(requests), data["wall"], data["latencies"], data["statuses"],
                      data["errors"], data["acknowledged"], data["connections"],
                      data["client_cpu"])
