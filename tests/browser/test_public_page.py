"""The public page (公示) on a 360-px phone: the approved plan, its progress, a published
result with the plan items' ratings, and a tiny round that only says it took place. It fits
the screen and axe-core finds no serious or critical issue."""
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, new_context
from tests.browser.test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def public_url(server):
    """An approved plan of 县委办公室党支部, a published round asking about its items and a
    published tiny round; the page's URL."""
    from evalsvc.extensions import db
    from evalsvc.models import GroupCode, Organisation, PublicPage, Stage, StageState, User
    from evalsvc.services import ballots, closing, plans, public_pages, rounds, stages
    from evalsvc.services.today import today

    server.cli("campaign", "list")  # builds the in-process app
    with server.app.app_context():
        office = db.session.scalar(sa.select(User).where(User.username == "office"))
        org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW0101"))
        plan = plans.create_plan(office, org)
        for problem in ("“三会一课”制度坚持不够经常，组织生活质量不高",
                        "为群众办实事的长效机制尚未建立"):
            plans.add_item(office, plan, plans.ItemData(
                problem, "每月固定主题党日，书记带头讲党课；建立党员联系户制度",
                "支部书记 王明", today() + timedelta(days=30)))
        plans.submit(office, plan)
        supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
        plans.review(supervisor, plan, "措施具体，同意")
        plans.approve(office, plan)
        for passed in (Stage.STUDY, Stage.REVIEW):  # plan items are asked in 整改提高
            stages._progress(org, passed).state = StageState.PASSED
        plans.add_note(office, plan.items[0], "已制定组织生活计划并在支部公开栏公布")
        round_ = rounds.create_round(None, rounds.RoundData(
            org.id, "satisfaction", Stage.RECTIFY, {GroupCode.MASSES: 6},
            plan_item_ids=tuple(i.id for i in plan.items)))
        rounds.open_round(None, round_)
        layout = rounds.layout(round_)
        for n, (_group, code) in enumerate(rounds.card_codes(round_)):
            rows = [(q.key, q.options[n % 3].value, "") for q in layout if q.type == "choice"]
            ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
        closing.close_round(None, round_)
        public_pages.publish(office, round_)
        tiny = rounds.create_round(None, rounds.RoundData(
            org.id, "satisfaction", Stage.RECTIFY, {GroupCode.MASSES: 2}, title="小范围测评"))
        rounds.open_round(None, tiny)
        closing.close_round(None, tiny)
        public_pages.publish(office, tiny)
        token = db.session.scalar(sa.select(PublicPage.token))
        db.session.remove()
        db.engine.dispose()
    return f"{server.base_url}/g/{token}"


def test_the_public_page_on_a_phone(browser, public_url, axe_url, shoot):
    context = new_context(browser, PHONE, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(public_url)
        expect(page.get_by_role("heading", name="县委办公室党支部整改公示")).to_be_visible()
        expect(page.get_by_text("已制定组织生活计划")).to_be_visible()
        expect(page.get_by_text("参与人数较少，为保护参评群众，结果不予公布")).to_be_visible()
        expect(page.get_by_role("heading", name="群众评价（").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide on a 360-px phone"
        assert_accessible(page, axe_url, shoot, "public")
        assert page.goto(public_url[:-3] + "zzz").status == 404
    finally:
        context.close()


@pytest.mark.parametrize("path", ["plan", "briefs"])
def test_the_staff_plan_and_brief_pages(browser, server, public_url, axe_url, shoot, path):
    from tests.browser.conftest import DESK, log_in

    context = new_context(browser, DESK, bypass_csp=True)
    try:
        page = context.new_page()
        log_in(page, server.base_url, "secretary")
        if path == "plan":
            page.get_by_role("link", name="整改方案与公示").click()
            expect(page.get_by_role("heading", name="整改事项（2）")).to_be_visible()
        else:
            page.goto(f"{server.base_url}/briefs")
            page.get_by_label("标题").fill("县委办支部整改进展")
            page.get_by_label("正文").fill("本周召开专题组织生活会。")
            page.get_by_label("撰稿人").fill("李干事")
            with page.expect_navigation():
                page.get_by_role("button", name="报送").click()
            expect(page.get_by_role("heading", name="县委办支部整改进展")).to_be_visible()
        assert_accessible(page, axe_url, shoot, path)
    finally:
        context.close()
