"""A respondent on a phone: scan, answer, submit, get a receipt; mistakes and refusals.

Chromium is 360×740 with touch and a mobile user agent; every answer is tapped. The pages
run under the app's own Content-Security-Policy (a violation fails the test).
"""
import re

import pypdfium2
import pytest
import zxingcpp
from playwright.sync_api import expect

from tests.browser.conftest import card_urls, cards_of, log_in, new_round, new_rounds

pytestmark = [pytest.mark.browser, pytest.mark.server]

RECEIPT = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")
SATISFACTION_ITEMS = ("提高党员素质", "加强基层组织", "服务人民群众", "促进各项工作", "总体评价")
GRADES = ("优秀", "合格", "基本合格", "不合格")


@pytest.fixture(scope="module")
def rounds(server):
    """The open rounds the phones answer: name → round id."""
    return new_rounds(server, {
        "satisfaction": ("XW0101", "satisfaction", "--group", "masses=4"),
        # 40 members, 36 of them full members: 36 blocks on the ballot.
        "member_review": ("XW020101", "member_review", "--group", "member=2"),
        "poster": ("XW0102", "satisfaction", "--poster", "50"),
        "printed": ("XW0103", "opinion", "--group", "masses=8"),
    })


@pytest.fixture(scope="module")
def cards(server, rounds):
    """The card URLs of each round that has cards."""
    return cards_of(server, {name: i for name, i in rounds.items() if name != "poster"})


def question(page, text: str):
    """A question of the ballot, found by its heading (the fieldset's legend)."""
    return page.get_by_role("group", name=text, exact=True)


def answer(page, text: str, option: str):
    """The radio button of ``option`` in the question ``text``."""
    return question(page, text).get_by_role("radio", name=option, exact=True)


def submit(page) -> None:
    """Tap 提交 and wait for the server's answer to load."""
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()


def receipt_of(page) -> str:
    """The receipt on the thank-you page."""
    expect(page.get_by_role("heading", name="提交成功，谢谢您！")).to_be_visible()
    receipt = page.locator(".receipt").inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    return receipt


def assert_fits_the_screen(page) -> None:
    """No sideways scrolling on a 360 px phone."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width} px wide on a 360 px screen"


def test_satisfaction_ballot_gets_a_receipt(phone, cards, shoot):
    phone.goto(cards["satisfaction"][0].lower())  # what a camera app may hand the browser
    expect(phone.get_by_role("heading", name="县委办公室党支部整改满意度测评表")).to_be_visible()
    assert_fits_the_screen(phone)
    shoot(phone, "opened")
    for text, option in zip(SATISFACTION_ITEMS[:3], ("满意", "比较满意", "基本满意")):
        answer(phone, text, option).tap()
    question(phone, "提高党员素质").scroll_into_view_if_needed()
    shoot(phone, "partly-answered", doc="phone-ballot", full_page=False)
    answer(phone, "促进各项工作", "不了解").tap()
    answer(phone, "总体评价", "满意").tap()
    phone.get_by_label("对整改工作的意见和建议（选填）").fill("希望整改进度按月公开。")
    expect(answer(phone, "加强基层组织", "比较满意")).to_be_checked()
    submit(phone)
    receipt_of(phone)
    assert_fits_the_screen(phone)
    shoot(phone, "receipt")


def rendered_text(page, selector: str) -> str:
    """An element's text as the screen shows it, CSS generated content included (read from
    Chromium's accessibility tree: the page's own scripts cannot read a CSS counter)."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    backend = cdp.send("DOM.describeNode", {"nodeId": node})["node"]["backendNodeId"]
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    by_id = {n["nodeId"]: n for n in nodes}
    own = next(n for n in nodes if n.get("backendDOMNodeId") == backend)

    def text(n) -> str:
        if n.get("role", {}).get("value") == "StaticText":
            return str(n.get("name", {}).get("value", ""))
        return "".join(text(by_id[c]) for c in n.get("childIds", []) if c in by_id)

    return text(own)


def test_member_review_keeps_answers_and_names_the_missing_member(phone, cards, shoot):
    phone.goto(cards["member_review"][0])
    # Each legend ends with the required mark, which is hidden from screen readers.
    legends = phone.locator("fieldset.member legend").all_inner_texts()
    names = [text.strip().rstrip("*") for text in legends]
    assert len(names) == 36, names  # full members only; probationary members are not on it
    assert_fits_the_screen(phone)
    skipped = names[17]
    chosen = {name: GRADES[i % 3] for i, name in enumerate(names) if name != skipped}
    for name, grade in chosen.items():  # no 不合格: one ballot should flag nobody anyway
        answer(phone, name, grade).tap()
    # A live count of answered members (CSS counters: no script), at the foot of the screen.
    expect(phone.locator(".answered")).to_be_in_viewport()
    assert "已评议 35 / 36 名" in rendered_text(phone, ".answered")
    shoot(phone, "all-but-one")
    submit(phone)

    # The refused page opens at the first error, counts the answered members and links to
    # the first one unanswered.
    assert phone.url.endswith("#first-error")
    missing = question(phone, skipped)
    expect(missing).to_be_in_viewport()
    tally = phone.locator("#tally")
    expect(tally).to_contain_text("共 36 名党员，已评议 35 名")
    expect(tally.get_by_role("link", name=f"转到第一位未评议的党员：{skipped}")).to_be_visible()
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("有 1 处需要修改")
    expect(alert).to_contain_text(f"请选择「{skipped}」")
    expect(missing).to_contain_text(f"请选择「{skipped}」")
    expect(missing).to_have_attribute("aria-describedby", re.compile(r"^e-"))
    for name, grade in chosen.items():
        expect(answer(phone, name, grade), f"the answer for {name} was lost").to_be_checked()
    expect(missing.get_by_role("radio", checked=True)).to_have_count(0)
    shoot(phone, "error")

    alert.get_by_role("link", name=f"请选择「{skipped}」").tap()
    expect(missing).to_be_in_viewport()
    answer(phone, skipped, "优秀").tap()
    submit(phone)
    receipt_of(phone)
    shoot(phone, "receipt")


def test_a_mistyped_code_can_be_corrected_on_the_refusal(phone, server, cards, shoot):
    good = cards["satisfaction"][2]
    code = good.rsplit("/", 1)[1]
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    response = phone.goto(f"{server.base_url}/C/{wrong}")
    assert response.status == 404
    expect(phone.get_by_role("heading", name="二维码无效")).to_be_visible()
    box = phone.get_by_label("测评卡代码")
    expect(box).to_have_value(wrong)  # not a dead end: the typed code, ready to correct
    shoot(phone, "wrong-code")
    box.fill(code)
    with phone.expect_navigation():
        phone.get_by_role("button", name="打开测评").tap()
    expect(question(phone, SATISFACTION_ITEMS[0])).to_be_visible()
    for text in SATISFACTION_ITEMS:
        answer(phone, text, "满意").tap()
    submit(phone)
    receipt_of(phone)
    expect(phone.locator("main a[href$='/receipt']")).to_be_visible()
    expect(phone.locator("main")).to_contain_text("测评结束后")
    assert_fits_the_screen(phone)


def test_spent_card_is_refused(new_phone, cards, shoot):
    url = cards["satisfaction"][1]
    first = new_phone()
    first.goto(url)
    for text in SATISFACTION_ITEMS:
        answer(first, text, "满意").tap()
    submit(first)
    receipt_of(first)

    for phone in (first, new_phone()):  # the same phone again, then someone else's
        response = phone.goto(url)
        assert response.status == 409
        expect(phone.get_by_role("heading", name="此二维码已使用")).to_be_visible()
        expect(phone.get_by_role("button", name="提交")).to_have_count(0)
    shoot(phone, "refused")


def test_open_poster_takes_one_ballot_per_phone(new_phone, desk, server, rounds, shoot):
    log_in(desk, server.base_url, "office")
    desk.goto(f"{server.base_url}/rounds/{rounds['poster']}")
    facts = desk.locator("dl.facts")
    expect(facts).to_contain_text("上限 50 票")
    poster_url = re.search(r"http://\S+/p/[A-Za-z0-9_-]+", facts.inner_text()).group(0)

    phone = new_phone()
    phone.goto(poster_url)
    expect(phone.get_by_text("本测评为公开扫码参与，不是一人一票。")).to_be_visible()
    for text in SATISFACTION_ITEMS:
        answer(phone, text, "比较满意").tap()
    submit(phone)
    receipt = receipt_of(phone)

    response = phone.goto(poster_url)
    assert response.status == 409
    expect(phone.get_by_role("heading", name="您已参加过本次测评")).to_be_visible()
    expect(phone.locator(".receipt")).to_have_text(receipt)
    shoot(phone, "again")

    other = new_phone()
    other.goto(poster_url)
    expect(other.get_by_role("button", name="提交")).to_be_enabled()

    desk.reload()
    expect(facts).to_contain_text("已收 1 票")


def decode_first_page(pdf_path) -> list[str]:
    """Render page 1 of a card PDF at 200 dpi and read every QR code on it."""
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        image = pdf[0].render(scale=200 / 72).to_pil()
    finally:
        pdf.close()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def test_printed_qr_code_opens_the_ballot(phone, server, rounds, cards, shoot, tmp_path):
    pdf = tmp_path / "cards.pdf"
    server.cli("round", "cards", str(rounds["printed"]), "--pdf", str(pdf))
    decoded = decode_first_page(pdf)

    assert sorted(decoded) == cards["printed"]  # all 8 cards are on page 1
    prefix = f"HTTP://127.0.0.1:{server.port}/C/"
    assert all(text.startswith(prefix) for text in decoded), decoded

    phone.goto(f"{server.base_url}/C/{decoded[0].removeprefix(prefix)}")  # scheme, host lowered
    expect(phone.get_by_role("heading", name="县财政局党支部征求意见表")).to_be_visible()
    categories = question(phone, "您认为存在问题较多的方面（可多选）")
    for option in ("工作作风", "服务意识"):
        categories.get_by_role("checkbox", name=option).tap()
    phone.get_by_label("具体意见和建议").fill("窗口办事要一次讲清楚。")
    shoot(phone, "answered")
    submit(phone)
    receipt_of(phone)


def test_a_comment_typed_up_to_its_limit_with_line_breaks_is_accepted(phone, server, shoot):
    """The text box stops the typing at its maxlength, counting a line break as one
    character; the form sends each as CR LF. A comment typed right up to the limit in ten
    lines was refused as 不能超过 500 字, with no way for its writer to see why."""
    round_id = new_round(server, "XW0103", "opinion", "--group", "masses=1")
    phone.goto(card_urls(server, round_id)[0])
    box = phone.get_by_label("具体意见和建议")
    box.tap()
    for _line in range(10):
        phone.keyboard.insert_text("食堂饭菜价格偏高" * 6 + "，建议改进")
        phone.keyboard.press("Enter")
    phone.keyboard.type("多" * 60)  # the box takes what fits and no more
    assert phone.evaluate("document.querySelector('textarea').value.length") == 500
    shoot(phone, "at-the-limit")
    submit(phone)
    receipt_of(phone)
