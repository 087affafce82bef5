"""``suite``: the test suite's own time, against the commit issue 11 measured (173 s).

Issue 11 §4 asks that the whole suite on SQLite, browser tests included, run in at most
half of the time it took when the issue was filed. That suite is SUITE_BASELINE below (304
tests, run in one process). This benchmark exports it from git into a temporary directory
and runs ``scripts/test -q`` there and here, alternately (baseline first in each pair),
on SQLite, with a missing Chromium or nginx failing instead of skipping, as CI runs them.

Each side's environment is installed by one untimed ``scripts/test --co -q`` first; the
timed runs are the command as a developer types it (the baseline's ran pip on every run,
which is part of its time, as it was of the 173 s). CPU time comes from a cpuacct cgroup
when this machine lets us make one (it counts orphaned Chromium and gunicorn processes,
which ``getrusage`` misses); otherwise from ``getrusage`` of the reaped children.

The baseline's browser tests drive ``/usr/bin/chromium`` (Debian's ``chromium``), and its
axe-core comes from its own ``tests/browser/package-lock.json`` (``npm ci``). Without
Chromium the benchmark is skipped: a baseline without its browser tests would be shorter
than the one the issue measured.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.report import Report, ratio
from bench.server import PROJECT_ROOT

SECTION = "suite. the test suite on SQLite (issue 11 §4)"
SUITE_BASELINE = "81d7ae1a33c3c5d2e754b99d857308ec88563a7b"  # 173 s when issue 11 was filed
BASELINE_CHROMIUM = Path("/usr/bin/chromium")
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
FLOOR = 0.5  # at most half the baseline's time
RUN_TIMEOUT = 1800  # seconds for one whole suite
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|errors?|skipped)\b.*?) in [\d.]+s",
                     re.MULTILINE)


def run(report: Report, kinds: list[str], quick: bool) -> None:  # noqa: ARG001 - SQLite only
    """Two alternating pairs (one with --quick); the ratio of the means is checked."""
    revision = os.environ.get("BENCH_SUITE_BASELINE", SUITE_BASELINE)
    missing = _missing_tools()
    if missing:
        report.figure(SECTION, "whole suite vs the issue's", "SKIP", missing, verdict="SKIP")
        return
    with tempfile.TemporaryDirectory(prefix="evalsvc-bench-suite-") as tmp:
        baseline = Path(tmp) / "baseline"
        _export(revision, baseline)
        sides = {"baseline": baseline, "now": PROJECT_ROOT}
        for side, root in sides.items():
            _install(root)
        report.note(f"baseline: {revision[:12]} exported from git into {baseline}; "
                    f"now: {PROJECT_ROOT}; each run is `scripts/test -q` on SQLite")
        walls: dict[str, list[float]] = {side: [] for side in sides}
        for pair in range(1 if quick else 2):
            for side, root in sides.items():
                result = _timed(root)
                walls[side].append(result.wall)
                report.check(SECTION, f"pair {pair + 1}, {side}", f"{result.wall:.1f} s",
                             result.returncode == 0, "exit status 0",
                             f"{result.cpu:.0f} CPU-s ({result.cpu_source}); "
                             f"{result.tests}")
    mean = {side: sum(values) / len(values) for side, values in walls.items()}
    report.check(SECTION, "now vs the baseline, mean wall time", f"{mean['now']:.1f} s",
                 mean["now"] <= FLOOR * mean["baseline"], f"≤ {FLOOR} × baseline",
                 f"{ratio(mean['now'], mean['baseline'])} ({mean['baseline']:.1f} s)")


def _missing_tools() -> str:
    """What this machine lacks to run both suites whole, or an empty string."""
    needs = []
    if not BASELINE_CHROMIUM.is_file():
        needs.append(f"{BASELINE_CHROMIUM} (apt-get install chromium) for the baseline's "
                     "browser tests")
    if not shutil.which("npm"):
        needs.append("npm, for axe-core")
    if not (PROJECT_ROOT / ".git").exists() or not shutil.which("git"):
        needs.append("a git checkout, to export the baseline")
    return "; ".join(needs)


def _export(revision: str, into: Path) -> None:
    """The baseline's tree, without the repository (``git archive``)."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", revision],
                             capture_output=True, check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True,
                   timeout=120)


def _install(root: Path) -> None:
    """The side's own environment and axe-core, untimed."""
    if (root / "tests/browser/package-lock.json").is_file():
        subprocess.run(["npm", "ci", "--silent", "--prefix", str(root / "tests/browser")],
                       check=True, capture_output=True, timeout=600)
    done = subprocess.run(["scripts/test", "--co", "-q"], cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"installing {root} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")


def _env() -> dict[str, str]:
    """SQLite (no EVALSVC_TEST_DATABASE_URL); a missing browser or nginx fails the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env.update({"EVALSVC_REQUIRE_BROWSER": "1", "EVALSVC_REQUIRE_NGINX": "1"})
    return env


class _Result:
    def __init__(self, returncode: int, wall: float, cpu: float, cpu_source: str,
                 output: str):
        self.returncode = returncode
        self.wall = wall
        self.cpu = cpu
        self.cpu_source = cpu_source
        found = SUMMARY.findall(output)
        self.tests = found[-1] if found else "no pytest summary: " + output[-300:]


def _timed(root: Path) -> _Result:
    """``scripts/test -q`` in ``root``: its wall time and the CPU of every process it made."""
    group = _new_cgroup()
    preexec = (lambda: (group / "cgroup.procs").write_text(str(os.getpid()))) if group else None
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(["scripts/test", "-q"], cwd=root, env=_env(), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False, preexec_fn=preexec)
    wall = time.perf_counter() - start
    after = os.times()
    if group:
        time.sleep(1)  # killed servers' last ticks
        cpu, source = int((group / "cpuacct.usage").read_text()) / 1e9, "cgroup"
        _remove_cgroup(group)
    else:
        cpu = (after.children_user - before.children_user
               + after.children_system - before.children_system)
        source = "reaped children only"
    return _Result(done.returncode, wall, cpu, source, done.stdout + done.stderr)


def _new_cgroup() -> Path | None:
    """A fresh cpuacct cgroup (cgroup v1, as root), or None where we cannot make one."""
    group = CPUACCT / f"evalsvc-bench-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def _remove_cgroup(group: Path) -> None:
    """Move stragglers out, then remove the group (best effort)."""
    for pid in (group / "cgroup.procs").read_text().split():
        try:
            (CPUACCT / "cgroup.procs").write_text(pid)
        except OSError:
            pass
    try:
        group.rmdir()
    except OSError:
        pass
