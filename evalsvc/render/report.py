"""The weekly report as XLSX and as a printable PDF with charts: the same content as the page.

Charts show batches and committees, never one bar per branch, never more than
``BARS_PER_CHART`` bars in one picture and never more than ``COMMITTEES_CHARTED`` committees
(those with the lowest participation, when a province has more): a county of 100 branches
still fits the page (a chart taller than the frame made reportlab raise ``LayoutError``), and a
province's charts stay a few pictures. Branches are in the tables.

The XLSX holds every branch, read in chunks as the write-only workbook writes them; the PDF
and the page list the first ``LISTED`` of each section and say how many more the XLSX holds.

Names and changes are user text: every Paragraph gets it escaped (reportlab reads ``<a>``,
``<img>`` and ``&`` as markup), and the chart draws it without math parsing.
"""
from collections.abc import Iterator
from datetime import date
from itertools import islice
from typing import BinaryIO
from xml.sax.saxutils import escape

from evalsvc.kinds import reported_rate_labels
from evalsvc.render.exports import Sheet, write_xlsx
from evalsvc.render.rectify_report import rectification_sheets
from evalsvc.render.fonts import LITERAL_TEXT_RC, matplotlib_font, reportlab_font
from evalsvc.services.report import LISTED, GroupSummary, WeeklyReport
from evalsvc.services.today import formal_date, now

BARS_PER_CHART = 12
COMMITTEES_CHARTED = 3 * BARS_PER_CHART
SEAL_HEADER = ("党支部", "测评编号", "测评", "封存摘要（SHA-256）")
SUMMARY_HEADER = ("批次", "党支部数", "本期结束测评", "测评卡", "收回答卷", "参与率（%，答卷/测评卡）",
                  "补课", "黄牌警示", "集体诫勉（单位）")
OPINION_HEADER = ("党支部", "日期", "督导组", "督导意见")
PDF_LEAVES_OUT = ("批次", "编码", "测评卡", "本期变化")  # the PDF lists changes below the tables


def header() -> tuple[str, ...]:
    """The columns: one per headline figure the installed kinds report (满意率, 合格率…)."""
    return ("批次", "编码", "党支部", "学习动员", "分析评议", "整改提高", "本期结束测评", "测评卡",
            "已提交", "参与率（%）", *(f"{f}（%）" for f in reported_rate_labels()),
            "新提规则建议", "本期确认", "转段申请", "本期变化")


def _figures_label() -> str:
    return "/".join(reported_rate_labels()) or "比率"


def _pct(value):
    return "" if value is None else round(value * 100, 1)


def rows(report: WeeklyReport, branches=None) -> Iterator[tuple]:
    """One row a branch, batch by batch: every branch in scope (read in chunks), or those
    given."""
    for b in report.every_branch() if branches is None else branches:
        yield (b.batch or "", b.code, b.name, *b.stages.values(), b.rounds_held, b.cards,
               b.ballots, _pct(b.participation),
               *(_pct(b.lowest(f)) for f in reported_rate_labels()), b.flags_raised,
               b.flags_confirmed, "；".join(b.transitions), "；".join(b.changes))


def summary_rows(report: WeeklyReport) -> Iterator[tuple]:
    """One row a batch."""
    for s in report.summaries():
        yield (s.label, s.branches, s.rounds_held, s.cards, s.ballots, _pct(s.participation),
               s.make_up, s.yellow_cards, s.admonishments)


def opinion_rows(report: WeeklyReport, every: bool = False) -> Iterator[tuple]:
    """The week's 督导意见: those listed, or (``every``, the XLSX) all of them."""
    for branch, on, author, text in (report.every_opinion() if every else report.opinions):
        yield branch, formal_date(on), author, text


def change_rows(report: WeeklyReport) -> Iterator[tuple]:
    """What happened, branch by branch (every branch)."""
    yield from report.change_lines()


def seal_rows(report: WeeklyReport) -> Iterator[tuple]:
    """The digest of every round held in the period, to check with ``evalsvc verify ID
    --digest HEX``."""
    for name, round_id, title_, digest in report.seal_lines():
        yield name, round_id, title_, digest or "未封存"


def more_line(more: int, what: str = "个") -> str:
    """其余 12 个见 Excel（XLSX）."""
    return f"其余 {more} {what}见 Excel（XLSX）。"


def listed_line(report: WeeklyReport, batch) -> str:
    """共 N 个党支部，此处列出前 M 个 (empty when all are listed)."""
    more = report.unlisted(batch)
    if not more:
        return ""
    return (f"共 {report.branch_count(batch)} 个党支部，此处列出按编码排序的前 "
            f"{len(report.listed(batch))} 个；{more_line(more)}")


def title(report: WeeklyReport) -> str:
    """督导工作周报（2026年11月19日至2026年11月25日）."""
    return f"督导工作周报（{formal_date(report.start)}至{formal_date(report.end)}）"


def summary_line(report: WeeklyReport) -> str:
    """The headline sentence, the same on the page, in the XLSX and in the PDF."""
    return (f"党支部 {report.branch_count()} 个；本期结束测评 {report.total('rounds_held')} 次，"
            f"收回答卷 {report.total('ballots')} 份；新提规则建议 {report.total('flags_raised')} 项，"
            f"本期确认 {report.total('flags_confirmed')} 项。")


def generated_line() -> str:
    """When the report was drawn, in local time."""
    return f"生成于 {formal_date(now().date())} {now().strftime('%H:%M')}（北京时间）"


def admonishment_lines(report: WeeklyReport) -> list[str]:
    """集体诫勉 of units, as sentences."""
    lines = [f"{unit}：{formal_date(on)} 提出集体诫勉（{status}）"
             for unit, on, status in report.admonishments]
    if report.more_admonishments():
        lines.append(f"另有 {report.more_admonishments()} 项集体诫勉未列出。")
    return lines


def write_weekly(user, start: date, end: date, fmt: str, out: BinaryIO) -> None:
    """The weekly report of ``user``'s scope for the period as ``fmt`` ("xlsx" or "pdf")
    into ``out`` (a file open for binary writing): what the web, the CLI and a job call."""
    from evalsvc.services.report import weekly

    writer = {"xlsx": write_report_xlsx, "pdf": write_report_pdf}[fmt]
    writer(weekly(user, start, end), out)


def write_report_xlsx(report: WeeklyReport, out: BinaryIO) -> None:
    """The report as a workbook: branches, batch summary, opinions, changes, seals, charts."""
    notes = [title(report), summary_line(report), generated_line(),
             *admonishment_lines(report)]
    write_xlsx([Sheet("周报", header(), rows(report)),
                Sheet("批次汇总", SUMMARY_HEADER, summary_rows(report)),
                Sheet("督导意见", OPINION_HEADER, opinion_rows(report, every=True)),
                Sheet("本期变化", ("党支部", "变化"), change_rows(report)),
                Sheet("封存摘要", SEAL_HEADER, seal_rows(report)),
                *rectification_sheets(report)], out,
               images=[(caption, png) for caption, png, _h in charts(report)], notes=notes)


def charts(report: WeeklyReport) -> list[tuple[str, bytes, float]]:
    """(caption, PNG, height over width) of each chart: the batches, then the committees that
    held rounds (at most COMMITTEES_CHARTED, the lowest participation first when there are
    more), at most BARS_PER_CHART bars a chart."""
    out = []
    groups = [("各批次", report.summaries(rates=True))]
    committees, count = report.committees(COMMITTEES_CHARTED)
    which = "" if count == len(committees) else f"参与率最低的 {len(committees)} 个（共 {count} 个）"
    for i in range(0, len(committees), BARS_PER_CHART):
        part = f"（{i // BARS_PER_CHART + 1}）" if len(committees) > BARS_PER_CHART else ""
        groups.append((f"各党委（总支）{which}{part}", committees[i:i + BARS_PER_CHART]))
    for what, items in groups:
        if items:
            caption = f"{what}本期参与率与{_figures_label()}"
            png, aspect = chart_png(items, caption)
            out.append((caption, png, aspect))
    return out


def chart_png(items: list[GroupSummary], caption: str) -> tuple[bytes, float]:
    """Participation and the lowest headline figure, one pair of bars per group."""
    import io

    import matplotlib
    from matplotlib.figure import Figure

    items = items[:BARS_PER_CHART]
    width, height = 7.5, 0.45 * len(items) + 1.6
    with matplotlib.rc_context({"font.family": matplotlib_font(), "axes.unicode_minus": False,
                                **LITERAL_TEXT_RC}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot()
        names = [g.label for g in items][::-1]
        ax.barh([i + 0.2 for i in range(len(items))],
                [_pct(g.participation) or 0 for g in items][::-1], 0.4, label="参与率",
                color="#6baed6")
        ax.barh([i - 0.2 for i in range(len(items))], [_pct(g.rate) or 0 for g in items][::-1],
                0.4, label=f"最低{_figures_label()}", color="#238b45")
        ax.set_yticks(range(len(items)), names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.axvline(60, color="#b3261e", linestyle="--", linewidth=1)
        ax.set_title(f"{caption}（虚线：60%）")
        ax.legend(loc="lower right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue(), height / width


def write_report_pdf(report: WeeklyReport, out: BinaryIO) -> None:
    """A printable A4 report: summary, batch table, charts, one table per batch, the week's
    opinions and changes, the seals."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    def text(value, style) -> Paragraph:
        """A paragraph showing ``value`` as it is: never read as reportlab markup, its lines
        kept (a multi-line opinion or brief is not run together)."""
        return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)

    def grid(head, body_rows, widths=None) -> Table:
        table = Table([[text(h, small) for h in head],
                       *[[text(v, small) for v in row] for row in body_rows]],
                      repeatRows=1, colWidths=widths)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    font = reportlab_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=body, fontSize=15, leading=20, spaceAfter=6)
    sub = ParagraphStyle("sub", parent=body, fontSize=11, leading=15, spaceBefore=8,
                         spaceAfter=4)
    page_w, page_h = landscape(A4)
    frame_w, frame_h = page_w - 24 * mm, page_h - 24 * mm - 12  # the frame's own padding
    story = [text(title(report), head), text(summary_line(report), body),
             text(generated_line(), small), text("各批次汇总", sub),
             grid(SUMMARY_HEADER, summary_rows(report))]
    for line in admonishment_lines(report):
        story.append(text(line, body))
    for _caption, png, aspect in charts(report):
        width = min(170 * mm, frame_w, (frame_h - 8 * mm) / aspect)
        story += [Spacer(1, 4 * mm), Image(io.BytesIO(png), width=width, height=width * aspect)]
    columns = [i for i, name in enumerate(header()) if name not in PDF_LEAVES_OUT]
    names = [header()[i] for i in columns]
    widths = _pdf_widths(names, frame_w)
    for batch in report.batch_numbers():
        story.append(text(report.batch_label(batch), sub))
        story.append(grid(names, ([row[i] for i in columns]
                                  for row in rows(report, report.listed(batch))), widths))
        if report.unlisted(batch):
            story.append(text(listed_line(report, batch), body))
    story.append(text("本期督导意见", sub))
    for branch, on, author, said in opinion_rows(report):
        story.append(text(f"{branch}（{on}，{author}）：{said}", body))
    if not report.opinions:
        story.append(text("本期无督导意见。", body))
    elif report.more_opinions():
        story.append(text(f"其余 {report.more_opinions()} 条督导意见未列出。", body))
    for sheet in rectification_sheets(report):  # the 整改提高 sections, as in the workbook
        sheet_rows = [[formal_date(v) if isinstance(v, date) else v for v in row]
                      for row in islice(sheet.rows, LISTED)]
        more = len(sheet.rows) - len(sheet_rows)
        story.append(text(f"{sheet.title}（{len(sheet.rows)}）", sub))
        story.append(grid(sheet.header, sheet_rows) if sheet_rows else text("暂无", body))
        if more > 0:
            story.append(text(more_line(more, "项"), body))
    story.append(text("本期变化", sub))
    changes = 0
    for b in report.branches:
        for change in b.changes:
            story.append(text(f"{b.name}：{change}", body))
            changes += 1
    if report.total("changes") > changes:
        story.append(text(f"本期变化共 {report.total('changes')} 条，此处列出上列党支部的 "
                          f"{changes} 条；{more_line(report.total('changes') - changes, '条')}",
                          body))
    story.append(text("本期结束测评的封存摘要（可用 evalsvc verify 编号 --digest 摘要 核验）", sub))
    seals = 0
    for b in report.branches:
        for round_id, round_title, digest in b.seals:
            story.append(text(f"{b.name} · {round_id} · {round_title}：{digest or '未封存'}",
                              small))
            seals += 1
    if report.total("seals") > seals:
        story.append(text(more_line(report.total("seals") - seals, "次测评的封存摘要"), body))
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=title(report))
    doc.build(story)


def _pdf_widths(columns: list[str], frame_w: float) -> list[float]:
    """The branch and transition columns wide; the stage and number columns share the rest,
    so 学习动员 and 已通过 stay on one line (not one character a line)."""
    from reportlab.lib.units import mm

    fixed = {"党支部": 42 * mm, "转段申请": 36 * mm}
    rest = (frame_w - sum(fixed.get(c, 0) for c in columns)) / \
        max(1, sum(c not in fixed for c in columns))
    return [fixed.get(c, rest) for c in columns]
