"""The weekly report as XLSX and as a printable PDF with a chart.

Names and changes are user text: every Paragraph gets it escaped (reportlab reads ``<a>``,
``<img>`` and ``&`` as markup), and the chart draws it without math parsing.
"""
from collections.abc import Iterator
from typing import BinaryIO
from xml.sax.saxutils import escape

from evalsvc.kinds import reported_rate_labels
from evalsvc.render.exports import Sheet, write_xlsx
from evalsvc.render.rectify_report import rectification_sheets
from evalsvc.render.fonts import LITERAL_TEXT_RC, matplotlib_font, reportlab_font
from evalsvc.services.report import WeeklyReport

SEAL_HEADER = ("党支部", "测评编号", "测评", "封存摘要（SHA-256）")
PDF_LEAVES_OUT = ("批次", "测评卡", "本期变化")  # the PDF lists changes below the tables


def header() -> tuple[str, ...]:
    """The columns: one per headline figure the installed kinds report (满意率, 合格率…)."""
    return ("批次", "编码", "党支部", "学习动员", "分析评议", "整改提高", "本期结束测评", "测评卡",
            "已提交", "参与率（%）", *(f"{f}（%）" for f in reported_rate_labels()),
            "新提规则建议", "本期确认", "转段申请", "本期变化")


def _figures_label() -> str:
    return "/".join(reported_rate_labels()) or "比率"


def _pct(value):
    return "" if value is None else round(value * 100, 1)


def rows(report: WeeklyReport) -> Iterator[tuple]:
    """One row a branch, batch by batch."""
    for batch, branches in sorted(report.batches.items(), key=lambda kv: kv[0] or 99):
        for b in branches:
            yield (batch or "", b.code, b.name, *b.stages.values(), b.rounds_held, b.cards,
                   b.ballots, _pct(b.participation),
                   *(_pct(b.lowest(f)) for f in reported_rate_labels()), b.flags_raised,
                   b.flags_confirmed, "；".join(b.transitions), "；".join(b.changes))


def seal_rows(report: WeeklyReport) -> Iterator[tuple]:
    """The digest of every round held in the period, to check with ``evalsvc verify ID
    --digest HEX``."""
    for b in report.branches:
        for round_id, title, digest in b.seals:
            yield b.name, round_id, title, digest or "未封存"


def _title(report: WeeklyReport) -> str:
    return f"督导工作周报（{report.start.isoformat()} 至 {report.end.isoformat()}）"


def write_report_xlsx(report: WeeklyReport, out: BinaryIO) -> None:
    """The report as a workbook with its chart."""
    notes = [_title(report), f"党支部 {len(report.branches)} 个；本期结束测评 "
             f"{report.total('rounds_held')} 次，收回答卷 {report.total('ballots')} 份"]
    write_xlsx([Sheet("周报", header(), rows(report)),
                Sheet("封存摘要", SEAL_HEADER, seal_rows(report)),
                *rectification_sheets(report)], out,
               images=[(f"本期参与率与{_figures_label()}", chart_png(report))], notes=notes)


def chart_png(report: WeeklyReport) -> bytes:
    """Participation and the lowest headline figure of the branches that held rounds."""
    import io

    import matplotlib
    from matplotlib.figure import Figure

    held = [b for b in report.branches if b.rounds_held] or report.branches[:1]
    with matplotlib.rc_context({"font.family": matplotlib_font(), "axes.unicode_minus": False,
                                **LITERAL_TEXT_RC}):
        fig = Figure(figsize=(7.5, 0.45 * len(held) + 1.6))
        ax = fig.add_subplot()
        names = [b.name for b in held][::-1]
        ax.barh([i + 0.2 for i in range(len(held))],
                [_pct(b.participation) or 0 for b in held][::-1], 0.4, label="参与率",
                color="#6baed6")
        ax.barh([i - 0.2 for i in range(len(held))], [_pct(b.rate) or 0 for b in held][::-1],
                0.4, label=_figures_label(), color="#238b45")
        ax.set_yticks(range(len(held)), names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.axvline(60, color="#b3261e", linestyle="--", linewidth=1)
        ax.set_title(f"本期参与率与{_figures_label()}（虚线：60%）")
        ax.legend(loc="lower right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def write_report_pdf(report: WeeklyReport, out: BinaryIO) -> None:
    """A printable A4 report: summary, the chart, one table per batch, the changes."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    def text(value, style) -> Paragraph:
        """A paragraph showing ``value`` as it is: never read as reportlab markup."""
        return Paragraph(escape(str(value)), style)

    font = reportlab_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=15, leading=20, spaceAfter=6)
    sub = ParagraphStyle("sub", parent=body, fontSize=11, leading=15, spaceBefore=8)
    story = [text(_title(report), head), text(
        f"党支部 {len(report.branches)} 个；本期结束测评 {report.total('rounds_held')} 次，"
        f"收回答卷 {report.total('ballots')} 份；新提规则建议 {report.total('flags_raised')} 项，"
        f"本期确认 {report.total('flags_confirmed')} 项。", body), Spacer(1, 4 * mm),
        Image(io.BytesIO(chart_png(report)), width=170 * mm,
              height=170 * mm * _aspect(report))]
    head = header()
    columns = [i for i, name in enumerate(head) if name not in PDF_LEAVES_OUT]
    for batch, branches in sorted(report.batches.items(), key=lambda kv: kv[0] or 99):
        story.append(text(f"第{batch}批" if batch else "未分批", sub))
        table = [[text(head[i], body) for i in columns]]
        for row in rows(WeeklyReport(report.start, report.end, branches)):
            table.append([text(row[i], body) for i in columns])
        grid = Table(table, repeatRows=1)
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                  ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
                                  ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(grid)
    story.append(text("本期变化", sub))
    for b in report.branches:
        for change in b.changes:
            story.append(text(f"{b.name}：{change}", body))
    story.append(text("本期结束测评的封存摘要（可用 evalsvc verify 编号 --digest 摘要 核验）", sub))
    for name, round_id, title, digest in seal_rows(report):
        story.append(text(f"{name} · {round_id} · {title}：{digest}", body))
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=_title(report))
    doc.build(story)


def _aspect(report: WeeklyReport) -> float:
    held = max(1, sum(1 for b in report.branches if b.rounds_held))
    return (0.45 * held + 1.6) / 7.5
