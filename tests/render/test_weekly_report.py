"""The weekly report's files hold at county size: 100 branches that all held rounds give a PDF
(no LayoutError) and bounded charts, with the same content as the page."""
import io
import zipfile
from datetime import date

import pypdfium2
from PIL import Image

from evalsvc.models import FlagKind
from evalsvc.render.report import BARS_PER_CHART, write_report_pdf, write_report_xlsx
from evalsvc.services.report import BranchWeek, WeeklyReport, default_period


def _county(branches=100) -> WeeklyReport:
    rows = []
    for i in range(branches):
        row = BranchWeek(f"B{i:03d}", f"第{i}号党支部", 1 + i % 3, f"第{i % 30}党委",
                         {"学习动员": "已通过", "分析评议": "进行中", "整改提高": "未开始"},
                         rounds_held=1, cards=20, ballots=15 + i % 5)
        row.figures["满意率"] = [0.5 + (i % 50) / 100]
        row.changes.append("11月26日 「满意度测评」（分析评议，第1次）结束测评，收回答卷 15 份")
        rows.append(row)
    return WeeklyReport(date(2026, 11, 19), date(2026, 11, 25), rows,
                        opinions=[("第1号党支部", date(2026, 11, 24), "县督导组",
                                   "整改台账需细化到人")],
                        flag_counts={1: {FlagKind.MAKE_UP: 3, FlagKind.YELLOW_CARD: 1}},
                        admonishments=[("县财政局", date(2026, 11, 24), "待确认")],
                        batch_names={1: "党政机关", 2: "事业单位", 3: "农村"})


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def test_a_county_of_100_branches_prints(app):
    buffer = io.BytesIO()
    write_report_pdf(_county(), buffer)
    text = _pdf_text(buffer.getvalue()).replace("\r\n", "\n")
    assert "督导工作周报（2026年11月19日至2026年11月25日）" in text
    assert "第99号党支部" in text and "整改台账需细化到人" in text
    assert "第1批（党政机关）" in text and "县财政局" in text
    assert "北京时间" in text


def test_the_xlsx_charts_stay_bounded_and_hold_the_same_content(app):
    buffer = io.BytesIO()
    write_report_xlsx(_county(), buffer)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    images = [n for n in archive.namelist() if n.startswith("xl/media/")]
    assert len(images) == 1 + 3  # the batches, then 30 committees over three charts
    for name in images:
        width, height = Image.open(io.BytesIO(archive.read(name))).size
        assert height <= 0.45 * BARS_PER_CHART * 110 + 1.6 * 110 + 2 and width < 900
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(buffer.getvalue()))
    summary = list(book["批次汇总"].iter_rows(values_only=True))
    assert summary[1][:3] == ("第1批（党政机关）", 34, 34) and summary[1][6:8] == (3, 1)
    assert list(book["督导意见"].iter_rows(values_only=True))[1][1] == "2026年11月24日"


def test_the_period_ends_the_day_before_the_reporting_day():
    thursday = date(2026, 11, 26)
    assert default_period(thursday) == (date(2026, 11, 19), date(2026, 11, 25))
    assert default_period(date(2026, 11, 30)) == (date(2026, 11, 19), date(2026, 11, 25))
    assert default_period(date(2026, 11, 25)) == (date(2026, 11, 12), date(2026, 11, 18))
    assert default_period(date(2026, 11, 30), weekday=1) == (date(2026, 11, 23),
                                                              date(2026, 11, 29))


def test_free_text_keeps_its_lines_and_is_never_markup_in_the_pdf(app):
    report = _county(3)
    report.opinions = [("第1号党支部", date(2026, 11, 24), "县督导组",
                        "第一条：台账<b>不全</b> & 缺签字\n第二条：走访不足")]
    buffer = io.BytesIO()
    write_report_pdf(report, buffer)
    text = _pdf_text(buffer.getvalue()).replace("\r\n", "\n")
    assert "第一条：台账<b>不全</b> & 缺签字\n第二条：走访不足" in text
