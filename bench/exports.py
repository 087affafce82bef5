"""4. Exports of the big round: XLSX and CSV of the stored result, and a raw per-ballot CSV.

Each export runs in a fresh process (``bench.export_worker``) so its peak memory is its
own: the growth of VmHWM over VmRSS once the app and the stored result are loaded.
Floor: growth ≤ 150 MB for each.
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench.biground import BigRound
from bench.report import Report, mib
from bench.server import PROJECT_ROOT

SECTION = "4. exports"
MAX_GROWTH = 150 * 2**20
TIMEOUT = 600
FORMATS = (("xlsx", "XLSX of the stored result"), ("csv", "CSV of the stored result"),
           ("raw", "raw per-ballot CSV (streamed)"))


def ensure_closed(data: BigRound) -> None:
    """Close the big round if the tally benchmark has not already."""
    from evalsvc.extensions import db
    from evalsvc.models import Round, RoundState
    from evalsvc.services import closing

    with data.app.app_context():
        round_ = db.session.get(Round, data.round_id)
        if round_.state is RoundState.OPEN:
            closing.close_round(None, round_)


def run_on(report: Report, data: BigRound) -> None:
    """Run each export in its own process and print time, size and memory growth."""
    ensure_closed(data)
    section = f"{SECTION} / {data.database.kind}"
    for fmt, label in FORMATS:
        out = data.database.workdir / f"export.{fmt}"
        done = subprocess.run(
            [sys.executable, "-m", "bench.export_worker", data.database.url,
             str(data.database.instance), str(data.round_id), fmt, str(out)],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"export {fmt} failed:\n{done.stderr[-3000:]}")
        got = json.loads(done.stdout)
        report.check(section, f"{label}: peak RSS +", mib(got["growth"]),
                     got["growth"] <= MAX_GROWTH, f"≤ {MAX_GROWTH // 2**20} MiB",
                     f"{got['seconds']:.2f} s, {got['bytes'] / 1e6:.2f} MB file")
        if not got["exact_reset"]:
            report.note("peak could not be reset: growth measured against process start")
