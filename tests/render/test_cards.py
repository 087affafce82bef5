"""QR cards and posters: what a printer, a phone and a copy-paste would get out of the PDF."""
import base64
import hashlib
import io
import math
import subprocess
import sys

import pypdfium2 as pdfium
import pytest
import zxingcpp

from evalsvc.render import cards
from evalsvc.render.cards import CardFace, cards_pdf, poster_pdf
from evalsvc.render.qr import QUIET_ZONE, qr_matrix, qr_svg

TITLE = "县委办公室党支部民主评议党员测评"
TYPED_URL = "http://evalsvc.test/c"
LABELS = ["群众代表", "党员"]


def make_faces(count: int, labels: list[str] = LABELS) -> list[CardFace]:
    """Cards like the real ones: 26 base32 characters, in the URL and grouped by four."""
    faces = []
    for index in range(count):
        digest = hashlib.sha256(str(index).encode()).digest()
        code = base64.b32encode(digest).decode()[:26]
        faces.append(CardFace(
            url=f"HTTP://EVALSVC.TEST/C/{code}",
            code=" ".join(code[i:i + 4] for i in range(0, 26, 4)),
            group_label=labels[index % len(labels)],
        ))
    return faces


def render(faces: list[CardFace], title: str = TITLE,
           typed_url: str = TYPED_URL) -> tuple[int, bytes]:
    """Return the page count and the bytes of the cards PDF for ``faces``."""
    out = io.BytesIO()
    pages = cards_pdf(title, faces, out, typed_url=typed_url)
    return pages, out.getvalue()


def decoded(pdf: bytes, page: int = 0) -> list[str]:
    """Rasterise one page as a printer would and return every QR code a decoder finds on it."""
    image = pdfium.PdfDocument(pdf)[page].render(scale=2).to_pil()
    return sorted(result.text for result in zxingcpp.read_barcodes(image))


@pytest.fixture(scope="module")
def twenty():
    """Twenty cards: two full sheets and a half one."""
    faces = make_faces(20)
    return faces, render(faces)[1]


def test_each_page_carries_the_qr_codes_of_its_own_cards(twenty):
    """A decoder finds exactly the URLs of the cards placed on that sheet, full or not."""
    faces, pdf = twenty
    assert decoded(pdf, 0) == sorted(face.url for face in faces[:cards.PER_PAGE])
    assert decoded(pdf, 2) == sorted(face.url for face in faces[16:])


@pytest.mark.parametrize("count", [1, 8, 9, 20])
def test_page_count_is_cards_over_cards_per_sheet(count):
    """Eight cards a sheet; the last sheet may be partly empty."""
    pages, pdf = render(make_faces(count))
    assert cards.PER_PAGE == 8
    assert pages == math.ceil(count / 8) == len(pdfium.PdfDocument(pdf))


@pytest.mark.heavy
def test_a_thousand_cards_fit_in_a_small_file():
    """A large group's cards make one file small enough to mail or print."""
    pages, pdf = render(make_faces(1000))
    assert pages == 125
    assert len(pdf) < 3_000_000


def test_no_cards_is_an_error():
    """An empty PDF would be a silent mistake: refuse it."""
    with pytest.raises(ValueError):
        render([])


def test_chinese_text_is_embedded_and_extractable(twenty):
    """The CJK font is embedded with a Unicode map: real glyphs, not boxes."""
    _, pdf = twenty
    assert b"WenQuanYi" in pdf
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    flat = "".join(text.split())
    assert TITLE in flat
    assert "群众代表" in flat and "党员" in flat
    assert "请用手机扫描二维码参加测评（匿名，一码一次）" in flat
    assert f"无法扫码时，请在浏览器打开{TYPED_URL}并输入上方代码" in flat


def test_the_code_is_printed_in_readable_groups(twenty):
    """Each card's code appears as text, in its groups of four."""
    faces, pdf = twenty
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    for face in faces[:8]:
        assert "".join(face.code.split()) in "".join(text.split())
        assert face.code.split()[0] in text.split()


def test_long_texts_stay_inside_their_card():
    """A long title, group label and URL shrink, wrap or are cut; they never cross a cut line."""
    faces = make_faces(4, labels=["服务对象代表（含退休老干部及社区居民代表）"])
    title = "中共兴文县委员会办公室机关党支部关于开展2026年度第一批学习教育转段测评" * 3
    typed_url = "https://pingjia.xingwen-county.example.gov.cn/card"
    _, pdf = render(faces, title=title, typed_url=typed_url)
    page = pdfium.PdfDocument(pdf)[0]
    textpage = page.get_textpage()
    assert textpage.count_chars() > 100
    for index in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(index)
        if right - left == 0:
            continue  # generated spaces and line breaks have no box
        column = int((left - cards.GRID_X) // cards.CARD_W)
        row = int((top - cards.GRID_Y) // cards.CARD_H)
        cell_x, cell_y = cards.GRID_X + column * cards.CARD_W, cards.GRID_Y + row * cards.CARD_H
        assert cell_x < left and right < cell_x + cards.CARD_W
        assert cell_y < bottom and top < cell_y + cards.CARD_H
    assert sorted(decoded(pdf)) == sorted(face.url for face in faces)


def test_poster_decodes_to_its_url():
    """The poster's single QR code opens the round; its note is printed."""
    out = io.BytesIO()
    url = "http://evalsvc.test/o/7QK2MZ"
    note = "本测评为开放式意见征集，不是一人一票"
    poster_pdf("2026年度整改满意度测评", url, out, note=note)
    assert len(pdfium.PdfDocument(out.getvalue())) == 1
    assert decoded(out.getvalue()) == [url]
    text = pdfium.PdfDocument(out.getvalue())[0].get_textpage().get_text_range()
    assert note in "".join(text.split())


def test_a_card_url_needs_only_a_small_qr_code():
    """A typical card URL fits version 3 (29 modules): big modules, easy scans."""
    url = "HTTP://EVALSVC.TEST/C/" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[:26]
    matrix = qr_matrix(url)
    assert len(matrix) <= 29  # version 3 or smaller
    assert all(len(row) == len(matrix) for row in matrix)


def test_svg_keeps_a_quiet_zone():
    """The web SVG has the four-module margin and no raw data in it."""
    url = "HTTP://EVALSVC.TEST/C/ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    side = len(qr_matrix(url)) + 2 * QUIET_ZONE
    svg = qr_svg(url)
    assert svg.startswith("<svg") and f'viewBox="0 0 {side} {side}"' in svg
    assert svg.count("<path") == 1 and url not in svg


def test_importing_the_renderers_loads_neither_reportlab_nor_matplotlib():
    """Workers that never draw do not pay for importing the drawing libraries (nor numpy,
    which the QR codes use)."""
    check = (
        "import sys, evalsvc.render.cards, evalsvc.render.fonts;"
        "assert 'reportlab' not in sys.modules and 'matplotlib' not in sys.modules;"
        "assert 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True)
