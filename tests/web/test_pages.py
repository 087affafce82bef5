"""Every staff page renders for each role that may see it; forms save or name the problem."""
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Member, Organisation, Role, User
from tests.helpers import login


def _member_of(org_id):
    return db.session.scalar(sa.select(Member).where(Member.organisation_id == org_id).limit(1))


def test_office_pages_render(client, demo):
    login(client, "office")
    member = _member_of(demo["XW0101"])
    user = db.session.scalar(sa.select(User).where(User.username == "secretary"))
    for url in ("/", f"/orgs/{demo['XW']}", f"/orgs/{demo['XW0101']}", "/orgs/new",
                f"/orgs/{demo['XW01']}/edit", f"/orgs/{demo['XW0101']}/members/new",
                f"/members/{member.id}/edit", "/users/", "/users/new",
                f"/users/{user.id}/edit"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-CN"' in response.get_data(as_text=True)


def test_secretary_pages_render(client, demo):
    login(client, "secretary")
    member = _member_of(demo["XW0101"])
    for url in ("/", f"/orgs/{demo['XW0101']}", f"/orgs/{demo['XW0101']}/members/new",
                f"/members/{member.id}/edit"):
        assert client.get(url).status_code == 200, url


def test_supervisor_pages_render_read_only(client, demo):
    login(client, "supervisor")
    html = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    assert "新增党员" not in html and "编辑" not in html
    assert client.get("/").status_code == 200


def test_branch_page_lists_members_with_status(client, demo):
    login(client, "secretary")
    html = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    members = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == demo["XW0101"])).all()
    for m in members:
        assert m.name in html
    assert "预备党员" in html and "正式党员" in html


def test_office_adds_an_organisation(client, demo):
    login(client, "office")
    # The unit is picked from the list of unit records (free text is refused).
    response = client.post("/orgs/new", data={
        "code": "XW0104", "name": "县审计局党支部", "type": "branch", "unit": "兴文中学",
        "parent_id": str(demo["XW01"]), "batch_id": "None"})
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW0104"))
    assert org.parent_id == demo["XW01"] and len(org.progress) == 3


def test_bad_organisation_input_is_named_and_nothing_saved(client, demo):
    login(client, "office")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
    response = client.post("/orgs/new", data={
        "code": "XW0101", "name": "", "type": "branch", "unit": "",
        "parent_id": "None", "batch_id": "None"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "请填写名称" in html
    response = client.post("/orgs/new", data={
        "code": "XW0101", "name": "重复", "type": "branch", "unit": "",
        "parent_id": "None", "batch_id": "None"})
    html = response.get_data(as_text=True)
    assert "已被使用" in html and "党支部必须有上级组织" in html
    assert 'value="重复"' in html  # the answer is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == before


def test_org_cannot_become_its_own_descendant(client, demo):
    login(client, "office")
    response = client.post(f"/orgs/{demo['XW01']}/edit", data={
        "code": "XW01", "name": "县直机关党委", "type": "committee", "unit": "县直机关",
        "parent_id": str(demo["XW"]), "batch_id": "None"})
    assert response.status_code == 302
    response = client.post(f"/orgs/{demo['XW']}/edit", data={
        "code": "XW", "name": "机关工委", "type": "working_committee", "unit": "",
        "parent_id": str(demo["XW01"]), "batch_id": "None"})
    assert "上级组织" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, demo["XW"]).parent_id is None


def test_secretary_adds_and_edits_a_member_with_audit(client, demo):
    login(client, "secretary")
    response = client.post(f"/orgs/{demo['XW0101']}/members/new",
                           data={"name": "李新华", "status": "probationary", "active": "y"})
    assert response.status_code == 302
    member = db.session.scalar(sa.select(Member).where(Member.name == "李新华"))
    response = client.post(f"/members/{member.id}/edit",
                           data={"name": "李新华", "status": "full"})
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.active is False and member.status.value == "full"
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.organisation_id == demo["XW0101"])).all()
    assert "member.create" in actions and "member.update" in actions


def test_empty_member_name_is_named(client, demo):
    login(client, "secretary")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
    response = client.post(f"/orgs/{demo['XW0101']}/members/new",
                           data={"name": "", "status": "full"})
    assert "请填写姓名" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == count


def test_office_creates_supervisor_and_it_can_log_in(client, demo):
    login(client, "office")
    response = client.post("/users/new", data={
        "username": "dudao2", "display_name": "第二督导组", "role": "supervisor",
        "branch_id": "None", "assigned_ids": [str(demo["XW03"])], "password": "pass-word-22",
        "active": "y"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "dudao2"))
    assert user.role is Role.SUPERVISOR and [o.code for o in user.assigned] == ["XW03"]
    client.post("/logout")
    login(client, "dudao2", "pass-word-22")
    html = client.get("/").get_data(as_text=True)
    assert "县人民医院内科党支部" in html and "县委办公室党支部" not in html


def test_user_form_names_problems(client, demo):
    login(client, "office")
    response = client.post("/users/new", data={
        "username": "x", "role": "secretary", "branch_id": "None", "password": ""})
    html = response.get_data(as_text=True)
    assert "新建账号必须设置密码" in html
    response = client.post("/users/new", data={
        "username": "newsec", "role": "secretary", "branch_id": "None",
        "password": "pass-word-1"})
    assert "支部书记必须指定所在党支部" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "newsec")) is None


def test_office_cannot_lock_itself_out(client, demo):
    login(client, "office")
    me = db.session.scalar(sa.select(User).where(User.username == "office"))
    response = client.post(f"/users/{me.id}/edit", data={
        "username": "office", "role": "office", "branch_id": "None", "password": ""})
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.active


def test_free_text_is_escaped(client, demo):
    login(client, "office")
    client.post(f"/orgs/{demo['XW0101']}/members/new",
                data={"name": '<script>alert(1)</script>"x', "status": "full"})
    html = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
