"""Cards for a batch: one PDF of 20,000 cards (500 branches × 40, each branch after its
发放登记 sheet) through ``printing.batch_card_pdf``, the service the web and CLI call,
written to a file; against computing the 20,000 QR matrices alone (``qr_matrix`` on the
same URLs). Peak memory growth: VmHWM after (reset through /proc/self/clear_refs) minus
VmRSS before. SQLite only: the rendering does not depend on the database.
"""
from __future__ import annotations

from bench.bulk import ROOT, add_branches, create_and_open
from bench.databases import fresh_database
from bench.inproc import app_on, prepare
from bench.memory import reset_peak, status
from bench.report import Report, mib, ms, ratio
from bench.timing import timed

SECTION = "10. batch card PDF"
MAX_RATIO = 1.5
MAX_GROWTH = 200 * 2**20


def _urls() -> list[str]:
    from flask import current_app

    from evalsvc.models import RoundState
    from evalsvc.services import codes, rounds
    from evalsvc.services.bulk_rounds import Selection, rounds_in

    public = current_app.config["PUBLIC_URL"]
    return [codes.card_url(public, code)
            for round_ in rounds_in(Selection(under=ROOT), RoundState.OPEN)
            for group in round_.groups for code in rounds.group_codes(round_, group)]


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Time the batch PDF and its baseline, and the PDF's memory growth."""
    from evalsvc.render.qr import qr_matrix
    from evalsvc.services import printing
    from evalsvc.services.bulk_rounds import Selection

    branches = 100 if quick else 500
    with fresh_database("sqlite") as database:
        prepare(database)
        with app_on(database) as app, app.app_context():
            add_branches(branches)
            create_and_open()
            urls = _urls()
            qr_matrix(urls[0])
            base, _ = timed(lambda: [qr_matrix(url) for url in urls])
            path = database.workdir / "batch.pdf"
            before = status("VmRSS")
            exact = reset_peak()
            with path.open("wb") as out:
                took, printed = timed(lambda: printing.batch_card_pdf(
                    None, Selection(under=ROOT), out))
            growth = status("VmHWM") - before
            size = path.stat().st_size
    report.note(f"{printed.cards} cards of {printed.rounds} rounds, {printed.pages} pages, "
                f"{size / 1e6:.1f} MB"
                + ("" if exact else "; peak counted from process start"), SECTION)
    report.check(SECTION, f"batch_card_pdf, {printed.cards} cards", ms(took),
                 took <= MAX_RATIO * base, f"≤ {MAX_RATIO}× baseline", ratio(took, base))
    report.figure(SECTION, f"baseline: {len(urls)} × qr_matrix", ms(base))
    report.check(SECTION, "peak memory growth", mib(growth), growth <= MAX_GROWTH,
                 f"≤ {mib(MAX_GROWTH)}")
