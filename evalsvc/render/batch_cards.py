"""One card PDF for many branches: per branch a 发放登记 (hand-out register) sheet, then its
cards, group by group, each group starting on a fresh sheet so cut cards never mix groups.

The file is drawn as its parts arrive: a branch's cards are read from an iterator, so only
one sheet of cards is held at a time, and each finished page is compressed at once
(``cards.finish_page``): what stays until the file is saved is about its final size.
"""
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from evalsvc.render.cards import (
    MM,
    PAGE_H,
    PAGE_W,
    CardFace,
    card_template,
    draw_deck,
    finish_page,
)
from evalsvc.render.fonts import reportlab_font
from evalsvc.render.text_fit import fit_text

SHEET_TITLE = "测评卡发放登记"
COLUMNS = (("测评", 62), ("次数", 16), ("参评对象", 22), ("卡数", 14),
           ("发放人（签名）", 36), ("发放时间", 30))  # (heading, width in mm)
ROW_H = 14 * MM
NOTE = ("请按参评对象分别发放，发放后由发放人签名并填写时间。"
        "卡上印有测评次数（第几次），旧卡与新卡不得混发。")


@dataclass(frozen=True)
class Deck:
    """The cards of one group of one round: its register line and its faces (lazy)."""

    round_key: str  # one card template per round
    round_title: str
    attempt: int
    group_label: str
    count: int
    faces: Iterable[CardFace]


@dataclass(frozen=True)
class BranchPart:
    """One branch's part of the file, in print order."""

    branch: str
    decks: list[Deck]


def batch_cards_pdf(title: str, parts: Iterator[BranchPart], out: BinaryIO, *,
                    typed_url: str) -> int:
    """Write every part, register sheet first, to ``out``; returns the number of pages."""
    from reportlab.pdfgen import canvas as pdfcanvas

    pdf = pdfcanvas.Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    pdf.setTitle(title)
    templates: dict[str, object] = {}
    pages = 0
    for part in parts:
        pages += _register_sheet(pdf, part)
        for deck in part.decks:
            form = f"card_{deck.round_key}"
            if form not in templates:
                templates[form] = card_template(pdf, deck.round_title, typed_url, form)
            pages += draw_deck(pdf, deck.faces, templates[form], form)
    if not pages:
        raise ValueError("there are no cards to print")
    pdf.save()
    return pages


def _register_sheet(pdf, part: BranchPart) -> int:
    """The 发放登记 sheet: one row per group of each round, with signature and date blanks;
    continued on another page when a branch has many; returns the pages drawn."""
    font = reportlab_font()
    left, pages = 15 * MM, 1
    y = _sheet_head(pdf, part.branch, font, left)
    for deck in part.decks:
        y -= ROW_H
        if y < 30 * MM:
            finish_page(pdf)
            pages += 1
            y = _sheet_head(pdf, f"{part.branch}（续）", font, left) - ROW_H
        _row(pdf, left, y, [deck.round_title, f"第{deck.attempt}次", deck.group_label,
                            str(deck.count), "", "    年  月  日"], font, 9)
    size, lines = fit_text(NOTE, font, PAGE_W - 2 * left, max_lines=3, largest=10, smallest=8)
    pdf.setFont(font, size)
    for index, line in enumerate(lines):
        pdf.drawString(left, y - 10 * MM - index * size * 1.4, line)
    finish_page(pdf)
    return pages


def _sheet_head(pdf, branch: str, font: str, left: float) -> float:
    """Title, branch and the table's heading row; returns the heading row's top."""
    top = PAGE_H - 20 * MM
    pdf.setFont(font, 18)
    pdf.drawCentredString(PAGE_W / 2, top, SHEET_TITLE)
    pdf.setFont(font, 12)
    pdf.drawString(left, top - 12 * MM, f"支部：{branch}")
    y = top - 22 * MM
    _row(pdf, left, y, [heading for heading, _w in COLUMNS], font, 10)
    return y


def _row(pdf, left: float, top: float, cells: list[str], font: str, largest: float) -> None:
    """One table row of ROW_H below ``top``, boxed, each cell's text fitted to its column."""
    x = left
    for text, (_heading, width_mm) in zip(cells, COLUMNS):
        width = width_mm * MM
        pdf.rect(x, top - ROW_H, width, ROW_H, stroke=1, fill=0)
        if text:
            size, lines = fit_text(text, font, width - 2 * MM, max_lines=2, largest=largest,
                                   smallest=6)
            pdf.setFont(font, size)
            first = top - ROW_H / 2 + (len(lines) - 1) * size * 0.6 - size * 0.35
            for index, line in enumerate(lines):
                pdf.drawString(x + 1 * MM, first - index * size * 1.2, line)
        x += width
