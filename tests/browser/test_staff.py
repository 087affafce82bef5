"""Staff in a desk browser: a secretary runs a round to its results; the office's overview."""
import re
import secrets
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import card_urls, log_in, new_round

pytestmark = [pytest.mark.browser, pytest.mark.server]

ITEMS = ("quality", "organisation", "service", "work", "overall")
# Six respondents' answers to every item: enough ballots (5 or more) for results to show.
ANSWERS = ("satisfied", "satisfied", "fairly", "basic", "dissatisfied", "satisfied")
TITLE = "县委办公室整改满意度测评（浏览器测试）"


def cast(url: str, answer: str) -> None:
    """Submit a satisfaction ballot the way the phone page does (a plain form POST)."""
    body = urllib.parse.urlencode({"nonce": secrets.token_urlsafe(16),
                                   **{item: answer for item in ITEMS}}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert "提交成功" in response.read().decode()


def chart_widths(page) -> list[int]:
    """Scroll every chart into view (they load lazily), wait for them; their natural widths."""
    images = page.locator(".charts img")
    expect(images.first).to_be_attached()
    for image in images.all():
        image.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('.charts img')]"
                           ".every(i => i.complete)")
    return images.evaluate_all("images => images.map(i => i.naturalWidth)")


def test_secretary_opens_and_closes_a_round_and_reads_the_chart(desk, server, shoot):
    round_id = new_round(server, "XW0101", "satisfaction", "--group", "masses=6",
                         "--title", TITLE, open_=False)
    log_in(desk, server.base_url, "secretary")
    desk.get_by_role("link", name="测评", exact=True).click()
    desk.get_by_role("link", name=TITLE).click()
    desk.wait_for_url(f"**/rounds/{round_id}")
    facts = desk.locator("dl.facts")
    expect(facts).to_contain_text("草稿")
    shoot(desk, "draft")

    desk.get_by_role("button", name="开始测评").click()
    expect(desk.get_by_role("button", name="结束测评")).to_be_visible()
    expect(facts).to_contain_text("进行中")

    for url, answer in zip(card_urls(server, round_id), ANSWERS):
        cast(url, answer)
    desk.reload()
    participation = desk.get_by_role("row").filter(has_text="群众代表")
    expect(participation).to_have_text(re.compile(r"群众代表\s*6\s*6\s*100%"))
    expect(desk.get_by_role("heading", name="测评结果")).to_have_count(0)  # not while open
    shoot(desk, "open")

    desk.get_by_role("button", name="结束测评").click()
    expect(desk.get_by_role("heading", name="测评结果")).to_be_visible()
    expect(facts).to_contain_text("已结束")
    expect(desk.locator("main")).to_contain_text("有效票 6 份")
    widths = chart_widths(desk)
    assert widths and all(width > 0 for width in widths), f"a chart did not load: {widths}"
    desk.get_by_role("heading", name="测评结果").scroll_into_view_if_needed()
    shoot(desk, "results", doc="results-chart", full_page=False)


def test_office_dashboard_shows_the_make_up_flag(desk, server, shoot):
    log_in(desk, server.base_url, "office")
    desk.get_by_role("link", name="总览").click()
    expect(desk.get_by_role("heading", name="活动总览")).to_be_visible()

    finance = desk.get_by_role("row").filter(has_text="县财政局党支部")
    expect(finance.get_by_text("补课（待确认）")).to_be_visible()
    school = desk.get_by_role("row").filter(has_text="兴文中学教工第一党支部")
    expect(school.get_by_text("需补课")).to_be_visible()
    expect(school.get_by_text("黄牌")).to_be_visible()
    pending = desk.locator("li.card").filter(has_text="县财政局党支部")
    expect(pending.get_by_text("规则建议补课")).to_be_visible()
    shoot(desk, "dashboard", doc="office-dashboard", full_page=False)
    # The 补课 is decided on the round itself, where its result is read.
    pending.get_by_role("link", name="查看结果并决定").click()
    expect(desk.get_by_role("button", name="确认规则建议")).to_be_visible()
