"""整改方案, its public page, published results and weekly briefs on the web."""
import io
import re
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Brief, PlanItem, PublicPage, RectificationPlan, Round
from evalsvc.services import closing, public_pages
from evalsvc.services.today import today
from tests.helpers import login, new_round
from tests.services.test_plans import approved_plan, user


def _item_form(problem="会议制度坚持不够", days=30, **extra):
    return {"problem": problem, "measures": "每月固定主题党日", "responsible": "张书记",
            "deadline": (today() + timedelta(days=days)).isoformat(),
            "status": "not_started", **extra}


def test_a_plan_goes_from_draft_through_return_to_approval_on_the_web(app, demo):
    secretary, supervisor, office = (app.test_client() for _ in range(3))
    login(secretary, "secretary")
    login(supervisor, "supervisor")
    login(office, "office")
    org = demo["XW0101"]
    assert secretary.post(f"/orgs/{org}/plan").status_code == 302
    plan_id = db.session.scalar(sa.select(RectificationPlan.id))
    html = secretary.post(f"/plans/{plan_id}/items/new", data=_item_form(problem="")) \
        .get_data(as_text=True)
    assert "请填写存在问题" in html
    html = secretary.post(f"/plans/{plan_id}/items/new", data=_item_form(days=-1)) \
        .get_data(as_text=True)
    assert "整改时限不能早于今天" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanItem)) == 0
    assert secretary.post(f"/plans/{plan_id}/items/new", data=_item_form()).status_code == 302
    secretary.post(f"/plans/{plan_id}/submit")
    supervisor.post(f"/plans/{plan_id}/review", data={"review_opinion": "措施可再具体"})
    office.post(f"/plans/{plan_id}/return", data={"reason": "请明确完成标准"})
    page = secretary.get(f"/orgs/{org}/plan").get_data(as_text=True)
    assert "请明确完成标准" in page and "措施可再具体" in page and "已退回" in page
    secretary.post(f"/plans/{plan_id}/submit")
    page = office.post(f"/plans/{plan_id}/approve", follow_redirects=True) \
        .get_data(as_text=True)
    assert "督导组尚未审查本次提交的整改方案" in page and "措施可再具体" not in page
    assert "等待督导组审查" in secretary.get(f"/orgs/{org}/plan").get_data(as_text=True)
    supervisor.post(f"/plans/{plan_id}/review", data={"review_opinion": "已明确，同意"})
    office.post(f"/plans/{plan_id}/approve")
    page = office.get(f"/orgs/{org}/plan").get_data(as_text=True)
    token = db.session.scalar(sa.select(PublicPage.token))
    assert "已批准" in page and f"/g/{token}" in page
    poster = office.get(f"/orgs/{org}/public-poster.pdf")
    assert poster.status_code == 200 and poster.data.startswith(b"%PDF")


def test_a_plan_for_someone_elses_branch_is_refused_in_chinese(client, demo):
    login(client, "secretary")
    response = client.post(f"/orgs/{demo['XW0102']}/plan")
    assert response.status_code == 404
    assert "只能为本支部制定整改方案" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RectificationPlan)) == 0


def test_the_public_page_needs_no_login_and_fits_a_phone(client, demo):
    approved_plan(problems=("会议制度坚持不够",))
    token = db.session.scalar(sa.select(PublicPage.token))
    response = client.get(f"/g/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "县委办公室党支部整改公示" in html and "会议制度坚持不够" in html and "未开始" in html
    assert 'name="viewport"' in html and "phone.css" in html


def test_unknown_and_withdrawn_public_urls_look_alike(client, demo):
    round_, _codes = new_round(org_code="XW0102")
    closing.close_round(None, round_)
    public_pages.publish(user("office"), round_)
    token = db.session.scalar(sa.select(PublicPage.token))
    assert client.get(f"/g/{token}").status_code == 200
    public_pages.withdraw(user("office"), round_)
    withdrawn, unknown = client.get(f"/g/{token}"), client.get("/g/NoSuchToken")
    assert withdrawn.status_code == unknown.status_code == 404
    assert withdrawn.get_data() == unknown.get_data()
    assert "县财政局" not in withdrawn.get_data(as_text=True)


def test_the_office_publishes_and_withdraws_from_the_round_page(client, demo):
    round_, _codes = new_round()
    closing.close_round(None, round_)
    login(client, "office")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "在公示页面公示结果" in html
    client.post(f"/rounds/{round_.id}/publish")
    assert db.session.get(Round, round_.id).result_published
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "撤回公示" in html
    client.post(f"/rounds/{round_.id}/withdraw")
    db.session.expire_all()
    assert not db.session.get(Round, round_.id).result_published


def test_the_round_form_offers_the_approved_plans_items(client, demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    login(client, "secretary")
    html = client.get(f"/orgs/{demo['XW0101']}/rounds/new").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="plan_item_ids"[^>]*value="%d"' % plan.items[0].id,
                     html) or re.search(r'name="plan_item_ids"[^>]*value="%d"[^>]*checked'
                                        % plan.items[0].id, html), html
    assert "会议制度坚持不够" in html


def test_the_dashboard_lists_overdue_items(client, demo):
    plan = approved_plan(problems=("学习不经常",))
    plan.items[0].deadline = today() - timedelta(days=3)
    db.session.commit()
    login(client, "office")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "回头看：逾期未完成的整改事项（1）" in html and "学习不经常" in html
    # The default period ends before the reporting day: ask for the week up to today.
    html = client.get(f"/reports/weekly?to={today()}").get_data(as_text=True)
    assert "逾期未完成的整改事项（1）" in html


def test_briefs_are_sent_listed_and_exported(app, demo):
    secretary, office = app.test_client(), app.test_client()
    login(secretary, "secretary")
    login(office, "office")
    html = office.get("/briefs").get_data(as_text=True)
    assert "县委办公室党支部" in html.split("本周简报")[0]  # not yet sent
    html = secretary.post("/briefs", data={"title": "", "text": "正文", "author": "李",
                                           "brief_date": today().isoformat()}) \
        .get_data(as_text=True)
    assert "请填写标题" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Brief)) == 0
    response = secretary.post("/briefs", data={"title": "整改进展", "text": "正文",
                                               "author": "李", "brief_date": today().isoformat()})
    assert response.status_code == 302
    html = office.get("/briefs").get_data(as_text=True)
    assert "县委办公室党支部" not in html.split("本周简报")[0] and "整改进展" in html
    assert secretary.get("/briefs.xlsx").status_code == 404
    export = office.get("/briefs.xlsx")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.data)) as book:
        assert "整改进展" in "".join(book.read(n).decode() for n in book.namelist()
                                 if n.startswith("xl/"))


def test_a_plan_rounds_results_link_back_to_the_plan_items(client, demo):
    from tests.services.test_plan_rounds import plan_round

    plan = approved_plan(problems=("会议制度坚持不够",))
    round_, _codes = plan_round(plan, ballots_cast=5)
    closing.close_round(None, round_)
    login(client, "secretary")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert f'/orgs/{demo["XW0101"]}/plan#item-{plan.items[0].id}' in html
    assert "对“会议制度坚持不够”整改情况的评价" in html


def test_the_weekly_workbook_has_the_rectification_sheets(client, demo):
    from openpyxl import load_workbook

    plan = approved_plan(problems=("学习不经常",))
    plan.items[0].deadline = today() - timedelta(days=3)
    db.session.commit()
    login(client, "office")
    book = load_workbook(io.BytesIO(client.get(f"/reports/weekly.xlsx?to={today()}").data))
    assert {"信息简报", "未报送简报", "逾期整改事项"} <= set(book.sheetnames)
    rows = list(book["逾期整改事项"].values)
    assert rows[1][:3] == ("县委办公室党支部", "学习不经常", "张书记")


def test_only_a_branch_or_a_committee_has_a_plan(client, demo):
    login(client, "office")
    response = client.post(f"/orgs/{demo['XW']}/plan", follow_redirects=True)
    assert "只有党支部、党总支或党委可以制定整改方案" in response.get_data(as_text=True)
    client.post(f"/orgs/{demo['XW0101']}/plan")
    response = client.post(f"/orgs/{demo['XW0101']}/plan", follow_redirects=True)
    assert "已有整改方案" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RectificationPlan)) == 1


def test_a_status_change_after_approval_shows_on_the_public_page(client, demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    item_id = plan.items[0].id
    token = db.session.scalar(sa.select(PublicPage.token))
    login(client, "secretary")
    form = client.get(f"/plan-items/{item_id}/edit").get_data(as_text=True)
    assert "会议制度坚持不够" in form and "方案已批准" in form
    response = client.post(f"/plan-items/{item_id}/edit", data=_item_form(status="done"))
    assert response.status_code == 302
    client.post(f"/plan-items/{item_id}/notes", data={"text": "已建立月度学习制度"})
    client.get("/logout")
    html = app_client_get(client, f"/g/{token}")
    assert "已完成" in html and "状态改为已完成" in html and "已建立月度学习制度" in html


def app_client_get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)
