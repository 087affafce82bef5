"""``python -m bench [--quick] [--only NAME …] [--db sqlite|postgres]``: run the benchmarks.

Names, in run order: rush, tally, exports, cards, bulk, batchpdf, pages, startup (and ``profile``, the
per-phase cost of one submission, which runs when asked for, or right after the hall rush
when it misses its throughput floor; ``growth``, the campaign's pages at 500, 5,000 and
50,000 branches on PostgreSQL, runs only when asked for; ``suite``, the whole test suite against
the commit issue 11 measured, also). Exit status 1 when a floor failed.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
import time
import traceback

from bench.databases import KINDS, postgres_available
from bench.report import Report

BENCHMARKS = ("rush", "tally", "exports", "cards", "bulk", "batchpdf", "pages", "startup")
EXTRA = ("profile", "spy", "growth", "suite")
MODULES = {"profile": "submit_profile"}  # names whose module is called otherwise


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs (500 ballots in the rush, 10,000 in the tally)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only these benchmarks (repeat, or comma-separate): "
                             + ", ".join(BENCHMARKS + EXTRA))
    parser.add_argument("--db", action="append", choices=KINDS, default=[],
                        help="run the database benchmarks on this database only (repeatable)")
    args = parser.parse_args(argv)
    names = [n.strip() for value in args.only for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS + EXTRA]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    args.names = names or list(BENCHMARKS)
    args.kinds = args.db or list(KINDS)
    return args


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal"))
    return (f"{os.cpu_count()} vCPU, {model}, {mem_kb / 2**20:.1f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def _load() -> str:
    """The 1/5/15-minute load averages: how busy the machine was (others included)."""
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _rush_too_slow(report: Report) -> bool:
    return any(line.section.startswith("1.") and line.verdict == "FAIL"
               and line.name.startswith(("accepted", "p99")) for line in report.lines)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    for key in [k for k in os.environ if k.startswith("EVALSVC_")]:
        del os.environ[key]  # the developer's own settings must not leak into a run
    report = Report()
    print(f"evalsvc benchmarks — {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine: {_machine()}")
    print(f"command: scripts/bench {' '.join(argv)}".rstrip())
    print(f"load average at the start: {_load()}")
    if "postgres" in args.kinds:
        why = postgres_available()
        if why:
            print(f"PostgreSQL unavailable, skipped: {why}")
            args.kinds = [k for k in args.kinds if k != "postgres"]
    started = time.monotonic()
    crashed = []
    for name in args.names:
        if name == "exports" and "tally" in args.names:
            continue  # ran with the tally, on the same data set
        try:
            if name in ("tally", "exports"):
                from bench.biground import run_group

                run_group(report, args.kinds, args.quick, args.names)
                continue
            module = importlib.import_module(f"bench.{MODULES.get(name, name)}")
            module.run(report, args.kinds, args.quick)
            if name == "rush" and "profile" not in args.names and _rush_too_slow(report):
                report.note("the hall rush missed a floor: profiling one submission")
                importlib.import_module("bench.submit_profile").run(report, args.kinds,
                                                                    args.quick)
        except Exception:  # noqa: BLE001 - report and go on with the next benchmark
            crashed.append(name)
            report.figure(name, "CRASHED", "see traceback", verdict="FAIL")
            traceback.print_exc()
    print(report.summary())
    print(f"load average at the end: {_load()}")
    print(f"total time {time.monotonic() - started:.0f} s")
    return 1 if report.failures or crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
