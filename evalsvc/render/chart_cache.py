"""Charts of closed rounds, rendered once and kept as files (a closed round never changes)."""
import os
import secrets
from pathlib import Path

from evalsvc.render.charts import available_charts, render_chart
from evalsvc.tally import RoundResult

# Bumped when charts are drawn differently, so files drawn before are never served again
# (2: names drawn literally, where $...$ used to be read as math).
DRAWING = 2


def cached_chart(directory: Path, result: RoundResult, name: str, fmt: str,
                 version: str) -> bytes:
    """The chart from the cache, rendering and storing it on first use. ``version`` (the
    round's seal) keeps a purged rehearsal's charts from standing in for the live run's."""
    if name not in available_charts(result) or fmt not in ("svg", "png"):
        raise ValueError(f"no chart {name}.{fmt} for round {result.round_id}")
    path = directory / f"round-{result.round_id}-{version[:16]}-d{DRAWING}-{name}.{fmt}"
    if path.exists():
        return path.read_bytes()
    data = render_chart(result, name, fmt)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: workers racing here write the same bytes
    return data
