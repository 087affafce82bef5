"""Importing the organisation tree from CSV or XLSX: all rows or none."""
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.glossary import ORG_TYPE_NAMES
from evalsvc.models import Organisation
from evalsvc.services.campaigns import batch_by_number
from evalsvc.services.organisations import OrgData, build_org, check_org

# Column → accepted header spellings (English or Chinese).
COLUMNS = {
    "code": ("code", "编码"),
    "name": ("name", "名称"),
    "type": ("type", "类型"),
    "parent_code": ("parent_code", "上级编码"),
    "unit": ("unit", "单位"),
    "batch": ("batch", "批次"),
}
REQUIRED = ("code", "name", "type")


@dataclass(frozen=True)
class RowError:
    """A problem in one row of the file (row 1 is the header)."""

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


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a .csv or .xlsx file as (row number, column → text)."""
    if path.suffix.lower() == ".xlsx":
        table = _xlsx_table(path)
    elif path.suffix.lower() == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
    else:
        raise ImportFailed([RowError(0, "file", "only .csv and .xlsx files can be imported")])
    if not table:
        raise ImportFailed([RowError(1, "header", "the file is empty")])
    header = _map_header(table[0])
    for number, cells in enumerate(table[1:], start=2):
        if not any(str(c).strip() for c in cells):
            continue
        yield number, {
            col: str(cells[i]).strip() if i < len(cells) and cells[i] is not None else ""
            for col, i in header.items()
        }


def _xlsx_table(path: Path) -> list[list]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    return [[("" if c is None else c) for c in row] for row in rows]


def _map_header(cells: list) -> dict[str, int]:
    names = [str(c).strip().lower() for c in cells]
    header: dict[str, int] = {}
    for column, spellings in COLUMNS.items():
        for i, name in enumerate(names):
            if name in spellings:
                header[column] = i
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFailed([RowError(1, "header", f"missing column(s): {', '.join(missing)}")])
    return header


@writes
def import_organisations(path: Path) -> list[Organisation]:
    """Create every organisation in the file, parents first, or raise ``ImportFailed``."""
    rows = list(read_rows(path))
    errors: list[RowError] = []
    created: list[Organisation] = []
    by_code = _index_rows(rows, errors)
    for number, row in _parents_first(rows, by_code, errors):
        org = _create_row(number, row, errors)
        if org is not None:
            created.append(org)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.row))
    return created


def _index_rows(rows, errors) -> dict[str, int]:
    by_code: dict[str, int] = {}
    for number, row in rows:
        if row["code"] in by_code:
            errors.append(RowError(number, "code", f"编码 {row['code']} 在文件中重复"))
        else:
            by_code[row["code"]] = number
    return by_code


def _parents_first(rows, by_code, errors):
    """Order rows so each parent in the file comes before its children; report cycles."""
    pending = {number: row for number, row in rows}
    done: set[str] = set()
    while pending:
        ready = [
            (n, r) for n, r in pending.items()
            if not r.get("parent_code") or r["parent_code"] not in by_code
            or r["parent_code"] in done
        ]
        if not ready:
            for number in sorted(pending):
                errors.append(RowError(number, "parent_code", "上级编码形成循环"))
            return
        for number, row in ready:
            del pending[number]
            done.add(row["code"])
            yield number, row


def _create_row(number: int, row: dict[str, str], errors: list[RowError]):
    row_errors: dict[str, str] = {}
    org_type = ORG_TYPE_NAMES.get(row["type"]) or ORG_TYPE_NAMES.get(row["type"].lower())
    if org_type is None:
        row_errors["type"] = f"未知类型 {row['type']!r}（应为 党委、党总支、党支部 或 机关工委）"
    parent_id = None
    if row.get("parent_code"):
        parent = db.session.scalar(
            db.select(Organisation).where(Organisation.code == row["parent_code"])
        )
        if parent is None:
            row_errors["parent_code"] = f"上级编码 {row['parent_code']} 不存在"
        else:
            parent_id = parent.id
    batch_id = _batch_id(row.get("batch", ""), row_errors)
    if not row_errors and org_type is not None:
        data = OrgData(code=row["code"], name=row["name"], type=org_type,
                       unit=row.get("unit", ""), parent_id=parent_id, batch_id=batch_id)
        row_errors = check_org(data)
        if "parent_id" in row_errors:
            row_errors["parent_code"] = row_errors.pop("parent_id")
    if row_errors:
        errors.extend(RowError(number, f, m) for f, m in row_errors.items())
        return None
    return build_org(None, data, "org.import")


def _batch_id(text: str, row_errors: dict[str, str]) -> int | None:
    if not text:
        return None
    digits = text.removeprefix("第").removesuffix("批").strip()
    batch = batch_by_number(int(digits)) if digits.isdigit() else None
    if batch is None:
        row_errors["batch"] = f"批次 {text!r} 不存在（应为 1、2 或 3）"
        return None
    return batch.id
