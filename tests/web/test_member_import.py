"""The member import page: the office for any branch, a secretary for her own; CSRF, scope,
errors listed by row and column in Chinese, nothing stored when any row is wrong."""
import io

import sqlalchemy as sa
from openpyxl import Workbook

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Member
from tests.helpers import csrf_token, login
from tests.helpers import org_id

URL = "/members/import"


def _names(code):
    return set(db.session.scalars(sa.select(Member.name).where(
        Member.organisation_id == org_id(code))))


def _count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Member))


def _post(client, content: bytes, filename="名册.csv", token=None):
    data = {"file": (io.BytesIO(content), filename)}
    if token:
        data["csrf_token"] = token
    return client.post(URL, data=data, content_type="multipart/form-data")


def test_office_uploads_a_gbk_csv_and_an_xlsx_for_several_branches(client, demo):
    login(client, "office")
    page = client.get(URL).get_data(as_text=True)
    assert "所属支部编码" in page and 'enctype="multipart/form-data"' in page
    csv = "姓名,所属支部编码,排序\n孔令甲,XW0402,1\n孔令乙,XW050103,\n".encode("gbk")
    response = _post(client, csv)
    assert response.status_code == 302
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已导入 2 名党员（2 个支部）" in follow
    wb = Workbook()
    wb.active.append(["所属支部编码", "姓名"])
    wb.active.append(["XW0103", "孔令丙"])
    stream = io.BytesIO()
    wb.save(stream)
    assert _post(client, stream.getvalue(), "roster.xlsx").status_code == 302
    assert "孔令甲" in _names("XW0402") and "孔令乙" in _names("XW050103")
    assert "孔令丙" in _names("XW0103")
    actors = db.session.scalars(sa.select(AuditEntry.actor).where(
        AuditEntry.action == "member.import")).all()
    assert actors == ["office"] * 3


def test_a_wrong_file_lists_every_problem_and_stores_nothing(client, demo):
    login(client, "office")
    before = _count()
    csv = "姓名,所属支部编码,党员类别\n孔令甲,XW0402,正式\n孔令乙,NOPE,正式\n,XW0402,候补\n"
    html = _post(client, csv.encode("utf-8-sig")).get_data(as_text=True)
    assert "文件有 3 处问题，未导入任何党员" in html
    assert "<td>3</td><td>所属支部编码</td><td>支部编码 NOPE 不存在</td>" in html
    assert "<td>4</td><td>姓名</td><td>姓名不能为空</td>" in html
    assert "<td>4</td><td>党员类别</td>" in html
    assert _count() == before
    html = _post(client, b"a,b\n1,2\n", "roster.txt").get_data(as_text=True)
    assert "只能导入 .xlsx 或 .csv 文件" in html
    assert _count() == before


def test_secretary_imports_for_her_branch_only_each_foreign_row_named(client, demo):
    login(client, "secretary")
    before = _count()
    csv = "姓名,所属支部编码\n孔令甲,XW0101\n孔令乙,XW0102\n孔令丙,XW0101\n孔令丁,XW0402\n"
    html = _post(client, csv.encode()).get_data(as_text=True)
    for row, code in ((3, "XW0102"), (5, "XW0402")):
        assert (f"<td>{row}</td><td>所属支部编码</td><td>{code} 不是本支部：支部书记只能导入"
                "本支部的党员</td>") in html
    assert "<td>2</td>" not in html and _count() == before
    response = _post(client, "姓名,所属支部编码\n孔令甲,XW0101\n".encode())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/orgs/{org_id('XW0101')}")
    assert "孔令甲" in _names("XW0101")


def test_supervisors_do_not_import(client, demo):
    login(client, "supervisor")
    before = _count()
    assert client.get(URL).status_code == 404
    assert _post(client, "姓名,所属支部编码\n孔令甲,XW0101\n".encode()).status_code == 404
    assert _count() == before


def test_upload_needs_a_csrf_token(make_app, demo):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login(client, "office")
    before = _count()
    csv = "姓名,所属支部编码\n孔令甲,XW0402\n".encode()
    assert _post(client, csv).status_code == 400
    assert _count() == before
    token = csrf_token(client.get(URL).get_data(as_text=True))
    assert _post(client, csv, token=token).status_code == 302
    assert _count() == before + 1


def test_a_roster_larger_than_a_ballot_form_is_accepted_and_an_oversized_one_refused(
        client, demo, app):
    login(client, "office")
    padding = "x" * 100_000  # three unknown columns: ignored, but they make the file 300 KB
    csv = f"姓名,所属支部编码,备注1,备注2,备注3\n孔令甲,XW0402,{padding},{padding},{padding}\n"
    assert _post(client, csv.encode()).status_code == 302
    assert "孔令甲" in _names("XW0402")
    before = _count()
    huge = b"x" * (app.config["MEMBER_UPLOAD_MAX_BYTES"] + 1)
    assert _post(client, huge).status_code == 413
    assert _count() == before
