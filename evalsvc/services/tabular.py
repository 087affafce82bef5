"""Reading a table an operator hands in (CSV or XLSX): bounded, in any encoding Chinese Excel
saves, every problem reported as (row, field, message).

Shared by the imports: a caller names its columns and the header spellings it accepts, and
gets the rows back as (row number, column → text). Row 1 is the header; row 0 stands for the
file as a whole.

Bounds, so that any file is refused or read in bounded memory (well under 200 MB):
- the file's size is checked before it is opened;
- a CSV is streamed: its encoding is found in one pass (strict UTF-8, with or without a BOM,
  then GB18030, which covers GBK and GB2312), and rows are read one at a time;
- an XLSX is a zip: the sizes its parts declare are checked before anything is unpacked; the
  sheet is read in openpyxl's read-only mode, row by row and only up to the column cap. A
  declared size beyond the caps is refused before any row is read, since filling a row out to
  a far-off cell (column XFD) is what took hundreds of megabytes;
- rows beyond the cap are refused as soon as they are reached.

openpyxl is imported inside the functions only.
"""
import codecs
import contextlib
import csv
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from evalsvc.control_characters import has_control

MB = 2**20
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # strict UTF-8 first: GB18030 decodes almost anything
CHUNK = MB


@dataclass(frozen=True)
class RowError:
    """A problem in one row of the file (row 1 is the header, row 0 the whole file)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class ImportFailed(Exception):
    """The file had errors; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _refuse(row: int, field: str, message: str) -> ImportFailed:
    return ImportFailed([RowError(row, field, message)])


@dataclass(frozen=True)
class Bounds:
    """How large a file may be. Anything larger is refused, never half read."""

    max_bytes: int = 16 * MB  # the file as handed in; also any XLSX part but the sheets
    max_unpacked_bytes: int = 64 * MB  # an XLSX: all its parts, unpacked
    max_rows: int = 20_000  # below the header
    max_columns: int = 64


@dataclass(frozen=True)
class Columns:
    """The columns a caller reads: column → accepted header spellings, and the required ones."""

    spellings: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]


def read_table(path: Path, columns: Columns,
               bounds: Bounds = Bounds()) -> list[tuple[int, dict[str, str]]]:
    """The non-blank rows of a .csv or .xlsx file below its header, as (row number, column →
    text), or raise ``ImportFailed`` naming every problem found."""
    size = path.stat().st_size
    if size > bounds.max_bytes:
        raise _refuse(0, "file", f"文件大小 {size / MB:.1f} MB，超过上限 "
                                 f"{bounds.max_bytes // MB} MB；请分成多个文件导入")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        source = _csv_rows(path)
    elif suffix == ".xlsx":
        source = _xlsx_rows(path, bounds)
    else:
        raise _refuse(0, "file", "只能导入 .csv 或 .xlsx 文件（.xls 请在 Excel 中另存为 .xlsx）")
    with contextlib.closing(source):
        return _rows_below_header(source, columns, bounds)


def _rows_below_header(source: Iterator[tuple], columns: Columns,
                       bounds: Bounds) -> list[tuple[int, dict[str, str]]]:
    """Map the header, then turn each row into column → text, collecting cell problems."""
    header = None
    rows, errors = [], []
    for number, cells in enumerate(source, start=1):
        if number > bounds.max_rows + 1:
            raise _refuse(number, "file", f"超过 {bounds.max_rows} 行的上限（不含表头）；"
                                          "请分成多个文件导入")
        if len(cells) > bounds.max_columns and any(_text(c) for c in
                                                   cells[bounds.max_columns:]):
            raise _refuse(number, "file", f"超过 {bounds.max_columns} 列的上限")
        if header is None:
            header = map_header(cells, columns)
            continue
        texts = [_text(c) for c in cells]
        if not any(texts):
            continue
        row = {column: texts[i] if i < len(texts) else "" for column, i in header.items()}
        errors += [RowError(number, column, "含有不可见的控制字符（如 NUL），请删除后重试")
                   for column, text in row.items() if has_control(text)]
        rows.append((number, row))
    if header is None:
        raise _refuse(1, "header", "文件是空的")
    if errors:
        raise ImportFailed(errors)
    return rows


def map_header(cells, columns: Columns) -> dict[str, int]:
    """Column → position in the header row, by any accepted spelling (case-insensitive)."""
    names = [_text(c).lower() for c in cells]
    header: dict[str, int] = {}
    for column, spellings in columns.spellings.items():
        found = [i for i, name in enumerate(names) if name in spellings]
        if len(found) > 1:
            raise _refuse(1, "header", f"列 {column} 出现了 {len(found)} 次")
        if found:
            header[column] = found[0]
    missing = [c for c in columns.required if c not in header]
    if missing:
        raise _refuse(1, "header", "缺少必需的列：" + "、".join(
            "/".join(columns.spellings[c]) for c in missing))
    return header


def _text(value) -> str:
    """A cell as stripped text: empty for None, ``3`` (not ``3.0``) for a whole number."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# -- CSV ---------------------------------------------------------------------------------

def _csv_rows(path: Path) -> Iterator[list[str]]:
    """The CSV's records one at a time, in the encoding the file turns out to be in."""
    with path.open(encoding=csv_encoding(path), newline="") as stream:
        reader = csv.reader(stream)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield cells
        except csv.Error:
            raise _refuse(number + 1, "file", "无法按 CSV 读取（引号不配对，或单元格过长）") \
                from None


def csv_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030``: the first that decodes the whole file strictly."""
    for encoding in CSV_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    if b"\x00" in chunk:
                        raise _refuse(0, "file", "文件含有空字节，不是文本 CSV（可能是 UTF-16 "
                                                 "“Unicode 文本”或其他格式）；请另存为 CSV")
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise _refuse(0, "file", "无法识别文件编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，"
                             "或 GBK 编码的 CSV")


# -- XLSX --------------------------------------------------------------------------------

def _xlsx_rows(path: Path, bounds: Bounds) -> Iterator[tuple]:
    """The first worksheet's rows, each at most ``max_columns`` wide, read as a stream."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_parts(path, bounds)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError,
            OSError, SyntaxError):
        raise _refuse(0, "file", "不是有效的 XLSX 文件；请在 Excel 中另存为 .xlsx") from None
    try:
        sheet = workbook.active
        if not hasattr(sheet, "iter_rows"):
            raise _refuse(0, "file", "第一个工作表不是数据表")
        _check_dimension(sheet, bounds)
        yield from sheet.iter_rows(max_col=bounds.max_columns, values_only=True)
    # The sheet is unpacked while its rows are read: damaged data, a wrong checksum or a
    # declared size that lies (a zip bomb posing as small) surface only here.
    except (KeyError, ValueError, TypeError, OSError, SyntaxError, zipfile.BadZipFile,
            zlib.error):
        raise _refuse(0, "file", "XLSX 文件已损坏，无法读取") from None
    finally:
        workbook.close()


def _check_parts(path: Path, bounds: Bounds) -> None:
    """Refuse a zip whose parts would unpack beyond the bounds (a zip bomb, or a huge
    shared-strings part that openpyxl would hold in memory whole)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        raise _refuse(0, "file", "不是有效的 XLSX 文件；请在 Excel 中另存为 .xlsx") from None
    total = sum(part.file_size for part in parts)
    oversized = [part.filename for part in parts if part.file_size > bounds.max_bytes
                 and not part.filename.startswith("xl/worksheets/")]
    if total > bounds.max_unpacked_bytes or oversized:
        what = (f"其中 {oversized[0]} 超过 {bounds.max_bytes // MB} MB" if oversized else
                f"共超过 {bounds.max_unpacked_bytes // MB} MB")
        raise _refuse(0, "file", f"XLSX 解压后过大（{what}）；请删除无关的工作表、图片和"
                                 "格式，或分成多个文件导入")


def _check_dimension(sheet, bounds: Bounds) -> None:
    """Refuse a sheet that declares more rows or columns than the bounds allow."""
    from openpyxl.utils import get_column_letter

    columns, rows = sheet.max_column or 0, sheet.max_row or 0
    if columns > bounds.max_columns:
        raise _refuse(0, "file", f"工作表的内容延伸到第 {get_column_letter(columns)} 列（共 "
                                 f"{columns} 列），超过 {bounds.max_columns} 列的上限；"
                                 "请删除右侧多余的单元格后重试")
    if rows > bounds.max_rows + 1:
        raise _refuse(0, "file", f"工作表有 {rows} 行，超过 {bounds.max_rows} 行的上限"
                                 "（不含表头）；请删除下方多余的行，或分成多个文件导入")
