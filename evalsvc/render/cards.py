"""Printable QR cards (eight to an A4 sheet) and the poster of an open round, as PDF.

Each card is drawn from three parts: a form XObject holding what every card shares (title,
instructions), drawn once per file; the card's own group label and code; and its QR code as
one vector path. Sharing the template and writing the QR path directly keeps 1,000 cards to a
couple of seconds beyond computing their matrices, and the file small.
reportlab is imported inside the functions only (see ``fonts``).
"""
import functools
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from evalsvc.render.fonts import reportlab_font
from evalsvc.render.qr import QUIET_ZONE, qr_matrix, qr_pdf_ops
from evalsvc.render.text_fit import fit_text

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
COLUMNS, ROWS = 2, 4
PER_PAGE = COLUMNS * ROWS
CARD_W, CARD_H = 95 * MM, 68 * MM
GRID_X, GRID_Y = (PAGE_W - COLUMNS * CARD_W) / 2, (PAGE_H - ROWS * CARD_H) / 2
PAD = 4 * MM
# The QR symbol with its quiet zone: a version-3 symbol (29 modules) comes out 36 mm wide.
QR_BLOCK = 46 * MM
QR_X, QR_Y = 2.5 * MM, 3 * MM
COLUMN_X = QR_X + QR_BLOCK + 1 * MM  # the text column right of the QR code
COLUMN_W = CARD_W - PAD - COLUMN_X
BODY_TOP = QR_Y + QR_BLOCK
LABEL_SIZE, LABEL_H = 11, 6.5 * MM
CODE_FONT = "Courier-Bold"
FORM_NAME = "evalsvc_card"
POSTER_QR = 120 * MM  # the poster's QR symbol, quiet zone excluded

INSTRUCTION = "请用手机扫描二维码参加测评（匿名，一码一次）"
FALLBACK = "无法扫码时，请在浏览器打开 {typed_url} 并输入上方代码"


@dataclass(frozen=True)
class CardFace:
    """What one card shows: the URL its QR code encodes, its code as printed, its group."""

    url: str
    code: str
    group_label: str


@dataclass(frozen=True)
class CodeBox:
    """The space left for the code on every card, between the group label and the texts."""

    top: float
    bottom: float


def cards_pdf(title: str, faces: Sequence[CardFace], out: BinaryIO, *, typed_url: str) -> int:
    """Write the cards of ``faces`` to ``out`` as an A4 PDF, eight a sheet.

    Returns the number of pages.
    """
    from reportlab.pdfgen import canvas as pdfcanvas

    if not faces:
        raise ValueError("there are no cards to print")
    pdf = pdfcanvas.Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    pdf.setTitle(title)
    code_box = card_template(pdf, title, typed_url, FORM_NAME)
    pages = draw_deck(pdf, faces, code_box, FORM_NAME)
    pdf.save()
    return pages


def draw_deck(pdf, faces: Iterable[CardFace], code_box: "CodeBox", form: str) -> int:
    """Draw cards eight a sheet from a fresh page on, reading ``faces`` as it goes (so a
    generator keeps only one sheet of cards in memory); returns the pages drawn."""
    pages, sheet = 0, []
    for face in faces:
        sheet.append(face)
        if len(sheet) == PER_PAGE:
            pages += _draw_sheet(pdf, sheet, code_box, form)
            sheet = []
    if sheet:
        pages += _draw_sheet(pdf, sheet, code_box, form)
    return pages


def _draw_sheet(pdf, sheet: list[CardFace], code_box: "CodeBox", form: str) -> int:
    for slot, face in enumerate(sheet):
        _draw_card(pdf, face, slot, code_box, form)
    _cut_marks(pdf, len(sheet))
    finish_page(pdf)
    return 1


def finish_page(pdf) -> None:
    """End the page and compress its drawing now, not when the file is saved.

    reportlab keeps every finished page's operators as text until ``save`` (some 60 kB a
    sheet of eight QR codes), so a batch of 20,000 cards would hold 150 MB; compressed
    straight away a sheet takes a few kB. The page gets reportlab's own stream object,
    with its filter already applied and named (reportlab leaves such a stream as is).
    """
    from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream

    pdf.showPage()
    page = pdf._doc.Pages.pages[-1]  # the page just finished
    if page.Contents or not getattr(page, "stream", None):
        return  # not what this reportlab does: leave it to save
    content = page.stream.encode("utf8") if isinstance(page.stream, str) else page.stream
    page.Contents = PDFStream(PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}),
                              zlib.compress(content))
    page.Contents.__Comment__ = "page stream"
    page.stream = None


def card_template(pdf, title: str, typed_url: str, form: str) -> CodeBox:
    """Draw what all cards of a round share into the form XObject ``form``; return where
    the code goes."""
    font = reportlab_font()
    pdf.beginForm(form, 0, 0, CARD_W, CARD_H)
    # One line unless that makes the title small; then two lines, cut if still too long.
    size, lines = fit_text(title, font, CARD_W - 2 * PAD, max_lines=1, largest=11, smallest=9.5)
    if lines[-1].endswith("…"):
        size, lines = fit_text(title, font, CARD_W - 2 * PAD, max_lines=2, largest=11, smallest=7)
    band_middle = (CARD_H - PAD + BODY_TOP) / 2  # centred between the card's top and the body
    _draw_lines(pdf, lines, font, size, CARD_W / 2, band_middle + len(lines) * size * 0.625,
                align="center")
    pdf.setFillGray(0.25)
    bottom = PAD
    fallback = FALLBACK.format(typed_url=typed_url)
    for text, largest, max_lines in ((fallback, 7, 4), (INSTRUCTION, 8, 2)):
        size, lines = fit_text(text, font, COLUMN_W, max_lines=max_lines, largest=largest,
                                smallest=5.5)
        height = len(lines) * size * 1.25
        _draw_lines(pdf, lines, font, size, COLUMN_X, bottom + height)
        bottom += height + 1.2 * MM
    pdf.endForm()
    return CodeBox(top=BODY_TOP - LABEL_H - 1.5 * MM, bottom=bottom)


def _draw_card(pdf, face: CardFace, slot: int, code_box: CodeBox, form: str) -> None:
    """Draw one card in its slot of the sheet: template, group label, code and QR code."""
    column, row = slot % COLUMNS, slot // COLUMNS
    pdf.saveState()
    pdf.translate(GRID_X + column * CARD_W, GRID_Y + (ROWS - 1 - row) * CARD_H)
    pdf.doForm(form)
    _draw_label(pdf, face.group_label)
    _draw_code(pdf, face.code, code_box)
    pdf.addLiteral(qr_pdf_ops(qr_matrix(face.url), QR_X, QR_Y, QR_BLOCK))
    pdf.restoreState()


def _draw_label(pdf, label: str) -> None:
    """Draw the group label (e.g. 群众代表) in a rounded box at the top of the text column."""
    font = reportlab_font()
    size, lines = _label_fit(label)
    pdf.setLineWidth(0.6)
    pdf.roundRect(COLUMN_X, BODY_TOP - LABEL_H, COLUMN_W, LABEL_H, 1.5 * MM, stroke=1, fill=0)
    baseline = BODY_TOP - LABEL_H / 2 - size * 0.35
    pdf.setFont(font, size)
    pdf.drawCentredString(COLUMN_X + COLUMN_W / 2, baseline, lines[0])


@functools.lru_cache(maxsize=64)
def _label_fit(label: str) -> tuple[float, list[str]]:
    """Fit a group label on one line of the label box (cached: a file has few labels)."""
    return fit_text(label, reportlab_font(), COLUMN_W - 3 * MM, max_lines=1,
                    largest=LABEL_SIZE, smallest=6)


def _draw_code(pdf, code: str, box: CodeBox) -> None:
    """Draw the card's code in rows of whole groups, as large as the box allows, centred in it."""
    groups = code.split()
    size, per_row = _code_layout(tuple(len(g) for g in groups), box)
    rows = [" ".join(groups[i:i + per_row]) for i in range(0, len(groups), per_row)]
    leading = size * 1.2
    first = (box.top + box.bottom) / 2 + len(rows) * leading / 2 - size * 0.85
    pdf.setFont(CODE_FONT, size)
    for index, row in enumerate(rows):
        pdf.drawString(COLUMN_X, first - index * leading, row)


@functools.lru_cache(maxsize=64)
def _code_layout(group_lengths: tuple[int, ...], box: CodeBox) -> tuple[float, int]:
    """Return the largest font size for the code and how many groups go in each row.

    Every row but the last holds the same number of groups, so the monospaced groups line up
    in columns and are easy to type one by one. The layout depends on the group lengths only,
    so the cards of a file share it.
    """
    best = (0.0, 1)
    for per_row in range(1, len(group_lengths) + 1):
        rows = math.ceil(len(group_lengths) / per_row)
        widest = max(
            sum(group_lengths[i:i + per_row]) + per_row - 1
            for i in range(0, len(group_lengths), per_row)
        )
        # Every Courier glyph is 0.6 em wide; rows are 1.2 em apart.
        size = min(16.0, COLUMN_W / (0.6 * widest), (box.top - box.bottom) / (1.2 * rows))
        size = math.floor(size * 2) / 2
        if size > best[0]:
            best = (size, per_row)
    return best


def _cut_marks(pdf, count: int) -> None:
    """Draw dashed cut lines around the used card slots and solid ticks in the page margin."""
    rows = math.ceil(count / COLUMNS)
    columns = min(count, COLUMNS)
    left, right = GRID_X, GRID_X + columns * CARD_W
    top, bottom = GRID_Y + ROWS * CARD_H, GRID_Y + (ROWS - rows) * CARD_H
    xs = [left + i * CARD_W for i in range(columns + 1)]
    ys = [bottom + i * CARD_H for i in range(rows + 1)]
    pdf.saveState()
    pdf.setStrokeGray(0.55)
    pdf.setLineWidth(0.4)
    tick = 6 * MM
    for x in xs:
        pdf.line(x, bottom - tick - 1 * MM, x, bottom - 1 * MM)
        pdf.line(x, top + 1 * MM, x, top + tick + 1 * MM)
    for y in ys:
        pdf.line(left - tick - 1 * MM, y, left - 1 * MM, y)
        pdf.line(right + 1 * MM, y, right + tick + 1 * MM, y)
    pdf.setDash(2, 2)
    pdf.setLineWidth(0.3)
    for x in xs:
        pdf.line(x, bottom, x, top)
    for y in ys:
        pdf.line(left, y, right, y)
    pdf.restoreState()


def poster_pdf(title: str, url: str, out: BinaryIO, *, note: str) -> None:
    """Write a one-page A4 poster: the title, one large QR code, its URL and a note,
    centred on the page."""
    from reportlab.pdfgen import canvas as pdfcanvas

    font, width = reportlab_font(), PAGE_W - 40 * MM
    matrix = qr_matrix(url)
    quiet = QUIET_ZONE * POSTER_QR / len(matrix)  # nothing is drawn in the quiet zone
    texts = [
        fit_text(title, font, width, max_lines=3, largest=26, smallest=14),
        fit_text(url, font, width, max_lines=2, largest=16, smallest=9),
        fit_text(note, font, width, max_lines=4, largest=16, smallest=10),
    ]
    title_h, url_h, note_h = (len(lines) * size * 1.25 for size, lines in texts)
    block = POSTER_QR + 2 * quiet
    top = (PAGE_H + title_h + block + url_h + 8 * MM + note_h) / 2  # centred vertically
    pdf = pdfcanvas.Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    pdf.setTitle(title)
    (title_size, title_lines), (url_size, url_lines), (note_size, note_lines) = texts
    _draw_lines(pdf, title_lines, font, title_size, PAGE_W / 2, top, align="center")
    top -= title_h + block
    pdf.addLiteral(qr_pdf_ops(matrix, (PAGE_W - block) / 2, top, block))
    _draw_lines(pdf, url_lines, font, url_size, PAGE_W / 2, top, align="center")
    top -= url_h + 8 * MM
    _draw_lines(pdf, note_lines, font, note_size, PAGE_W / 2, top, align="center")
    pdf.showPage()
    pdf.save()


def _draw_lines(pdf, lines: list[str], font: str, size: float, x: float, top: float,
                align: str = "left") -> None:
    """Draw lines from ``top`` down, 1.25 size apart, left-aligned at or centred on ``x``."""
    pdf.setFont(font, size)
    draw = pdf.drawCentredString if align == "center" else pdf.drawString
    for index, line in enumerate(lines):
        draw(x, top - size * 0.9 - index * size * 1.25, line)
