"""3. Card printing: a 1,000-card PDF against computing the 1,000 QR matrices alone.

Both sides are warmed up first (imports, font registration), then timed alternately
three times; the medians are compared. The PDF must stay small, and its Chinese title
must come back out of the first page through pypdfium2's text extraction (the font is
embedded, with a usable ToUnicode map).
"""
from __future__ import annotations

import io

from bench.inproc import PUBLIC_URL
from bench.report import Report, ms, ratio
from bench.server import SECRET_KEY
from bench.timing import median, paired

SECTION = "3. card printing"
TITLE = "县政府办公室党支部整改满意度测评"
MAX_RATIO = 1.5
MAX_BYTES = 3 * 10**6
REPEATS = 3


def faces(count: int):
    """``count`` cards as a real round prints them: URL, grouped code, group label."""
    from evalsvc.render.cards import CardFace
    from evalsvc.services import codes

    result = []
    for n in range(count):
        group, label = ("member", "党员") if n % 4 == 0 else ("masses", "群众代表")
        code = codes.card_code(SECRET_KEY, 4242, group, n)
        result.append(CardFace(codes.card_url(PUBLIC_URL, code), codes.display_code(code),
                               label))
    return result


def _pdf(cards) -> bytes:
    from evalsvc.render.cards import cards_pdf

    out = io.BytesIO()
    cards_pdf(TITLE, cards, out, typed_url=f"{PUBLIC_URL}/c")
    return out.getvalue()


def _matrices(cards) -> list:
    from evalsvc.render.qr import qr_matrix

    return [qr_matrix(face.url) for face in cards]


def _first_page_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage().get_text_bounded()
        return text
    finally:
        document.close()


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Time the PDF and its baseline, then check its size and its text."""
    count = 200 if quick else 1000
    cards = faces(count)
    _pdf(cards[:8])
    _matrices(cards[:8])
    samples: list[bytes] = []

    def pdf():
        samples.append(_pdf(cards))

    took, base = paired(pdf, lambda: _matrices(cards), REPEATS, pick=median)
    data = samples[-1]
    report.note(f"{count} cards, {-(-count // 8)} A4 pages; URL like {cards[0].url}", SECTION)
    report.check(SECTION, f"cards_pdf, {count} cards", ms(took), took <= MAX_RATIO * base,
                 f"≤ {MAX_RATIO}× baseline", ratio(took, base))
    report.figure(SECTION, f"baseline: {count} × qr_matrix", ms(base))
    report.check(SECTION, "PDF size", f"{len(data) / 1e6:.2f} MB", len(data) <= MAX_BYTES,
                 f"≤ {MAX_BYTES / 1e6:.0f} MB", f"{len(data) / count / 1024:.1f} KiB per card")
    text = "".join(_first_page_text(data).split())
    found = TITLE in text
    report.check(SECTION, "title extracted from page 1", "found" if found else "missing",
                 found, "Chinese title readable", f"{len(text)} characters on page 1")
    label_found = "群众代表" in text
    report.figure(SECTION, "group label extracted from page 1",
                  "found" if label_found else "missing")
