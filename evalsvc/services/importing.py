"""Importing the organisation tree from CSV or XLSX: all rows or none."""
from pathlib import Path

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.glossary import ORG_TYPE_NAMES
from evalsvc.models import Organisation
from evalsvc.services.campaigns import batch_by_number
from evalsvc.services.organisations import OrgData, build_org, check_org
from evalsvc.services.tabular import Columns, ImportFailed, RowError, read_table

# Column → accepted header spellings (English or Chinese).
ORG_COLUMNS = Columns(spellings={
    "code": ("code", "编码"),
    "name": ("name", "名称"),
    "type": ("type", "类型"),
    "parent_code": ("parent_code", "上级编码"),
    "unit": ("unit", "单位"),
    "batch": ("batch", "批次"),
}, required=("code", "name", "type"))


@writes
def import_organisations(path: Path) -> list[Organisation]:
    """Create every organisation in the file, parents first, or raise ``ImportFailed``."""
    rows = read_table(path, ORG_COLUMNS)
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
        row_errors = check_org(data, new_units=True)
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
