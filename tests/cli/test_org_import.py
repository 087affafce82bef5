"""``evalsvc org import``: CSV and XLSX, all rows or none."""
import sqlalchemy as sa
from openpyxl import Workbook

from evalsvc.extensions import db
from evalsvc.models import Organisation, OrgType, StageState

GOOD_CSV = """code,name,type,parent_code,unit,batch
T1,测试县委,党委,,测试县,1
T101,测试党总支,党总支,T1,测试局,1
T10101,测试第一党支部,党支部,T101,测试局,2
T10102,测试第二党支部,branch,T1,测试所,第3批
"""


def _count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


def test_import_csv_creates_tree_with_stages(runner, app, tmp_path):
    runner.invoke(args=["init"])
    path = tmp_path / "orgs.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 4" in result.output
    branch = db.session.scalar(sa.select(Organisation).where(Organisation.code == "T10101"))
    assert branch.type is OrgType.BRANCH
    assert branch.parent.code == "T101"
    assert branch.batch.number == 2
    assert [p.state for p in branch.progress] == [StageState.NOT_STARTED] * 3


def test_children_may_come_before_parents(runner, app, tmp_path):
    runner.invoke(args=["init"])
    lines = GOOD_CSV.strip().splitlines()
    path = tmp_path / "orgs.csv"
    path.write_text("\n".join([lines[0], *reversed(lines[1:])]), encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert _count() == 4


def test_import_xlsx_with_chinese_headers(runner, app, tmp_path):
    runner.invoke(args=["init"])
    wb = Workbook()
    ws = wb.active
    ws.append(["编码", "名称", "类型", "上级编码", "单位", "批次"])
    ws.append(["X1", "某某党委", "党委", None, "某局", 1])
    ws.append(["X101", "某某党支部", "党支部", "X1", "某局", 1])
    path = tmp_path / "orgs.xlsx"
    wb.save(path)
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert _count() == 2


def test_file_with_errors_imports_nothing_and_names_rows_and_fields(runner, app, tmp_path):
    runner.invoke(args=["init"])
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,type,parent_code,unit,batch\n"
        "B1,好的党委,党委,,单位,1\n"
        "B101,缺上级的支部,党支部,NOPE,单位,1\n"
        "B102,类型错误,小组,B1,单位,1\n"
        "B1,重复编码,党委,,单位,1\n"
        "B103,批次错误,党支部,B1,单位,7\n"
        "B104,,党支部,B1,单位,1\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code != 0
    out = result.output
    assert "row 3, parent_code" in out
    assert "row 4, type" in out
    assert "row 5, code" in out
    assert "row 6, batch" in out
    assert "row 7, name" in out
    assert "nothing was imported" in out
    assert _count() == 0


def test_missing_columns_and_cycles_are_reported(runner, app, tmp_path):
    runner.invoke(args=["init"])
    path = tmp_path / "nohead.csv"
    path.write_text("code,name\nA,B\n", encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code != 0 and "row 1, header" in result.output
    path = tmp_path / "cycle.csv"
    path.write_text("code,name,type,parent_code\nC1,甲,党委,C2\nC2,乙,党委,C1\n",
                    encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code != 0 and "循环" in result.output
    assert _count() == 0


def test_existing_code_is_an_error(runner, demo, tmp_path):
    before = _count()
    path = tmp_path / "dup.csv"
    path.write_text("code,name,type,parent_code\nXW0101,重名,党支部,XW01\n", encoding="utf-8")
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code != 0 and "row 2, code" in result.output
    assert _count() == before
