"""One export in a fresh process, measuring its peak memory growth (run by bench.exports).

    python -m bench.export_worker DATABASE_URL INSTANCE ROUND_ID FORMAT OUT

FORMAT is ``xlsx`` or ``csv`` (``round_sheets``/``write_xlsx``/``round_csv`` on the result
stored at closing) or ``raw`` (one CSV row per ballot, streamed from the ballots with
``stream_csv``). The app and the stored result are loaded first; then the peak resident
set is reset (``/proc/self/clear_refs``), the file written, and the growth of the peak
(VmHWM) over the resident set before (VmRSS) printed as JSON with the time and file size.
"""
from __future__ import annotations

import json
import os
import sys
import time

from bench.memory import reset_peak, status


def _raw_rows(round_id: int):
    """(ballot, group, grade per member…) per ballot, streamed in ballot-id order."""
    import sqlalchemy as sa

    from evalsvc.extensions import db
    from evalsvc.models import Ballot, Round
    from evalsvc.services import rounds
    from evalsvc.services.packed import unpack

    layout = rounds.layout(db.session.get(Round, round_id))
    keys = [q.key for q in layout]
    header = ("答卷", "参评对象分组", *(q.text for q in layout))
    query = (sa.select(Ballot.id, Ballot.group_id, Ballot.answers)
             .where(Ballot.round_id == round_id).order_by(Ballot.id)
             .execution_options(stream_results=True, yield_per=5000))

    def rows():
        for ballot_id, group_id, packed in db.session.execute(query):
            cells = {q: t if v == "" else v for q, v, t in unpack(packed)}
            yield (ballot_id[:8], group_id, *(cells.get(k, "") for k in keys))

    return header, rows()


def main(argv: list[str]) -> int:
    url, instance, round_id, fmt, out = argv[1], argv[2], int(argv[3]), argv[4], argv[5]
    from evalsvc import create_app
    from evalsvc.extensions import db
    from evalsvc.models import Round
    from evalsvc.render import exports
    from evalsvc.services import results

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789abcdefgh"},
                     instance_path=instance)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        result = results.result_of(round_)
        settings = results.settings_for(round_)
        if fmt == "xlsx":  # importing the library is not the export's growth
            __import__("openpyxl.cell.cell")
        rss_before = status("VmRSS")
        exact = reset_peak()
        start = time.perf_counter()
        if fmt == "xlsx":
            sheets = exports.round_sheets(result, min_cell=settings.min_cell,
                                          min_text_cell=settings.min_text_cell)
            with open(out, "wb") as fh:
                exports.write_xlsx(sheets, fh, notes=[round_.title])
        elif fmt == "csv":
            with open(out, "w", encoding="utf-8", newline="") as fh:
                for chunk in exports.round_csv(result, min_cell=settings.min_cell,
                                               min_text_cell=settings.min_text_cell):
                    fh.write(chunk)
        elif fmt == "raw":
            header, rows = _raw_rows(round_id)
            with open(out, "w", encoding="utf-8", newline="") as fh:
                for chunk in exports.stream_csv(header, rows):
                    fh.write(chunk)
        else:
            raise SystemExit(f"unknown format {fmt}")
        seconds = time.perf_counter() - start
        peak = status("VmHWM")
    json.dump({"seconds": seconds, "growth": peak - rss_before, "rss_before": rss_before,
               "peak": peak, "exact_reset": exact, "bytes": os.path.getsize(out)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
