"""The live view of open rounds on a tablet (768 px) and a phone (360 px).

The office reads it on a tablet (overdue first, a committee filter) and sets a planned
close date on a phone; a secretary reads their branch's rounds on a phone; the page
reloads itself and can be paused. axe-core finds no serious or critical violation.

The server reloads the page every few seconds (``SERVER_ENV``) so the reload can be
watched; the accessibility and layout checks run on the paused page (same markup, but a
link's words), or the checker would be reloaded away mid-run.
"""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.conftest import (
    PHONE, Watched, card_urls, log_in, new_context, new_rounds,
)
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_staff import cast

pytestmark = [pytest.mark.browser, pytest.mark.server]

REFRESH_SECONDS = 4
SERVER_ENV = {"EVALSVC_LIVE_REFRESH_SECONDS": str(REFRESH_SECONDS)}
TABLET = {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 2,
          "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
OVERDUE = "兴文中学教工第一党支部满意度测评（逾期）"
UNDATED = "县政府办公室党支部征求意见（未定日期）"
WATCHED = "县财政局党支部满意度测评（实时）"
DEMO_OPEN = "县委办公室党支部"  # the demo's own open round (征求意见) is in this branch


def campaign_today():
    """Today where the campaign runs (the server's default, UTC+8)."""
    return datetime.now(timezone(timedelta(hours=8))).date()


@pytest.fixture(scope="module")
def rounds(server):
    """Open rounds: one three days overdue, one without a date, one to watch fill up."""
    made = new_rounds(server, {
        "overdue": ("XW020101", "satisfaction", "--group", "masses=4", "--title", OVERDUE),
        "undated": ("XW0102", "opinion", "--group", "masses=2", "--title", UNDATED),
        "watched": ("XW0103", "satisfaction", "--group", "masses=4", "--title", WATCHED),
    })
    engine = sa.create_engine(server.database_url)
    try:
        with engine.begin() as conn:  # a date that has simply passed (the web refuses one)
            conn.execute(sa.text("UPDATE rounds SET planned_close_on = :day WHERE id = :id"),
                         {"day": campaign_today() - timedelta(days=3), "id": made["overdue"]})
    finally:
        engine.dispose()
    return made


def open_device(browser, options: dict, **extra):
    """A page in a fresh context of its own."""
    return new_context(browser, options, **extra).new_page()


def rows(page):
    """The rows of the live table that hold a round."""
    return page.locator("table.live tbody tr").filter(has=page.locator("a[href^='/rounds/']"))


def assert_fits(page, width: int) -> None:
    """No sideways scrolling of the page, nor of the table inside it."""
    sizes = page.evaluate("""() => [document.documentElement.scrollWidth,
        ...[...document.querySelectorAll('.table-wrap')].map(w => w.scrollWidth - w.clientWidth)]""")
    assert sizes[0] <= width, f"page is {sizes[0]} px wide on a {width} px screen"
    assert all(extra <= 0 for extra in sizes[1:]), f"the table scrolls sideways by {sizes[1:]}"


def pause(page) -> None:
    """Follow the page's own link that stops the reloading."""
    with page.expect_navigation():
        page.get_by_role("link", name="暂停自动刷新").click()
    expect(page.get_by_role("link", name="恢复自动刷新")).to_be_visible()


def open_live_paused(page, base_url: str, username: str) -> None:
    """Log in, follow the menu's 实时进度, and pause the reloading."""
    log_in(page, base_url, username)
    page.get_by_role("link", name="实时进度", exact=True).click()
    expect(page.get_by_role("heading", name="进行中的测评 · 实时进度")).to_be_visible()
    pause(page)


def test_office_on_a_tablet_sees_overdue_first_and_filters(browser, server, rounds,
                                                           axe_url, shoot):
    page = open_device(browser, TABLET, bypass_csp=True)
    try:
        open_live_paused(page, server.base_url, "office")
        first = rows(page).first
        expect(first).to_contain_text(OVERDUE)
        expect(first).to_contain_text("逾期 3 天")
        expect(rows(page).filter(has_text=UNDATED)).to_contain_text("未设置")
        expect(page.locator("main")).not_to_contain_text("满意率")
        assert_fits(page, 768)
        assert_accessible(page, axe_url, shoot, "tablet")

        page.get_by_label("党委/总支").select_option(label="兴文中学党总支")
        with page.expect_navigation():
            page.get_by_role("button", name="筛选").click()
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text(OVERDUE)
        expect(page.get_by_role("link", name="恢复自动刷新")).to_be_visible()  # still paused
    finally:
        page.context.close()


def test_secretary_on_a_phone_sees_only_their_branch(browser, server, rounds, axe_url,
                                                     shoot):
    page = open_device(browser, PHONE, bypass_csp=True)
    try:
        open_live_paused(page, server.base_url, "secretary")
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text(DEMO_OPEN)
        expect(page.get_by_label("党委/总支")).to_have_count(0)
        expect(page.get_by_role("link", name="设置计划结束日期")).to_have_count(0)
        assert_fits(page, 360)
        assert_accessible(page, axe_url, shoot, "phone")
    finally:
        page.context.close()


def test_office_on_a_phone_sets_a_planned_close_date(browser, server, rounds, axe_url,
                                                     shoot):
    day = (campaign_today() + timedelta(days=10)).isoformat()
    page = open_device(browser, PHONE, bypass_csp=True)
    try:
        log_in(page, server.base_url, "office")
        page.goto(f"{server.base_url}/live")
        with page.expect_navigation():
            page.get_by_role("link", name="设置计划结束日期").tap()
        assert_fits(page, 360)
        assert_accessible(page, axe_url, shoot, "selecting")
        page.get_by_role("checkbox", name=f"选择 {WATCHED}").check()
        page.get_by_label("计划结束日期").fill(day)
        with page.expect_navigation():
            page.get_by_role("button", name="为勾选的测评设置").tap()
        expect(page.get_by_role("status")).to_contain_text(f"已为 1 项测评设置计划结束日期 {day}")
        expect(rows(page).filter(has_text=WATCHED)).to_contain_text(day)
        shoot(page, "set")
    finally:
        page.context.close()


def test_the_page_reloads_itself_until_paused(browser, server, rounds):
    urls = card_urls(server, rounds["watched"])
    page = open_device(browser, TABLET)  # under the app's own CSP
    watcher = Watched(page)
    try:
        log_in(page, server.base_url, "office")
        page.goto(f"{server.base_url}/live")
        watched = rows(page).filter(has_text=WATCHED)
        expect(watched).to_contain_text("已收 0 / 发卡 4")
        cast(urls[0], "satisfied")
        expect(watched).to_contain_text("已收 1 / 发卡 4",  # no click: the page reloaded
                                        timeout=(3 * REFRESH_SECONDS + 5) * 1000)
        pause(page)
        cast(urls[1], "satisfied")
        with pytest.raises(PlaywrightTimeout):
            with page.expect_navigation(timeout=(2 * REFRESH_SECONDS + 1) * 1000):
                pass  # nothing reloads a paused page
        expect(watched).to_contain_text("已收 1 / 发卡 4")
        page.reload()
        expect(watched).to_contain_text("已收 2 / 发卡 4")
        assert not watcher.problems, watcher.problems
    finally:
        page.context.close()
