"""The paper-entry pages at tablet (768 px) and phone (360 px) widths: one person keys a
sheet on a tablet, another on a phone, and the sheet counts; large targets, nothing wider
than the screen, no serious or critical axe-core violations on any step."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, card_urls, log_in, new_context, new_round
from tests.browser.test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.server]

TABLET = {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 1,
          "has_touch": True, "locale": "zh-CN"}
SECOND = ("office2", "second-keyer-pass-1")


@pytest.fixture(scope="module")
def sheets(server, tmp_path_factory):
    """An open satisfaction round (its id and card URLs) and a second office account."""
    password = tmp_path_factory.mktemp("keyer") / "password"
    password.write_text(SECOND[1])
    server.cli("user", "add", SECOND[0], "--role", "office", "--password-file", str(password))
    round_id = new_round(server, "XW0101", "satisfaction", "--group", "masses=3")
    return round_id, card_urls(server, round_id)


def _log_in_second(page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(SECOND[0])
    page.get_by_label("密码").fill(SECOND[1])
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出").wait_for()


def _fits_and_targets_are_large(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for box in (o.bounding_box() for o in page.locator("label.opt").all()):
        assert box["height"] >= 44 and box["width"] >= 44


def _key_in(page, base_url: str, round_id: int, scanned: str, shoot, axe_url, step: str):
    """Scan the sheet's code, key every answer as the first option, save."""
    page.goto(f"{base_url}/rounds/{round_id}/paper")
    assert_accessible(page, axe_url, shoot, f"{step}-code")
    page.get_by_label("测评卡代码").fill(scanned)  # a scanner types the QR's URL
    with page.expect_navigation():
        page.get_by_role("button", name="下一步：录入答案").click()
    expect(page.get_by_role("button", name="保存本次录入")).to_be_visible()
    _fits_and_targets_are_large(page)
    assert_accessible(page, axe_url, shoot, f"{step}-answers")
    with page.expect_navigation():  # nothing keyed yet: every question is named
        page.get_by_role("button", name="保存本次录入").click()
    expect(page.get_by_role("alert")).to_contain_text("处需要修改")
    assert_accessible(page, axe_url, shoot, f"{step}-errors")
    for question in page.locator("fieldset.q").all():
        question.locator("label.opt").first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="保存本次录入").click()


def test_two_staff_key_one_sheet_on_a_tablet_and_a_phone(browser, server, sheets, axe_url,
                                                         shoot):
    round_id, urls = sheets
    tablet = new_context(browser, TABLET, bypass_csp=True)
    phone = new_context(browser, PHONE, bypass_csp=True)
    try:
        first = tablet.new_page()
        log_in(first, server.base_url, "office")
        _key_in(first, server.base_url, round_id, urls[0], shoot, axe_url, "tablet")
        expect(first.get_by_role("status")).to_contain_text("已保存第一次录入")
        assert_accessible(first, axe_url, shoot, "tablet-saved")

        second = phone.new_page()
        _log_in_second(second, server.base_url)
        _key_in(second, server.base_url, round_id, urls[0], shoot, axe_url, "phone")
        expect(second.get_by_role("status")).to_contain_text("已计入结果")
        _fits_and_targets_are_large(second)
        assert_accessible(second, axe_url, shoot, "phone-counted")

        second.get_by_label("测评卡代码").fill(urls[0])  # the same sheet once more
        with second.expect_navigation():
            second.get_by_role("button", name="下一步：录入答案").click()
        expect(second.get_by_role("alert")).to_contain_text("已经使用过")
        assert_accessible(second, axe_url, shoot, "phone-spent")
        second.goto(f"{server.base_url}/rounds/{round_id}/paper/disputed")
        expect(second.get_by_text("没有录入不一致的纸质票")).to_be_visible()
        assert_accessible(second, axe_url, shoot, "phone-disputed")
    finally:
        tablet.close()
        phone.close()
