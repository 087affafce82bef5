"""The paper form (纸质测评票): one A4 sheet per card, its QR code and code readable."""
import io

import pypdfium2 as pdfium
import zxingcpp

from evalsvc.definitions import Option, Question
from evalsvc.render.paper import Sheet, paper_pdf

LAYOUT = (Question("overall", "choice", "总体评价 <b>&", (Option("satisfied", "满意"),
                                                          Option("dissatisfied", "不满意"))),
          Question("advice", "text", "意见建议", required=False, max_length=200))
SHEETS = [Sheet(f"HTTP://EVALSVC.TEST/C/{'A' * 25}{n}", f"AAAA AAAA {n}", "群众代表")
          for n in range(2, 5)]


def _pdf() -> tuple[int, bytes]:
    out = io.BytesIO()
    pages = paper_pdf("测评 <a href='x'>&amp;", "请如实填写", LAYOUT, SHEETS, out)
    return pages, out.getvalue()


def test_one_page_per_card_carrying_its_qr_code_and_code_as_text():
    pages, pdf = _pdf()
    document = pdfium.PdfDocument(pdf)
    assert pages == len(document) == 3
    for page, sheet in zip(document, SHEETS):
        image = page.render(scale=2).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [sheet.url]
        text = "".join(page.get_textpage().get_text_range().split())
        assert "".join(sheet.code.split()) in text
        assert "满意" in text and "不满意" in text and "意见建议（不超过200字）" in text


def test_user_text_is_printed_as_typed_never_read_as_markup():
    _, pdf = _pdf()
    text = "".join(pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range().split())
    assert "测评<ahref='x'>&amp;" in text
    assert "总体评价<b>&" in text
