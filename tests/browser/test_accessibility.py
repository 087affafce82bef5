"""No serious or critical axe-core violations on the respondent's pages or the main staff pages.

axe-core (from the npm registry, tests/browser/package.json) is injected into each page as
Chromium rendered it. The contexts bypass the app's CSP only so the checker itself can be
injected; the pages are otherwise the real ones.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESK, PHONE, cards_of, log_in, new_context, new_rounds

pytestmark = [pytest.mark.browser, pytest.mark.server]

BLOCKING = ("serious", "critical")


def violations(page, axe_url: str) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.add_script_tag(url=axe_url)
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in found if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    """One line per violation and offending element, for the failure message."""
    lines = []
    for v in found:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
    return "\n".join(lines)


def assert_accessible(page, axe_url: str, shoot, step: str) -> None:
    """Photograph the page, then fail on any serious or critical violation."""
    shoot(page, step)
    found = violations(page, axe_url)
    assert not found, f"{page.url}\n{describe(found)}"


@pytest.fixture(scope="module")
def ballots(server):
    """An open round of each kind, each with a few unused cards: kind → card URLs."""
    return cards_of(server, new_rounds(server, {
        "satisfaction": ("XW0101", "satisfaction", "--group", "masses=4"),
        "opinion": ("XW0102", "opinion", "--group", "masses=2"),
        "stage_review": ("XW0102", "stage_review", "--group", "member=2"),
        "member_review": ("XW0101", "member_review", "--group", "member=2"),
    }))


@pytest.fixture(scope="module")
def phone_context(browser):
    """A phone, shared by the module's respondent pages."""
    context = new_context(browser, PHONE, bypass_csp=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def phone_page(phone_context):
    """The phone's tab: each test opens its pages in it (a new tab for each test cost
    0.1–0.2 s of CPU: a renderer process started and set up)."""
    page = phone_context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def office_page(browser, server):
    """A desk browser logged in as the campaign office: its tab, as ``phone_page``."""
    context = new_context(browser, DESK, bypass_csp=True)
    page = context.new_page()
    log_in(page, server.base_url, "office")
    yield page
    context.close()


@pytest.mark.parametrize("kind", ["satisfaction", "opinion", "stage_review", "member_review"])
def test_ballot_of_each_kind(phone_page, ballots, axe_url, shoot, kind):
    phone_page.goto(ballots[kind][0].lower())
    expect(phone_page.get_by_role("button", name="提交")).to_be_enabled()
    assert_accessible(phone_page, axe_url, shoot, "ballot")


def test_ballot_with_errors(phone_page, ballots, axe_url, shoot):
    phone_page.goto(ballots["satisfaction"][1])
    with phone_page.expect_navigation():
        phone_page.get_by_role("button", name="提交").tap()
    expect(phone_page.get_by_role("alert")).to_contain_text("处需要修改")
    assert_accessible(phone_page, axe_url, shoot, "errors")


def test_thanks_and_spent_card(phone_page, ballots, axe_url, shoot):
    url = ballots["opinion"][1]
    phone_page.goto(url)
    with phone_page.expect_navigation():  # every opinion question is optional
        phone_page.get_by_role("button", name="提交").tap()
    expect(phone_page.get_by_role("heading", name="提交成功，谢谢您！")).to_be_visible()
    assert_accessible(phone_page, axe_url, shoot, "thanks")
    phone_page.goto(url)
    expect(phone_page.get_by_role("heading", name="此二维码已使用")).to_be_visible()
    assert_accessible(phone_page, axe_url, shoot, "spent")


def test_enter_code_page(phone_page, server, axe_url, shoot):
    phone_page.goto(f"{server.base_url}/c")
    assert_accessible(phone_page, axe_url, shoot, "empty")
    phone_page.get_by_label("测评卡代码").fill("ABC")
    with phone_page.expect_navigation():
        phone_page.get_by_role("button", name="打开测评").tap()
    expect(phone_page.get_by_text("代码应为 12 位字母和数字")).to_be_visible()
    assert_accessible(phone_page, axe_url, shoot, "error")


def test_login_page(browser, server, axe_url, shoot):
    context = new_context(browser, DESK, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/login")
        assert_accessible(page, axe_url, shoot, "login")
        page.get_by_label("用户名").fill("office")
        page.get_by_label("密码").fill("wrong password")
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        expect(page.get_by_text("用户名或密码错误")).to_be_visible()
        assert_accessible(page, axe_url, shoot, "refused")
    finally:
        context.close()


def _open_closed_round(page, base_url: str, title: str) -> None:
    """Follow the link of the closed round whose title starts with ``title``."""
    page.goto(f"{base_url}/rounds")
    row = page.get_by_role("row").filter(has_text=title).filter(has_text="已结束")
    row.get_by_role("link", name=title).first.click()


def test_dashboard(office_page, server, axe_url, shoot):
    page = office_page
    page.goto(f"{server.base_url}/dashboard")
    expect(page.get_by_role("heading", name="活动总览")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "dashboard")


def test_org_page(office_page, server, axe_url, shoot):
    page = office_page
    page.goto(f"{server.base_url}/dashboard")
    page.get_by_role("link", name="县委办公室党支部").click()
    expect(page.get_by_role("heading", name="县委办公室党支部")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "org")


@pytest.mark.parametrize("title", ["县委办公室党支部民主评议党员测评票", "兴文中学教工第一党支部"],
                         ids=["member-review", "stage-review"])
def test_round_page_with_results(office_page, server, axe_url, shoot, title):
    page = office_page
    _open_closed_round(page, server.base_url, title)
    expect(page.get_by_role("heading", name="测评结果")).to_be_visible()
    for image in page.locator(".charts img").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.charts img')]"
        ".every(i => i.complete && i.naturalWidth > 0)")
    assert_accessible(page, axe_url, shoot, "round")


def test_member_import_page_listing_a_files_problems(office_page, server, axe_url, shoot):
    page = office_page
    page.goto(f"{server.base_url}/")
    page.get_by_role("link", name="导入党员名册").click()
    expect(page.get_by_role("heading", name="导入党员名册")).to_be_visible()
    page.get_by_label("党员名册文件（.xlsx 或 .csv）").set_input_files(files=[{
        "name": "名册.csv", "mimeType": "text/csv",
        "buffer": "姓名,所属支部编码\n孔令甲,NOPE\n,XW0101\n".encode("gbk")}])
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("heading", name="文件有 2 处问题，未导入任何党员")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="支部编码 NOPE 不存在")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "member-import-errors")


def test_unknown_card_page_with_the_typed_code(phone_page, server, axe_url, shoot):
    phone_page.goto(f"{server.base_url}/C/ABCDEFGHJKMNPQRSTVWXYZ2345")
    expect(phone_page.get_by_role("heading", name="二维码无效")).to_be_visible()
    expect(phone_page.get_by_label("测评卡代码")).to_have_value("ABCDEFGHJKMNPQRSTVWXYZ2345")
    assert_accessible(phone_page, axe_url, shoot, "unknown-card")


@pytest.mark.parametrize("path, heading", [
    ("/reports/weekly?from=2000-01-01&to=2100-12-31", "督导工作周报"),
    ("/audit/?action=结束测评", "审计日志"),
    ("/definitions", "测评表"),
    ("/dashboard/lists/pending", "待处理的规则建议"),
    ("/?q=党支部", "组织"),
    ("/rounds?state=closed&q=XW", "测评"),
], ids=["weekly-report", "audit-log", "definitions", "side-list", "org-search", "rounds-list"])
def test_staff_reading_pages(office_page, server, axe_url, shoot, path, heading):
    page = office_page
    page.goto(f"{server.base_url}{path}")
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    assert_accessible(page, axe_url, shoot, heading)


def test_close_confirmation_page(office_page, server, ballots, axe_url, shoot):
    page = office_page
    page.goto(f"{server.base_url}/rounds")
    row = page.get_by_role("row").filter(has_text="兴文").filter(has_text="进行中").first
    if not row.count():
        row = page.get_by_role("row").filter(has_text="进行中").first
    row.get_by_role("link").first.click()
    page.get_by_role("button", name="结束测评").click()
    expect(page.get_by_role("heading", name="确认结束测评")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "confirm-close")


def test_bulk_rounds_form_and_preview(office_page, server, axe_url, shoot):
    page = office_page
    page.goto(f"{server.base_url}/rounds/bulk")
    expect(page.get_by_role("heading", name="批量创建、开始、结束测评")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "bulk")
    page.locator("#batch").select_option("1")
    page.get_by_role("button", name="预览").click()
    expect(page.get_by_role("heading", name="预览：第1批次批量创建测评")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "bulk-preview")


def test_questionnaire_draft_and_its_preview_at_phone_width(office_page, browser, server,
                                                            axe_url, shoot):
    """问卷管理: the office edits at a desk, then previews the draft on a phone: the
    respondent's page, marked 预览, with no way to submit. (Only a draft: nothing published,
    so the module's other rounds are unaffected.)"""
    page = office_page
    page.goto(f"{server.base_url}/")
    page.get_by_role("link", name="问卷管理").click()
    expect(page.get_by_role("heading", name="问卷管理")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "questionnaires")
    page.get_by_role("link", name=re.compile(r"^修改\s*整改满意度测评表$")).click()
    editor = page.get_by_label("问卷内容（TOML 格式，与 forms/ 目录中的文件相同）")
    editor.fill(editor.input_value().replace('text = "总体评价"', 'text = "总体评价（预览版）"'))
    assert_accessible(page, axe_url, shoot, "questionnaire-edit")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name="草稿：整改满意度测评表")).to_be_visible()
    assert_accessible(page, axe_url, shoot, "questionnaire-draft")

    phone = new_context(browser, PHONE, bypass_csp=True)
    try:
        preview = phone.new_page()
        log_in(preview, server.base_url, "office")
        preview.goto(f"{server.base_url}/questionnaires/satisfaction/draft/preview")
        expect(preview.get_by_text("尚未发布，在此无法提交")).to_be_visible()
        expect(preview.get_by_role("group", name="总体评价（预览版）")).to_be_visible()
        expect(preview.get_by_role("button", name="提交")).to_be_disabled()
        assert preview.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
        assert_accessible(preview, axe_url, shoot, "questionnaire-preview")
    finally:
        phone.close()
