"""CSV and XLSX exports: what an office worker sees when opening them, and that they stream."""
import csv
import io
import tracemalloc
import zipfile

import openpyxl
from PIL import Image

from evalsvc.render.exports import (
    Sheet, round_csv, round_sheets, safe_cell, stream_csv, write_xlsx,
)
from evalsvc.tally import GroupResult, ItemResult, MemberResult, OptionCount, RoundResult

HIDDEN = "（不足5份或为防止推算，不予显示）"
WITHHELD = "（意见少于10条，不予显示）"
OVERALL = "您对本单位开展先进性教育活动的总体评价"
GRADES = {"excellent": "优秀", "qualified": "合格", "basic": "基本合格", "unqualified": "不合格"}
INJECTIONS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x"]
MB = 1024 * 1024


def overall_item(counts: dict[str, int] | None) -> ItemResult:
    """The overall-satisfaction question, with counts (or None when suppressed)."""
    labels = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
    valid = sum(counts.values()) if counts else None
    options = [OptionCount(value, label, counts[value] if counts else None,
                           counts[value] / valid if counts else None)
               for value, label in labels.items()]
    rate = (counts["satisfied"] + counts["basic"]) / valid if counts else None
    return ItemResult("overall", OVERALL, "choice", options, valid, valid, rate, rated=True)


def make_result(suppressed: bool = False) -> RoundResult:
    """A closed round with one group shown, two suppressed, two members and comments."""
    counts = None if suppressed else {"satisfied": 12, "basic": 5, "unsatisfied": 3}
    advice = ItemResult("advice", "您对党组织的意见和建议", "text", [], None, None, None)
    shown_group = GroupResult("member", "党员", 20, 12, False,
                              [overall_item({"satisfied": 8, "basic": 3, "unsatisfied": 1})])
    return RoundResult(
        round_id=1, kind="satisfaction", title="县委办公室党支部群众满意度测评",
        ballots=3 if suppressed else 22, suppressed=suppressed, poster=False,
        items=[overall_item(counts), advice],
        groups=[shown_group,
                GroupResult("service", "服务对象", 10, 3, True),
                GroupResult("masses", "群众代表", 15, 7, True)],
        members=[MemberResult(1, "张三", {"excellent": 5, "qualified": 10, "basic": 2,
                                        "unqualified": 3}, 20, extra={"不合格比例": 0.15}),
                 MemberResult(2, "李四", {"qualified": 8, "unqualified": 12}, 20, flagged=True,
                              extra={"不合格比例": 0.6})],
        comments={} if suppressed else {"advice": ["加强理论学习", '=HYPERLINK("http://x")']},
        comments_suppressed={"advice": 3} if suppressed else {},
        rate=None if suppressed else 17 / 20, grade_labels=GRADES, rate_label="满意率",
    )


def read_csv(chunks) -> list[list[str]]:
    """The rows a spreadsheet would read from the streamed chunks (BOM checked, then dropped)."""
    text = "".join(chunks)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def read_xlsx(data: bytes) -> dict[str, list[tuple]]:
    """Every sheet's rows of values, by sheet name, as openpyxl reads the file back."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def xlsx_bytes(sheets, **kwargs) -> bytes:
    """The bytes of ``write_xlsx`` for ``sheets``."""
    out = io.BytesIO()
    write_xlsx(sheets, out, **kwargs)
    return out.getvalue()


def test_safe_cell_prefixes_formulas_and_leaves_numbers_alone():
    """Text that would run as a formula gets an apostrophe; numbers and None are untouched."""
    assert [safe_cell(v) for v in INJECTIONS] == ["'" + v for v in INJECTIONS]
    assert safe_cell("\r=x") == "'\r=x"
    assert safe_cell(-3) == -3 and safe_cell(0.5) == 0.5 and safe_cell(None) is None
    assert safe_cell("满意") == "满意"


def test_formula_injection_is_neutralised_in_csv():
    """Every would-be formula reads back as text starting with an apostrophe; -3 stays -3."""
    rows = read_csv(stream_csv(["=题目", "值"], [[value, -3] for value in INJECTIONS]))
    assert rows[0] == ["'=题目", "值"]
    assert [row[0] for row in rows[1:]] == ["'" + value for value in INJECTIONS]
    assert {row[1] for row in rows[1:]} == {"-3"}


def test_formula_injection_is_neutralised_in_xlsx():
    """The same in XLSX: no cell is a formula, and the negative number is still a number."""
    data = xlsx_bytes([Sheet("数据", ["=题目", "值"], [[value, -3] for value in INJECTIONS])])
    rows = read_xlsx(data)["数据"]
    assert rows[0] == ("'=题目", "值")
    assert [row[0] for row in rows[1:]] == ["'" + value for value in INJECTIONS]
    assert all(row[1] == -3 and isinstance(row[1], int) for row in rows[1:])
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_round_xlsx_keeps_chinese_sheets_headers_and_values():
    """The round's sheets, headers and values read back in Chinese, in order; header is bold."""
    data = xlsx_bytes(round_sheets(make_result()))
    sheets = read_xlsx(data)
    assert list(sheets) == ["结果", "分组", "党员", "意见"]
    results = sheets["结果"]
    # Each share says what it is over.
    assert results[0] == ("题目", "选项", "票数",
                          "比例（选项：占本题作答；满意率：占有效答案，不含不了解）")
    assert (OVERALL, "满意", 12, 0.6) in results
    assert (OVERALL, "满意率", None, 0.85) in results
    assert openpyxl.load_workbook(io.BytesIO(data))["结果"]["A1"].font.bold
    assert sheets["党员"][0] == ("姓名", "优秀", "合格", "基本合格", "不合格",
                                "有效票", "不合格比例（占有效票）", "初评")
    assert sheets["党员"][1:] == [("张三", 5, 10, 2, 3, 20, 0.15, None),
                                  ("李四", 0, 8, 0, 12, 20, 0.6, "不合格")]
    assert sheets["意见"][1:] == [("您对党组织的意见和建议", "加强理论学习"),
                                  ("您对党组织的意见和建议", '\'=HYPERLINK("http://x")')]


def test_round_csv_keeps_chinese_and_covers_every_part():
    """The CSV opens in Excel as Chinese (BOM) and holds results, groups, members, comments."""
    rows = read_csv(round_csv(make_result()))
    assert rows[0] == ["部分", "题目或党员", "选项", "票数", "比例"]
    assert ["结果", OVERALL, "满意", "12", "60.0%"] in rows
    assert ["结果", OVERALL, "满意率", "", "85.0%"] in rows
    assert ["分组：党员", OVERALL, "满意", "8", "66.7%"] in rows
    assert ["党员", "李四", "不合格", "12", "60.0%"] in rows
    assert ["党员", "李四", "初评：不合格", "", ""] in rows
    assert ["意见", "您对党组织的意见和建议", "加强理论学习", "", ""] in rows


def test_suppressed_counts_are_words_never_zero_in_xlsx():
    """Hidden groups and a hidden round show the notice in every count, never a number."""
    sheets = read_xlsx(xlsx_bytes(round_sheets(make_result(suppressed=True))))
    for row in sheets["结果"][1:]:
        assert row[2:] == (HIDDEN, HIDDEN)
    groups = {row[0]: row for row in sheets["分组"][1:]}
    assert groups["党员"][3:] == (8, 3, 1)
    for label in ("服务对象", "群众代表"):
        assert set(groups[label][3:]) == {HIDDEN}
    assert sheets["意见"][1:] == [("您对党组织的意见和建议", "共3条" + WITHHELD)]


def test_suppressed_counts_are_words_never_zero_in_csv():
    """The same in CSV: the notice stands in both the count and the share columns."""
    rows = read_csv(round_csv(make_result(suppressed=True)))
    hidden_rows = [row for row in rows
                   if row[0] in ("结果", "分组：服务对象", "分组：群众代表")
                   and row[1] not in ("测评卡", "已提交")]
    assert len(hidden_rows) == 9  # three options, in the round and in two hidden groups
    assert all(row[3:] == [HIDDEN, HIDDEN] for row in hidden_rows)
    assert ["分组：服务对象", "已提交", "", "3", ""] in rows
    assert ["意见", "您对党组织的意见和建议", "共3条" + WITHHELD, "", ""] in rows


def test_notes_and_image_go_on_the_first_sheet():
    """The 说明 sheet comes first with the notes and the captioned chart, stored as a PNG."""
    png = io.BytesIO()
    Image.new("RGB", (320, 200), "red").save(png, "PNG")
    notes = ["封存摘要：3f2a…", "本导出已隐藏少于5份的分组"]
    data = xlsx_bytes(round_sheets(make_result()), notes=notes,
                      images=[("满意度分布图", png.getvalue())])
    assert "xl/media/image1.png" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames[0] == "说明"
    values = [row[0] for row in workbook["说明"].iter_rows(values_only=True)]
    assert values[:4] == [*notes, None, "满意度分布图"]
    assert len(workbook["说明"]._images) == 1


def test_no_notes_sheet_without_notes_or_images():
    """A plain export starts with the data."""
    assert list(read_xlsx(xlsx_bytes(round_sheets(make_result()))))[0] == "结果"


def test_sheet_titles_are_made_acceptable_to_excel():
    """Forbidden characters are replaced, long names cut to 31, duplicates numbered."""
    long = "县委办公室党支部2024年第一季度群众满意度测评结果汇总表格"
    titles = list(read_xlsx(xlsx_bytes([Sheet("a/b:c*d?[e]", ["x"], []),
                                        Sheet(long, ["x"], []), Sheet(long, ["x"], [])])))
    assert titles == ["a_b_c_d__e_", long[:31], long[:28] + "(2)"]


def rows_counting(total: int, progress: list[int]):
    """``total`` rows of mixed text and numbers, recording how many have been produced."""
    for index in range(total):
        progress[0] = index + 1
        yield (f"第{index}条意见", index, -index, index / 7, "满意")


def test_stream_csv_consumes_rows_lazily():
    """Chunks come out while the rows are still being produced, never far behind them (a
    chunk is 500 rows: 40 chunks here)."""
    progress = [0]
    chunks = stream_csv(["意见", "序号", "负数", "比值", "评价"], rows_counting(20_000, progress))
    first = next(chunks)
    assert first.startswith("\ufeff意见") and progress[0] == 0
    written = 0
    for chunk in chunks:
        written += chunk.count("\r\n")
        assert progress[0] - written <= 500
    assert written == progress[0] == 20_000


def peak_bytes(write) -> int:
    """The peak of Python allocations while ``write`` runs."""
    tracemalloc.start()
    try:
        write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def xlsx_peak(rows: int, path) -> int:
    """Peak Python allocations while ``rows`` rows × 5 columns are written to an XLSX file."""
    progress = [0]

    def write():
        """Write the workbook to the file."""
        with path.open("wb") as out:
            write_xlsx([Sheet("数据", ["意见", "序号", "负数", "比值", "评价"],
                              rows_counting(rows, progress))], out)

    peak = peak_bytes(write)
    assert progress[0] == rows
    return peak


def test_xlsx_memory_does_not_grow_with_rows(tmp_path):
    """Write-only mode: 5× the rows needs no more memory (a normal workbook adds ~2 MB here,
    ~1.7 kB a row)."""
    small = xlsx_peak(300, tmp_path / "small.xlsx")
    large = xlsx_peak(1_500, tmp_path / "large.xlsx")
    assert large < 50 * MB and large - small < MB / 2
    assert len(read_xlsx((tmp_path / "large.xlsx").read_bytes())["数据"]) == 1_501


def csv_peak(rows: int, path) -> int:
    """Peak Python allocations while ``rows`` rows × 5 columns are streamed into a CSV file,
    which then holds the header and every row."""
    progress = [0]

    def write():
        """Stream the CSV into the file."""
        with path.open("w", encoding="utf-8", newline="") as out:
            for chunk in stream_csv(["意见", "序号", "负数", "比值", "评价"],
                                    rows_counting(rows, progress)):
                out.write(chunk)

    peak = peak_bytes(write)
    assert progress[0] == rows
    with path.open(encoding="utf-8", newline="") as written:
        assert sum(1 for _line in written) == rows + 1
    return peak


def test_csv_memory_does_not_grow_with_rows(tmp_path):
    """Streaming to a file holds a chunk at a time, not the rows or the text: 5× the rows
    needs no more memory (16,000 more rows' text is ~1.4 MB as Python strings)."""
    small = csv_peak(4_000, tmp_path / "small.csv")
    large = csv_peak(20_000, tmp_path / "large.csv")
    assert large < 2 * MB and large - small < MB / 4
