"""Paper ballots (纸质测评票): a round's questionnaire as an A4 form, one sheet per card.

Each sheet carries its card's QR code (the same URL as the card: a respondent with a phone
may still answer by phone, and the entry page reads the code from a scanner) and the code
as text, then every question of the round's frozen layout with boxes to tick. Question and
option texts, member names and the title are user text: every Paragraph gets it escaped.
reportlab is imported inside the function only (see ``fonts``).
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax.saxutils import escape

from evalsvc.definitions import Question
from evalsvc.render.fonts import reportlab_font
from evalsvc.render.qr import qr_matrix, qr_pdf_ops

MM = 72 / 25.4
QR_SIDE = 34 * MM
BOX = "□"
INSTRUCTION = ("请在选中的选项前的 □ 内打 √，每题按提示作答。本票不记名，填好后交回工作人员；"
               "工作人员两人分别录入，录入后不保存本票与答卷之间的任何联系。")


@dataclass(frozen=True)
class Sheet:
    """One card's sheet: the URL its QR code encodes, its code as printed, its group."""

    url: str
    code: str
    group_label: str


def paper_pdf(title: str, intro: str | None, layout: Sequence[Question],
              sheets: Sequence[Sheet], out: BinaryIO) -> int:
    """Write one A4 form per sheet to ``out``; returns the number of pages."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import (Flowable, PageBreak, Paragraph, SimpleDocTemplate,
                                    Table, TableStyle)

    if not sheets:
        raise ValueError("there are no cards to print")
    font = reportlab_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=15, leading=20)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11)
    code_style = ParagraphStyle("code", parent=body, fontName="Courier-Bold", fontSize=12,
                                leading=15)

    def text(value, style=body) -> Paragraph:
        """A paragraph showing ``value`` as it is: never read as reportlab markup."""
        return Paragraph(escape(str(value)), style)

    class QrCode(Flowable):
        """The card's QR code, drawn as one vector path."""

        def __init__(self, url: str):
            super().__init__()
            self.url, self.width, self.height = url, QR_SIDE, QR_SIDE

        def draw(self) -> None:
            self.canv.addLiteral(qr_pdf_ops(qr_matrix(self.url), 0, 0, QR_SIDE))

    def header(sheet: Sheet):
        side = [text(title, head), text(f"参评对象：{sheet.group_label}", body),
                text("测评卡代码（录入时扫描二维码或输入此代码）：", small),
                text(sheet.code, code_style)]
        if intro:
            side.append(text(intro, small))
        table = Table([[side, QrCode(sheet.url)]], colWidths=[None, QR_SIDE + 2 * MM])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    def question(q: Question):
        mark = "（可多选）" if q.type == "multi" else ""
        if q.type == "text":
            limit = f"（不超过 {q.max_length} 字）" if q.max_length else ""
            return [text(f"{q.text}{limit}", body),
                    Table([[""]] * 3, rowHeights=[8 * MM] * 3, style=TableStyle(
                        [("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.grey)]))]
        options = "　　".join(f"{BOX} {o.label}" for o in q.options)
        return [text(f"{q.text}{mark}", body), text(options, body)]

    story = []
    for number, sheet in enumerate(sheets):
        if number:
            story.append(PageBreak())
        story += [header(sheet), text(INSTRUCTION, small)]
        for q in layout:
            story.append(Table([[question(q)]], colWidths=["100%"], style=TableStyle(
                [("LINEABOVE", (0, 0), (-1, 0), 0.3, colors.lightgrey),
                 ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])))
    doc = SimpleDocTemplate(out, pagesize=(210 * MM, 297 * MM), title=title,
                            leftMargin=15 * MM, rightMargin=15 * MM, topMargin=12 * MM,
                            bottomMargin=12 * MM)
    doc.build(story)
    return doc.page
