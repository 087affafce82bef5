"""The supervision group and the office read their pages at a desk: the weekly report on the
page and as a PDF, the audit log in Chinese with filters, make-up records."""
import os
import re
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DOCS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.server]
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the demo's rounds ran today
WIDE = f"from={TODAY - timedelta(days=6)}&to={TODAY}"


def test_the_weekly_report_on_the_page_and_as_pdf(desk, server, shoot, tmp_path):
    log_in(desk, server.base_url, "supervisor")
    desk.get_by_role("link", name="周报").click()
    heading = desk.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^督导工作周报（\d{4}年\d{1,2}月\d{1,2}日至"))
    desk.goto(f"{server.base_url}/reports/weekly?{WIDE}")
    summary = desk.get_by_role("table").first
    expect(summary).to_contain_text("第1批")
    expect(desk.locator("main")).to_contain_text("结束测评，收回答卷")
    # Stage columns read on one line (学习动员, 已通过), not one character a line.
    for cell in (desk.locator("table.weekly th.stage").first,
                 desk.locator("table.weekly td.stage").first):
        lines = cell.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e);"
                              " return r.getClientRects().length; }")
        assert lines == 1, cell.inner_text()
    shoot(desk, "page")
    with desk.expect_download() as download:
        desk.get_by_role("link", name="下载 PDF").click()
    path = tmp_path / "weekly.pdf"
    download.value.save_as(path)
    pdf = pypdfium2.PdfDocument(str(path))
    text = pdf[0].get_textpage().get_text_range()
    assert "督导工作周报" in text and "各批次汇总" in text
    image = tmp_path / "weekly-report-pdf.png"
    pdf[0].render(scale=1.4).to_pil().save(image)
    if os.environ.get("EVALSVC_UPDATE_DOCS") == "1":
        shutil.copyfile(image, DOCS / "weekly-report-pdf.png")


def test_the_audit_log_in_chinese_and_filtered(desk, server, shoot):
    log_in(desk, server.base_url, "supervisor")
    desk.get_by_role("button", name="退出").click()
    log_in(desk, server.base_url, "office")
    desk.get_by_role("link", name="审计日志").click()
    expect(desk.locator("main")).to_contain_text("时间均为北京时间")
    desk.get_by_label("操作", exact=True).fill("结束测评")
    desk.get_by_role("button", name="筛选").click()
    rows = desk.locator("table.audit tbody tr")
    expect(rows.first).to_contain_text("结束测评")
    expect(rows.first).to_contain_text("答卷份数：")
    expect(desk.locator("table.audit")).not_to_contain_text("round.close")
    shoot(desk, "filtered")
    desk.goto(f"{server.base_url}/audit/")
    desk.get_by_label("操作人").fill("第一督导组")
    desk.get_by_role("button", name="筛选").click()
    expect(rows.first).to_contain_text("第一督导组")
    expect(desk.locator("table.audit")).not_to_contain_text("命令行操作员")


def test_a_make_up_record_and_the_supervision_groups_comment(desk, server, shoot):
    log_in(desk, server.base_url, "office")
    desk.goto(f"{server.base_url}/dashboard")
    school = desk.get_by_role("row").filter(has_text="兴文中学教工第一党支部")
    school.get_by_role("link", name="兴文中学教工第一党支部").click()
    note = desk.get_by_label(re.compile("^补课记录"))
    note.fill("集中学习党章\n逐户走访群众 12 户")
    desk.get_by_label(re.compile("^补课日期")).fill("2000-01-01")
    desk.get_by_role("button", name="登记补课").click()
    # The date box refuses a day before the 补课 was confirmed (its min), then the server.
    expect(desk.locator(".flash.ok")).to_have_count(0)
    day = desk.get_by_label(re.compile("^补课日期")).get_attribute("min")
    desk.get_by_label(re.compile("^补课日期")).fill(day)
    desk.get_by_role("button", name="登记补课").click()
    expect(desk.locator(".flash.ok")).to_contain_text("补课情况")
    record = desk.locator(".make-up .note").first
    expect(record).to_have_text("集中学习党章\n逐户走访群众 12 户")
    assert record.bounding_box()["height"] > 30  # two lines, as written
    desk.get_by_role("button", name="退出").click()
    log_in(desk, server.base_url, "supervisor")
    desk.goto(f"{server.base_url}/dashboard")
    desk.get_by_role("row").filter(has_text="兴文中学教工第一党支部") \
        .get_by_role("link", name="兴文中学教工第一党支部").click()
    desk.get_by_label("对补课记录的意见").fill("走访记录应附群众签字")
    desk.get_by_role("button", name="提交意见").click()
    expect(desk.locator(".make-up-comment")).to_contain_text("第一督导组")
    shoot(desk, "commented")
