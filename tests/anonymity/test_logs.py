"""Logs never contain a card code: not the app's, not gunicorn's access log."""
import logging
import re
import secrets
import urllib.request
from urllib.parse import urlencode

import pytest

from evalsvc.logs import RedactCodes, redact
from tests.helpers import SATISFACTION


def test_redact_removes_codes_tokens_and_typed_codes():
    code = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    line = f'127.0.0.1 "POST /C/{code} HTTP/1.1" 200 ref=/p/abc123 code=K7QF3MZPXA22 {code}'
    cleaned = redact(line)
    assert code not in cleaned and "abc123" not in cleaned and "K7QF3MZPXA22" not in cleaned
    assert "/C/[redacted]" in cleaned and "/p/[redacted]" in cleaned
    typed = redact("Exception on /c/ABCD EFGH IJKL MNOP QRST UVWX YZ [POST]")
    assert typed == "Exception on /c/[redacted] [POST]"  # a typed code may hold spaces


def test_app_log_records_are_redacted(caplog):
    logger = logging.getLogger("evalsvc.test")
    logger.addFilter(RedactCodes())
    with caplog.at_level(logging.INFO, logger="evalsvc.test"):
        logger.info("card %s scanned", "QWERTYUIOPASDFGHJKLZXCVBNM")
    assert "QWERTYUIOPASDFGHJKLZXCVBNM" not in caplog.text and "[redacted]" in caplog.text


@pytest.mark.server
def test_gunicorn_access_log_never_holds_a_card_code(live_server):
    round_id = live_server.cli("round", "create", "--org", "XW0102", "--kind", "satisfaction",
                               "--stage", "review", "--group", "masses=3").strip()
    live_server.cli("round", "open", round_id)
    urls = live_server.cli("round", "cards", round_id, "--urls").split()
    codes = [u.rsplit("/", 1)[1] for u in urls]
    base = f"http://127.0.0.1:{live_server.port}"
    for code in codes:
        page = urllib.request.urlopen(f"{base}/C/{code}", timeout=10).read().decode()
        nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
        body = urlencode({**SATISFACTION, "nonce": nonce}).encode()
        urllib.request.urlopen(f"{base}/c/{code.lower()}", data=body, timeout=10).read()
    try:
        urllib.request.urlopen(f"{base}/C/{secrets.token_hex(13).upper()}", timeout=10)
    except urllib.error.HTTPError:
        pass
    log = live_server.log()
    assert "/C/[redacted]" in log  # the access log is on, and it did see the requests
    for code in codes:
        assert code not in log and code.lower() not in log
