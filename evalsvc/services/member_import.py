"""Importing branch members (党员名册) from CSV or XLSX: all rows or none.

The file is read by ``tabular.read_table`` (bounded; UTF-8, UTF-8 with BOM or GBK/GB18030).
Every row is checked before anything is stored; any problem, reported as (row, field,
message), imports nothing.

Duplicates: a ballot lists members by name, so two members of one branch with the same name
could not be told apart by a respondent. Hence the same name twice for one branch in the file,
or a name that is already an active member of that branch, is an error (a namesake is entered
with a distinguishing mark, e.g. 张伟（大）). A former member (not active) does not block a new
record of the same name.
"""
import datetime
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Gender, Member, MemberStatus, Organisation, Role, User
from evalsvc.services import audit
from evalsvc.services.errors import Forbidden
from evalsvc.services.tabular import Columns, ImportFailed, RowError, read_table

# Column → accepted header spellings (English or Chinese; compared in lower case).
MEMBER_COLUMNS = Columns(spellings={
    "name": ("name", "姓名"),
    "branch_code": ("branch_code", "branch", "所属支部编码", "支部编码"),
    "status": ("status", "category", "党员类别", "类别"),
    "gender": ("gender", "性别"),
    "birth_month": ("birth_month", "birth", "出生年月"),
    "position": ("position", "职务"),
    "retired": ("retired", "离退休"),
    "sort_order": ("order", "sort_order", "排序", "序号"),
}, required=("name", "branch_code"))

STATUSES = {"": MemberStatus.FULL, "正式": MemberStatus.FULL, "正式党员": MemberStatus.FULL,
            "full": MemberStatus.FULL, "预备": MemberStatus.PROBATIONARY,
            "预备党员": MemberStatus.PROBATIONARY, "probationary": MemberStatus.PROBATIONARY}
GENDERS = {"": None, "男": Gender.MALE, "male": Gender.MALE, "m": Gender.MALE,
           "女": Gender.FEMALE, "female": Gender.FEMALE, "f": Gender.FEMALE}
RETIRED = {"": False, "否": False, "在职": False, "no": False, "n": False, "false": False,
           "0": False, "是": True, "离休": True, "退休": True, "离退休": True, "yes": True,
           "y": True, "true": True, "1": True}
# 1965-03, 1965.3, 1965/03/01, 1965年3月(1日), 196503, and an XLSX date cell (1965-03-01 00:00:00).
MONTH = re.compile(r"(\d{4})(?:[-./年]\s*(\d{1,2})\s*月?|(\d{2}))"
                   r"(?:[-./]\d{1,2}日?|\d{1,2}日)?(?: 00:00:00)?")
MAX_ORDER = 99_999


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored: members per branch code, in file order."""

    file_name: str
    per_branch: dict[str, int]

    @property
    def total(self) -> int:
        """Members imported in all."""
        return sum(self.per_branch.values())


@writes
def import_members(actor: User | None, path: Path, file_name: str | None = None) \
        -> ImportSummary:
    """Add every member in the file, or raise ``ImportFailed`` naming each problem.

    ``actor`` None is the operator at the command line (any branch); the office may import
    for any branch, a secretary only for her own."""
    if actor is not None and actor.role is Role.SUPERVISOR:
        raise Forbidden("督导组只提建议，不导入党员")
    rows = read_table(path, MEMBER_COLUMNS)
    if not rows:
        raise ImportFailed([RowError(0, "file", "文件中只有表头，没有党员")])
    branches = _branches({row["branch_code"] for _number, row in rows})
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    members: list[tuple[str, Member]] = []
    for number, row in rows:
        member = _member(number, row, actor, branches, seen, errors)
        if member is not None:
            members.append((row["branch_code"], member))
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.row))
    db.session.add_all(member for _code, member in members)
    summary = ImportSummary(file_name or path.name,
                            dict(Counter(code for code, _member in members)))
    for code, count in summary.per_branch.items():
        audit.record(actor, "member.import", branches[code], file=summary.file_name,
                     members=count, file_members=summary.total,
                     file_branches=len(summary.per_branch))
    return summary


def _branches(codes: set[str]) -> dict[str, Organisation]:
    """The organisations the file names, by code."""
    if not codes:
        return {}
    return {o.code: o for o in db.session.scalars(
        sa.select(Organisation).where(Organisation.code.in_(codes)))}


def _member(number: int, row: dict[str, str], actor: User | None,
            branches: dict[str, Organisation], seen: dict, errors: list[RowError]):
    """One row checked and turned into a Member (not yet added), or None with its errors."""
    found: dict[str, str] = {}
    branch = _branch(row["branch_code"], actor, branches, found)
    name = row["name"]
    if not name:
        found["name"] = "姓名不能为空"
    elif len(name) > 60:
        found["name"] = "姓名不超过 60 字"
    elif branch is not None:
        _check_duplicate(name, branch, number, seen, found)
    values = {"status": _choice(row.get("status", ""), STATUSES, "status", found,
                                "党员类别应为 正式 或 预备"),
              "gender": _choice(row.get("gender", ""), GENDERS, "gender", found,
                                "性别应为 男 或 女"),
              "retired": _choice(row.get("retired", ""), RETIRED, "retired", found,
                                 "离退休应为 是 或 否（也可写 离休、退休）"),
              "birth_month": _birth_month(row.get("birth_month", ""), found),
              "sort_order": _sort_order(row.get("sort_order", ""), found),
              "position": row.get("position", "")}
    if len(values["position"]) > 60:
        found["position"] = "职务不超过 60 字"
    if found:
        errors.extend(RowError(number, field, message) for field, message in found.items())
        return None
    # By id, not the relationship: nothing joins the session before every row has passed.
    return Member(organisation_id=branch.id, name=name, active=True, **values)


def _branch(code: str, actor: User | None, branches: dict[str, Organisation],
            found: dict[str, str]) -> Organisation | None:
    """The row's branch, when it exists, is a 党支部 and is the actor's to write."""
    if not code:
        found["branch_code"] = "所属支部编码不能为空"
        return None
    branch = branches.get(code)
    if branch is None:
        found["branch_code"] = f"支部编码 {code} 不存在"
    elif not branch.is_branch:
        found["branch_code"] = f"{code}（{branch.name}）不是党支部：党员只能属于党支部"
    elif actor is not None and actor.role is Role.SECRETARY and actor.branch_id != branch.id:
        found["branch_code"] = f"{code} 不是本支部：支部书记只能导入本支部的党员"
    else:
        return branch
    return None


def _check_duplicate(name: str, branch: Organisation, number: int, seen: dict,
                     found: dict[str, str]) -> None:
    """Same name twice for one branch (in the file, or already an active member)."""
    earlier = seen.setdefault((branch.code, name), number)
    if earlier != number:
        found["name"] = f"{name} 在本文件中已出现（第 {earlier} 行），同一支部不能重复"
    elif any(m.active and m.name == name for m in branch.members):
        found["name"] = f"{name} 已是 {branch.code} 的在册党员，同一支部不能重复"


def _choice(text: str, allowed: dict, field: str, found: dict[str, str], message: str):
    """A value from a fixed list (compared in lower case)."""
    key = text.strip().lower()
    if key not in allowed:
        found[field] = f"{message}，而不是“{text}”"
        return None
    return allowed[key]


def _birth_month(text: str, found: dict[str, str]) -> datetime.date | None:
    """出生年月 as the first of its month; empty is allowed."""
    if not text:
        return None
    match = MONTH.fullmatch(text.strip())
    if match:
        year, month = int(match[1]), int(match[2] or match[3])
        if 1900 <= year and 1 <= month <= 12:
            born = datetime.date(year, month, 1)
            if born <= datetime.date.today():
                return born
    found["birth_month"] = f"出生年月“{text}”无效，应写作 1965-03 或 1965年3月"
    return None


def _sort_order(text: str, found: dict[str, str]) -> int | None:
    """排序: a whole number from 1; empty means 姓氏笔画 order."""
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_ORDER:
        return int(text)
    found["sort_order"] = f"排序应为 1 到 {MAX_ORDER} 的整数，而不是“{text}”"
    return None
