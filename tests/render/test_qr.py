"""QR matrices: exactly the symbols plain qrcode makes, mask choice included, only faster."""
import base64
import hashlib

import numpy as np
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

from evalsvc.render.qr import _penalties, qr_matrix

# Public addresses of different lengths: a card's URL on them needs version 3 or 5.
HOSTS = ["HTTP://EVALSVC.TEST", "HTTPS://PJ.EXAMPLE.GOV.CN",
         "HTTPS://PINGJIA.ZUZHIBU.SHENG.EXAMPLE.GOV.CN:8443/DANGJIAN/MINZHU-PINGYI/2026"]


def plain_qrcode(data: str) -> list[list[bool]]:
    """What qrcode itself makes, scoring every mask in pure Python."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def code(index: int, length: int = 26) -> str:
    """A card code as the services make them: base32 characters."""
    digest = hashlib.sha512(str(index).encode()).digest()
    return (base64.b32encode(digest).decode() * 3)[:length]


def test_card_and_poster_codes_are_the_symbols_qrcode_makes():
    """Card URLs (upper case: alphanumeric mode) and poster URLs (byte mode), versions 1 to 11."""
    urls = [f"{host}/C/{code(n)}" for n in range(10) for host in HOSTS]
    urls += [f"{host.lower()}/o/{code(n, 6)}" for n in range(10) for host in HOSTS]
    urls += [f"{HOSTS[0]}/C/{code(n, 8 * n)}" for n in range(40)]
    urls += [f"{HOSTS[0].lower()}/o/{code(n, 5 * n)}?中文=测评" for n in range(30)]
    urls += [code(n, n % 9 + 1) for n in range(10)]
    versions = set()
    for url in urls:
        matrix = qr_matrix(url)
        assert matrix == plain_qrcode(url), url
        versions.add((len(matrix) - 17) // 4)
    # Version 7 and up carry version information beside two finder patterns.
    assert {1, 2, 3, 4, 7, 10} <= versions


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_the_symbol_qrcode_makes(data):
    """Any text, in any of qrcode's modes and up to version ~15, gives qrcode's exact symbol
    (the fixed card and poster addresses above cover the versions printed)."""
    assert qr_matrix(data) == plain_qrcode(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(21, 45), st.floats(0.02, 0.98), st.integers(0, 2**32 - 1))
def test_mask_scores_are_qrcode_penalty_points(side, dark_share, seed):
    """The scores are ``util.lost_point``'s, also on long runs and edge patterns real codes
    rarely show (rows almost all dark or all light), so the mask chosen is always qrcode's."""
    symbols = np.random.default_rng(seed).random((3, side, side)) < dark_share
    assert _penalties(symbols) == [util.lost_point(symbol.tolist()) for symbol in symbols]
