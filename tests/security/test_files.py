"""Import files, ordinary and hostile: GBK from Chinese Excel imports; far-off cells, zip
bombs, oversized files and too many rows are refused cleanly, in bounded memory; a file with
any wrong row imports nothing."""
import re
import struct
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from evalsvc.extensions import db
from evalsvc.models import Organisation
from evalsvc.services.importing import ORG_COLUMNS
from evalsvc.services.tabular import MB, Bounds, ImportFailed, read_table

HEADER = ["code", "name", "type", "parent_code", "unit", "batch"]
ROWS = [["T1", "测试县委", "党委", "", "测试县", "1"],
        ["T101", "测试党总支", "党总支", "T1", "测试局", "1"],
        ["T10101", "测试第一党支部", "党支部", "T101", "测试局", "2"]]
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CSV_TEXT = "\r\n".join(",".join(row) for row in [HEADER, *ROWS]) + "\r\n"


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


def _import(runner, path):
    runner.invoke(args=["init"])
    return runner.invoke(args=["org", "import", str(path)])


def _refused(result, *words: str) -> None:
    """The command failed, said why in a row/field line, and imported nothing."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert re.search(r"row \d+, \w+: ", result.output), result.output
    for word in words:
        assert word in result.output, result.output
    assert "nothing was imported" in result.output
    assert _count() == 0


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_saved_by_chinese_or_other_excel_imports(runner, app, tmp_path, encoding):
    data = CSV_TEXT.encode(encoding)
    if encoding.startswith("gb"):  # real GBK bytes: not readable as UTF-8
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    path = tmp_path / "orgs.csv"
    path.write_bytes(data)
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    names = set(db.session.scalars(sa.select(Organisation.name)))
    assert names == {"测试县委", "测试党总支", "测试第一党支部"}


def test_csv_in_no_known_encoding_is_refused(runner, app, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_bytes(CSV_TEXT.encode("gbk") + b"T2,\xff\xfe\xff,\xc3\x28,,,\r\n")
    _refused(_import(runner, path), "row 0, file", "编码")


def test_utf16_text_is_refused(runner, app, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_bytes(CSV_TEXT.encode("utf-16"))
    _refused(_import(runner, path), "row 0, file", "空字节")


def test_control_characters_in_cells_are_named_by_row_and_field(runner, app, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(CSV_TEXT + "T10102,第二\x1b党支部,党支部,T101,测试局,2\r\n",
                    encoding="utf-8")
    _refused(_import(runner, path), "row 5, name", "控制字符")
    book = Workbook()
    for row in [HEADER, *ROWS, ["T10102", "第二党支部", "党支部", "T101", "测\x7f试", "2"]]:
        book.active.append(row)
    book.save(tmp_path / "orgs.xlsx")
    _refused(_import(runner, tmp_path / "orgs.xlsx"), "row 5, unit", "控制字符")


def _far_off_xlsx(path, rows: int, *, dimension: bool = True) -> None:
    """An organisation sheet of ``rows`` branches, each row with a cell in column XFD (the
    last of 16,384); with ``dimension`` False the sheet does not declare its size."""
    book = Workbook()
    book.save(path)
    lines = [HEADER, ROWS[0]] + [[f"F{i}", f"第{i}党支部", "党支部", "T1", "某局", "1"]
                                 for i in range(rows)]
    xml = [f'<worksheet xmlns="{SHEET_NS}">']
    if dimension:
        xml.append(f'<dimension ref="A1:XFD{len(lines)}"/>')
    xml.append("<sheetData>")
    for r, line in enumerate(lines, start=1):
        cells = [(f"{'ABCDEF'[c]}{r}", text) for c, text in enumerate(line)]
        cells += [(f"XFD{r}", "far")] if r > 2 else []
        xml.append(f'<row r="{r}">' + "".join(
            f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
            + "</row>")
    xml.append("</sheetData></worksheet>")
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = "".join(xml).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_xlsx_reaching_column_xfd_is_refused_before_its_rows_are_read(runner, app, tmp_path):
    path = tmp_path / "far.xlsx"
    _far_off_xlsx(path, 5)
    _refused(_import(runner, path), "row 0, file", "XFD")


def test_xlsx_with_undeclared_far_off_cells_imports_its_columns(runner, app, tmp_path):
    path = tmp_path / "far.xlsx"
    _far_off_xlsx(path, 5, dimension=False)
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert _count() == 6


def test_reading_a_hostile_xlsx_stays_in_bounded_memory(tmp_path):
    path = tmp_path / "far.xlsx"
    _far_off_xlsx(path, 1000, dimension=False)  # the old reader held 1000 x 16384 cells
    tracemalloc.start()
    try:
        rows = read_table(path, ORG_COLUMNS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 1001
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB"


def test_too_many_rows_are_refused_with_the_first_row_past_the_cap(runner, app, tmp_path):
    path = tmp_path / "many.csv"
    lines = [",".join(HEADER)] + [f"R{i},第{i}党支部,党支部,,,1" for i in range(20_001)]
    path.write_text("\n".join(lines), encoding="utf-8")
    _refused(_import(runner, path), "row 20002, file", "20000")


def test_xlsx_declaring_too_many_rows_is_refused_unread(tmp_path):
    book = Workbook()
    book.active.append(HEADER)
    book.active["A50"] = "far below"
    book.save(tmp_path / "long.xlsx")
    with pytest.raises(ImportFailed) as refused:
        read_table(tmp_path / "long.xlsx", ORG_COLUMNS, Bounds(max_rows=10))
    assert "50 行" in str(refused.value.errors[0])


def test_oversized_file_is_refused_before_it_is_opened(runner, app, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as stream:
        stream.truncate(17 * MB)  # sparse: takes no disk
    _refused(_import(runner, path), "row 0, file", "16 MB")


def test_xlsx_that_unpacks_too_far_is_refused(runner, app, tmp_path):
    path = tmp_path / "bomb.xlsx"
    book = Workbook()
    book.active.append(HEADER)
    book.save(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b" " * (65 * MB))
    assert path.stat().st_size < 1 * MB
    _refused(_import(runner, path), "row 0, file", "解压")


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really a zip", b"plain text"])
def test_broken_xlsx_is_refused(runner, app, tmp_path, data):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(data)
    _refused(_import(runner, path), "row 0, file", "XLSX")


@pytest.mark.parametrize("damage", ["data", "declared size"])
def test_xlsx_whose_sheet_is_damaged_inside_the_zip_is_refused(runner, app, tmp_path, damage):
    """A sheet whose compressed bytes are damaged, or whose declared size lies (a zip bomb
    posing as small), fails only once its rows are read: still a clean refusal."""
    path = tmp_path / "damaged.xlsx"
    book = Workbook()
    for row in [HEADER, *ROWS * 600]:
        book.active.append(row)
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[sheet.header_offset + 26:
                                                          sheet.header_offset + 30])
    if damage == "data":
        data[sheet.header_offset + 30 + name_length + extra_length
             + sheet.compress_size // 2] ^= 0xFF
    else:  # the size in the central directory, which is what readers trust
        data = data.replace(struct.pack("<II", sheet.compress_size, sheet.file_size),
                            struct.pack("<II", sheet.compress_size, sheet.file_size // 3))
    path.write_bytes(bytes(data))
    _refused(_import(runner, path), "row 0, file", "XLSX")
    assert _count() == 0


def test_other_file_types_and_empty_files_are_refused(runner, app, tmp_path):
    (tmp_path / "orgs.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    _refused(_import(runner, tmp_path / "orgs.xls"), ".xlsx")
    (tmp_path / "empty.csv").write_bytes(b"")
    _refused(_import(runner, tmp_path / "empty.csv"), "row 1, header")


def test_a_duplicated_header_is_refused(runner, app, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("code,name,名称,type\nA1,甲,乙,党委\n", encoding="utf-8")
    _refused(_import(runner, path), "row 1, header", "name")
