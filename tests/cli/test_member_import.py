"""``evalsvc member import``: CSV in any encoding Chinese Excel saves, XLSX, headers in either
language and any order; a file with any wrong row imports nothing."""
import datetime
import json

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Gender, Member, MemberStatus
from evalsvc.services.organisations import add_member
from tests.helpers import org_id

ROSTER = """排序,姓名,所属支部编码,党员类别,性别,出生年月,职务,离退休
1,孔令甲,XW0402,正式,男,1958-07,支部书记,是
,卜乙乙,XW0402,预备,女,1990年3月,,否
2,欧阳丙,XW050103,正式党员,男,196503,村主任,
"""


def _members(code):
    return db.session.scalars(sa.select(Member).where(Member.organisation_id == org_id(code))
                              .order_by(Member.id)).all()


def _count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Member))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_chinese_excel_saves_imports_every_field(runner, demo, tmp_path,
                                                                      encoding):
    before = {code: len(_members(code)) for code in ("XW0402", "XW050103")}
    path = tmp_path / "roster.csv"
    path.write_bytes(ROSTER.encode(encoding))
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 3 member(s) into 2 branch(es)" in result.output
    new = _members("XW0402")[before["XW0402"]:]
    assert [(m.name, m.sort_order, m.status, m.gender, m.birth_month, m.position, m.retired)
            for m in new] == [
        ("孔令甲", 1, MemberStatus.FULL, Gender.MALE, datetime.date(1958, 7, 1), "支部书记", True),
        ("卜乙乙", None, MemberStatus.PROBATIONARY, Gender.FEMALE, datetime.date(1990, 3, 1),
         "", False)]
    village = _members("XW050103")[before["XW050103"]:]
    assert [(m.name, m.birth_month, m.position) for m in village] == [
        ("欧阳丙", datetime.date(1965, 3, 1), "村主任")]


def test_xlsx_with_english_headers_in_another_order(runner, demo, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["branch_code", "retired", "Name", "order", "birth_month", "status", "gender"])
    ws.append(["XW0402", "no", "孔令甲", 3, datetime.datetime(1970, 10, 1), "full", "M"])
    ws.append(["XW0402", "yes", "卜乙乙", None, "1949.10", "probationary", "female"])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    before = len(_members("XW0402"))
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code == 0, result.output
    new = _members("XW0402")[before:]
    assert [(m.name, m.sort_order, m.birth_month, m.retired, m.status) for m in new] == [
        ("孔令甲", 3, datetime.date(1970, 10, 1), False, MemberStatus.FULL),
        ("卜乙乙", None, datetime.date(1949, 10, 1), True, MemberStatus.PROBATIONARY)]


def test_every_wrong_row_is_named_by_row_and_field_and_nothing_is_stored(runner, demo,
                                                                         tmp_path):
    existing = _members("XW0101")[0].name
    path = tmp_path / "bad.csv"
    path.write_text(
        "姓名,所属支部编码,党员类别,出生年月,排序,性别,离退休\n"
        "孔令甲,XW0402,正式,1960-01,1,男,否\n"       # 2: fine
        "孔令乙,NOPE,正式,,,,\n"                     # 3: unknown branch
        ",XW0402,正式,,,,\n"                          # 4: missing name
        "孔令丙,XW0402,候补,,,,\n"                    # 5: bad category
        "孔令丁,XW0402,正式,1960-13,,,\n"             # 6: bad month
        "孔令甲,XW0402,正式,,,,\n"                    # 7: twice in the file
        f"{existing},XW0101,正式,,,,\n"               # 8: already a member
        "孔令戊,XW01,正式,,,,\n"                      # 9: a 党委, not a branch
        "孔令己,XW0402,正式,,第一,,\n"                # 10: bad order number
        "孔令庚,XW0402,正式,,,未知,\n"                # 11: bad gender
        "孔令辛,XW0402,正式,,,,也许\n"                # 12: bad retired
        "孔令壬,XW0402,正式,2999-01,,,\n",            # 13: born in the future
        encoding="utf-8")
    before = _count()
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code != 0
    out = result.output
    for expected in ("row 3, branch_code: 支部编码 NOPE 不存在",
                     "row 4, name: 姓名不能为空",
                     "row 5, status: 党员类别应为 正式 或 预备",
                     "row 6, birth_month: 出生年月“1960-13”无效",
                     "row 7, name: 孔令甲 在本文件中已出现（第 2 行）",
                     f"row 8, name: {existing} 已是 XW0101 的在册党员",
                     "row 9, branch_code: XW01（县直机关党委）不是党支部",
                     "row 10, sort_order: 排序应为",
                     "row 11, gender: 性别应为 男 或 女",
                     "row 12, retired: 离退休应为 是 或 否",
                     "row 13, birth_month:"):
        assert expected in out, expected
    assert "row 2," not in out
    assert "11 error(s); nothing was imported" in out
    assert _count() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "member.import")) == 0


def test_missing_column_header_only_and_bad_encoding_are_refused(runner, demo, tmp_path):
    before = _count()
    path = tmp_path / "nobranch.csv"
    path.write_text("姓名,性别\n孔令甲,男\n", encoding="utf-8")
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code != 0 and "row 1, header: 缺少必需的列" in result.output
    assert "所属支部编码" in result.output
    path.write_text("姓名,所属支部编码\n", encoding="utf-8")
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code != 0 and "row 0, file: 文件中只有表头，没有党员" in result.output
    path = tmp_path / "utf16.csv"
    path.write_bytes("姓名,所属支部编码\n孔令甲,XW0402\n".encode("utf-16"))
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code != 0 and "row 0, file" in result.output
    assert _count() == before


def test_a_former_member_of_the_same_name_does_not_block_a_new_record(runner, demo,
                                                                      tmp_path):

    branch = db.session.get(Member, _members("XW0402")[0].id).organisation
    former = add_member(None, branch, "孔令癸", MemberStatus.FULL)
    former.active = False
    db.session.commit()
    path = tmp_path / "back.csv"
    path.write_text("姓名,所属支部编码\n孔令癸,XW0402\n", encoding="utf-8")
    result = runner.invoke(args=["member", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert [m.active for m in _members("XW0402") if m.name == "孔令癸"] == [False, True]


def test_the_import_is_audited_per_branch_with_file_and_counts(runner, demo, tmp_path):
    path = tmp_path / "名册.csv"
    path.write_bytes(ROSTER.encode("utf-8"))
    assert runner.invoke(args=["member", "import", str(path)]).exit_code == 0
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "member.import").order_by(AuditEntry.id)).all()
    assert [(e.actor, e.organisation_id) for e in entries] == [
        ("cli", org_id("XW0402")), ("cli", org_id("XW050103"))]
    assert [json.loads(e.detail) for e in entries] == [
        {"file": "名册.csv", "members": 2, "file_members": 3, "file_branches": 2},
        {"file": "名册.csv", "members": 1, "file_members": 3, "file_branches": 2}]
