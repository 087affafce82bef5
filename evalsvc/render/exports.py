"""Spreadsheet exports of a round's results: CSV streamed in chunks, XLSX in write-only mode.

Every cell goes through ``safe_cell``, so that a comment such as ``=HYPERLINK(...)`` reaches the
reader as text and is never run as a formula (OWASP "CSV injection"). Suppressed values (None
in the tally) are written as words, never as 0, so a hidden group never passes for an empty one.
Neither writer holds the rows: a Flask ``Response(stream_csv(...))`` and ``write_xlsx`` keep
memory bounded however many rows a generator yields.
openpyxl is imported inside the functions only: most requests never export.
"""
import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from evalsvc.tally import ItemResult, ResultTable, RoundResult

# Characters a spreadsheet may read as the start of a formula (OWASP CSV injection). Their
# full-width and small forms (＝＋－＠, ﹦﹢﹣﹫), which a Chinese input method types and an
# office suite may fold to ASCII, count too: ``safe_cell`` folds the first character (NFKC).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SUPPRESSED = "（不足{min_cell}份或为防止推算，不予显示）"  # as the web page says
COMMENTS_WITHHELD = "共{count}条（意见少于{min_text_cell}条，不予显示）"
CSV_CHUNK_ROWS = 500
NOTES_TITLE = "说明"
TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
TITLE_MAX = 31  # Excel refuses longer sheet names
ROW_PX = 20  # Excel's default row height (15 pt) in pixels: how many rows an image covers
CSV_HEADER = ("部分", "题目或党员", "选项", "票数", "比例")


class Share(float):
    """A proportion: written as a percentage in CSV, as a percent-formatted number in XLSX."""


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title, a header row, and rows that may be a generator (read once)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence]


def safe_cell(value):
    """The value with a leading apostrophe when it is text a spreadsheet would run as a formula.

    Numbers, None and dates pass unchanged, so a negative number stays a number.
    """
    if isinstance(value, str) and unicodedata.normalize("NFKC", value[:1]).startswith(
            FORMULA_STARTS):
        return "'" + value
    return value


def stream_csv(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV text in chunks: a BOM (so Excel reads Chinese), the header, then ~500 rows a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_value(value) for value in header])
    yield "\ufeff" + _drain(buffer)
    pending = 0
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        pending += 1
        if pending == CSV_CHUNK_ROWS:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def _csv_value(value):
    """One CSV cell: formula-safe, with proportions as percentages."""
    value = safe_cell(value)
    return f"{value:.1%}" if isinstance(value, Share) else value


def _drain(buffer: io.StringIO) -> str:
    """What the buffer holds, leaving it empty for the next chunk."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text


def write_xlsx(sheets: Sequence[Sheet], out: BinaryIO, *,
               images: Sequence[tuple[str, bytes]] = (), notes: Sequence[str] = ()) -> None:
    """Write a workbook: a "说明" sheet (notes, then captioned PNGs) when given, then the sheets.

    Every sheet is write-only, so rows go to disk as they come (images included: openpyxl
    keeps only the drawing anchors until it saves).
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    if notes or images or not sheets:
        _write_notes(workbook.create_sheet(sheet_title(NOTES_TITLE, taken)), notes, images)
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet_title(sheet.title, taken))
        cell = _cell_maker(worksheet)
        worksheet.append([cell(value, bold=True) for value in sheet.header])
        for row in sheet.rows:
            worksheet.append([cell(value) for value in row])
    workbook.save(out)


def sheet_title(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (no ``[]:*?/\\``, at most 31 characters), unique in ``taken``."""
    clean = TITLE_FORBIDDEN.sub("_", title).strip().strip("'") or "Sheet"
    candidate, number = clean[:TITLE_MAX], 2
    while candidate.casefold() in taken:  # Excel compares sheet names without case
        suffix = f"({number})"
        candidate, number = clean[:TITLE_MAX - len(suffix)] + suffix, number + 1
    taken.add(candidate.casefold())
    return candidate


def _write_notes(worksheet, notes: Sequence[str], images: Sequence[tuple[str, bytes]]) -> None:
    """Notes one per row, a blank row, then each image under its caption, one below another."""
    from openpyxl.drawing.image import Image

    cell = _cell_maker(worksheet)
    for line in notes:
        worksheet.append([cell(line)])
    next_row = len(notes) + 1
    if notes and images:
        worksheet.append([])
        next_row += 1
    for caption, png in images:
        picture = Image(io.BytesIO(png))
        worksheet.append([cell(caption, bold=True)])
        worksheet.add_image(picture, f"A{next_row + 1}")
        covered = math.ceil(picture.height / ROW_PX) + 1  # the image, and a gap below it
        for _ in range(covered):
            worksheet.append([])
        next_row += 1 + covered


def _cell_maker(worksheet):
    """A function turning a value into a cell of ``worksheet``.

    Text is formula-safe and loses the characters XML cannot hold (C0 controls; U+FFFE and
    U+FFFF, which older ballots may hold: they were stripped at input later); a ``Share``
    becomes a percent-formatted number; bold only where asked (a styled cell costs more).
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    bold_font = Font(bold=True)
    not_xml = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ufffe\uffff]")

    def cell(value, bold: bool = False):
        """The cell for one value."""
        value = safe_cell(value)
        if isinstance(value, str):
            value = not_xml.sub("", value)
        if not bold and not isinstance(value, Share):
            return value
        styled = WriteOnlyCell(worksheet, value=float(value) if isinstance(value, Share) else value)
        if isinstance(value, Share):
            styled.number_format = "0.0%"
        if bold:
            styled.font = bold_font
        return styled

    return cell


def round_sheets(result: RoundResult, *, min_cell: int = 5, min_text_cell: int = 10,
                 question_texts: dict[str, str] | None = None) -> list[Sheet]:
    """A closed round as sheets: 结果, and 分组, 党员 and 意见 when the round has them.

    ``min_cell`` and ``min_text_cell`` only word the suppression notices; the tally has
    already decided what is hidden. ``question_texts`` (key → wording, from the round's
    layout) labels the free-text questions, which the tally knows by key only.
    """
    hidden = SUPPRESSED.format(min_cell=min_cell)
    items = list(_item_rows(result.items, hidden, label=_item_rate(result)))
    if result.rate is not None:
        items.append(("全部题目", f"综合{result.rate_label}", None, Share(result.rate)))
    sheets = [Sheet("结果", ("题目", "选项", "票数", _share_header(result)), items)]
    sheets += [Sheet(t.title, t.header, list(_table_rows(t))) for t in result.tables]
    if result.groups:
        sheets.append(Sheet("分组", _group_header(result), list(_group_rows(result, hidden))))
    if result.members:
        header = ("姓名", *result.grade_labels.values(), "有效票",
                  *(f"{k}（占有效票）" for k in _member_extras(result)), "初评")
        sheets.append(Sheet("党员", header, list(_member_rows(result))))
    if result.comments or result.comments_suppressed:
        sheets.append(Sheet("意见", ("题目", "意见"),
                            list(_comment_rows(result, min_text_cell, question_texts))))
    return sheets


def _share_header(result: RoundResult) -> str:
    """What each share of the 结果 sheet is over: an option's, over the item's answers; a
    rate, over the valid answers (不了解 not counted)."""
    rate = _item_rate(result)
    if not rate:
        return "占本题作答比例"
    return f"比例（选项：占本题作答；{rate}：占有效答案，不含不了解）"


def _item_rate(result: RoundResult) -> str:
    """What the kind calls an item's rate (满意率, 正确率…)."""
    return result.item_rate_label or result.rate_label


def _table_rows(table: ResultTable) -> Iterator[list]:
    """A kind's table, its proportion columns as ``Share``."""
    for row in table.rows:
        yield [Share(v) if i in table.shares and v is not None else v
               for i, v in enumerate(row)]


def _item_rows(items: Sequence[ItemResult], hidden: str, suppressed: bool = False, *,
               label: str) -> Iterator[tuple]:
    """(题目, 选项, 票数, 比例) per option, then the item's rate (named ``label``)."""
    for item in items:
        for option in item.options:
            count = None if suppressed else option.count
            if count is None:
                yield item.text, option.label, hidden, hidden
            else:
                share = None if option.share is None else Share(option.share)
                yield item.text, option.label, count, share
        if item.rate is not None and not suppressed:
            yield item.text, label, None, Share(item.rate)


def _group_header(result: RoundResult) -> tuple:
    """参评对象, cards, ballots, one column per item and option, and the rate if groups
    have one."""
    options = [f"{item.text}：{option.label}" for item in result.items for option in item.options]
    rated = (f"{result.rate_label}（占有效答案）",) \
        if any(g.rate is not None for g in result.groups) else ()
    return ("参评对象", "测评卡", "已提交", *options, *rated)


def _group_rows(result: RoundResult, hidden: str) -> Iterator[tuple]:
    """One row per respondent group; a suppressed group shows the notice in every count."""
    rated = any(g.rate is not None for g in result.groups)
    for group in result.groups:
        counts = {(item.key, option.value): option.count
                  for item in group.items for option in item.options}
        cells = []
        for item in result.items:
            for option in item.options:
                count = None if group.suppressed else counts.get((item.key, option.value))
                cells.append(hidden if count is None else count)
        if rated:
            cells.append(hidden if group.suppressed else
                         None if group.rate is None else Share(group.rate))
        yield (group.label, group.cards, group.ballots, *cells)


def _member_extras(result: RoundResult) -> list[str]:
    """The kind's own per-member shares (e.g. 不合格比例), in first-seen order."""
    return list(dict.fromkeys(k for m in result.members for k in m.extra))


def _member_rows(result: RoundResult) -> Iterator[tuple]:
    """姓名, the count of each grade in order, valid votes, the kind's shares, the flag."""
    extras = _member_extras(result)
    for member in result.members:
        grades = (member.counts.get(value, 0) for value in result.grade_labels)
        shares = (None if member.extra.get(k) is None else Share(member.extra[k])
                  for k in extras)
        yield (member.name, *grades, member.valid, *shares,
               "不合格" if member.flagged else None)


def _comment_rows(result: RoundResult, min_text_cell: int,
                  question_texts: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """(题目, 意见) one comment per row, then a notice for each question's withheld comments."""
    texts = {**(question_texts or {}), **{item.key: item.text for item in result.items}}
    for key, comments in result.comments.items():
        for comment in comments:
            yield texts.get(key, key), comment
    for key, count in result.comments_suppressed.items():
        yield texts.get(key, key), COMMENTS_WITHHELD.format(count=count,
                                                            min_text_cell=min_text_cell)


def round_csv(result: RoundResult, *, min_cell: int = 5, min_text_cell: int = 10,
              question_texts: dict[str, str] | None = None) -> Iterator[str]:
    """The same content as ``round_sheets`` in one CSV (部分, 题目或党员, 选项, 票数, 比例)."""
    return stream_csv(CSV_HEADER, _csv_rows(result, min_cell, min_text_cell, question_texts))


def _csv_rows(result: RoundResult, min_cell: int, min_text_cell: int,
              question_texts: dict[str, str] | None = None) -> Iterator[tuple]:
    """Every part of the round, each row labelled with the part it belongs to."""
    hidden = SUPPRESSED.format(min_cell=min_cell)
    rate_label = _item_rate(result)
    for row in _item_rows(result.items, hidden, label=rate_label):
        yield ("结果", *row)
    if result.rate is not None:
        yield "结果", "全部题目", f"综合{result.rate_label}", None, Share(result.rate)
    for table in result.tables:  # one CSV row per cell: (table, row name, column, n, share)
        for first, *rest in _table_rows(table):
            for name, value in zip(table.header[1:], rest):
                share = isinstance(value, Share)
                yield table.title, first, name, None if share else value, value if share else None
    for group in result.groups:
        part = f"分组：{group.label}"
        yield part, "测评卡", None, group.cards, None
        yield part, "已提交", None, group.ballots, None
        # A suppressed group may carry no items: lay it out like the round, all hidden.
        items = result.items if group.suppressed else group.items
        for row in _item_rows(items, hidden, suppressed=group.suppressed, label=rate_label):
            yield (part, *row)
        if group.rate is not None and not group.suppressed:
            yield part, "全部题目", result.rate_label, None, Share(group.rate)
    for member in result.members:
        for value, label in result.grade_labels.items():
            count = member.counts.get(value, 0)
            yield "党员", member.name, label, count, \
                Share(count / member.valid) if member.valid else None
        yield "党员", member.name, "有效票", member.valid, None
        if member.flagged:
            yield "党员", member.name, "初评：不合格", None, None
    for question, text in _comment_rows(result, min_text_cell, question_texts):
        yield "意见", question, text, None, None

