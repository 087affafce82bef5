"""The batch card PDF as drawn: register sheets, the attempt on every card, group order."""
import io

import pypdfium2

from evalsvc.render.batch_cards import BranchPart, Deck, batch_cards_pdf
from evalsvc.render.cards import CardFace


def _faces(label: str, count: int):
    return (CardFace(f"HTTPS://PJ.EXAMPLE.GOV.CN/C/ABCDEFGHJK{n:02d}", f"ABCD EFGH JK{n:02d}", label)
            for n in range(count))


def _texts(parts) -> list[str]:
    out = io.BytesIO()
    pages = batch_cards_pdf("批量", iter(parts), out, typed_url="https://pj.example.gov.cn/c")
    document = pypdfium2.PdfDocument(out.getvalue())
    assert len(document) == pages
    return ["".join(page.get_textpage().get_text_range().split()) for page in document]


def test_second_attempt_shows_on_the_register_and_every_card():
    decks = [Deck("7", "甲支部满意度测评", 2, "党员", 3, _faces("党员 第2次", 3)),
             Deck("7", "甲支部满意度测评", 2, "群众代表", 9, _faces("群众代表 第2次", 9))]
    texts = _texts([BranchPart("甲支部", decks)])
    assert len(texts) == 4  # register, members, two sheets of masses
    register = texts[0]
    for expected in ("测评卡发放登记", "支部：甲支部", "第2次", "党员", "群众代表", "9",
                     "发放人（签名）", "发放时间"):
        assert expected in register
    assert texts[1].count("党员第2次") == 3 and "群众代表" not in texts[1]
    assert texts[2].count("群众代表第2次") == 8 and texts[3].count("群众代表第2次") == 1


def test_a_long_register_continues_on_another_page():
    decks = [Deck(str(n), f"测评{n}", 1, "群众代表", 1, _faces("群众代表 第1次", 1))
             for n in range(25)]
    texts = _texts([BranchPart("乙支部", decks)])
    assert "乙支部（续）" in texts[1] and "测评24" in texts[1]
    assert len(texts) == 2 + 25


def test_finished_pages_are_held_compressed_not_as_drawing_text():
    """A batch of thousands of cards keeps about its file size in memory until saved:
    each finished sheet is compressed at once, and the file still reads back."""
    from reportlab.pdfgen import canvas as pdfcanvas

    from evalsvc.render.cards import PAGE_H, PAGE_W, card_template, draw_deck

    out = io.BytesIO()
    pdf = pdfcanvas.Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    box = card_template(pdf, "批量", "https://pj.example.gov.cn/c", "card_1")
    assert draw_deck(pdf, _faces("党员", 17), box, "card_1") == 3
    held = pdf._doc.Pages.pages
    assert len(held) == 3 and all(page.stream is None for page in held)
    assert sum(len(page.Contents.content) for page in held) < 3 * 20_000
    pdf.save()
    assert len(pypdfium2.PdfDocument(out.getvalue())) == 3
