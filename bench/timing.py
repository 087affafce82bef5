"""Small timing helpers: best-of and median-of, interleaving a figure with its baseline."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call took, and what it returned."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def paired(measure: Callable[[], object], baseline: Callable[[], object], repeats: int,
           pick=min) -> tuple[float, float]:
    """Time ``baseline`` and ``measure`` alternately ``repeats`` times each; return
    (pick of measure times, pick of baseline times). Alternating spreads a noisy
    neighbour's load over both."""
    ours, theirs = [], []
    for _ in range(repeats):
        theirs.append(timed(baseline)[0])
        ours.append(timed(measure)[0])
    return pick(ours), pick(theirs)


def median(values) -> float:
    return statistics.median(values)
