"""NUL and other control characters in any form field or query are refused with a 400,
never a 500 (PostgreSQL cannot store a NUL), and nothing is stored; a respondent's comment has
them stripped instead (nothing lost); tab and newline pass."""
import io
import re
import zipfile
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, GroupCode, Member, Opinion, Round
from evalsvc.services import ballots, closing
from tests.helpers import login
from tests.helpers import counts, new_round, stored_answers

# C0, DEL, bidi, zero-width; U+FFFE and U+FFFF, which no XML document (an XLSX sheet) may hold
REFUSED = ["\x00", "\x01", "\x1b", "\x7f", "\u202e", "\u200b", "\u2066", "\ufffe", "\uffff"]


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("char", REFUSED)
def test_login_username_with_a_control_character_is_refused(client, demo, char):
    response = client.post("/login", data={"username": f"office{char}",
                                           "password": "demo-office-pass"})
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("char", ["\x00", "\x08"])
def test_member_name_with_a_control_character_is_refused(client, demo, char):
    login(client, "office")
    before = _count(Member)
    response = client.post(f"/orgs/{demo['XW0101']}/members/new",
                           data={"name": f"张{char}三", "status": "full"})
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)
    assert _count(Member) == before


def test_round_title_with_a_nul_is_refused(client, demo):
    login(client, "office")
    before = _count(Round)
    response = client.post(f"/orgs/{demo['XW0101']}/rounds/new", data={
        "kind": "satisfaction", "stage": "review", "definition_name": "",
        "title": "第一次\x00测评", "masses_cards": "6", "member_cards": "0",
        "service_cards": "0"})
    assert response.status_code == 400
    assert _count(Round) == before


def test_supervision_opinion_with_a_nul_is_refused(client, demo):
    login(client, "supervisor")
    before = _count(Opinion)
    response = client.post(f"/orgs/{demo['XW0101']}/opinions", data={"text": "意见\x00内容"})
    assert response.status_code == 400
    assert _count(Opinion) == before


def _ballot_form(client, code: str) -> dict:
    page = client.get(f"/C/{code}").get_data(as_text=True)
    return {"nonce": re.search(r'name="nonce" value="([^"]+)"', page).group(1)}


@pytest.mark.parametrize("char", REFUSED + ["\x0b"])
def test_respondent_comment_with_a_control_character_is_stored_without_it(client, demo, char):
    """A respondent who pastes text with a NUL or vertical tab loses nothing: the ballot is
    stored, the character is not."""
    round_, cards = new_round(kind="opinion", groups={GroupCode.MASSES: 6})
    data = _ballot_form(client, cards[0])
    response = client.post(f"/C/{cards[0]}", data={**data, "comment": f"食堂{char}太贵"})
    assert response.status_code == 200
    assert counts(round_.id) == (1, 1)
    texts = [t for *_rest, t in stored_answers(round_.id) if t is not None]
    assert texts == ["食堂太贵"]


def test_tab_and_newlines_in_free_text_are_kept(client, demo):
    round_, cards = new_round(kind="opinion", groups={GroupCode.MASSES: 6})
    data = _ballot_form(client, cards[0])
    response = client.post(f"/C/{cards[0]}",
                           data={**data, "comment": "第一条\r\n第二条\t完"})
    assert response.status_code == 200
    assert counts(round_.id) == (1, 1)


@pytest.mark.parametrize("url", ["/audit/?actor=x%00y", "/C/AAAA%00BBBB",
                                 "/reports/weekly?from=2026-11-01%00"])
def test_a_nul_in_a_query_or_path_is_refused(client, demo, url):
    login(client, "office")
    assert client.get(url).status_code == 400


def test_a_nul_in_a_field_name_is_refused(client, demo):
    round_, cards = new_round()
    response = client.post(f"/C/{cards[0]}", data={"nonce": "n" * 22, "x\x00": "1"})
    assert response.status_code == 400
    assert counts(round_.id) == (0, 0)
    assert _count(Ballot) == 0


def test_one_comment_with_a_noncharacter_leaves_the_xlsx_export_readable(client, demo):
    """U+FFFF is valid UTF-8 and passed the ballot page, but no XML document may hold it:
    one respondent's comment with it made the round's XLSX export a file Excel calls
    damaged (its 意见 sheet not well-formed). It is stripped like a control character."""
    round_, cards = new_round(kind="opinion", groups={GroupCode.MASSES: 12})
    for n, code in enumerate(cards[:10]):  # 10 comments: enough to be listed
        data = _ballot_form(client, code)
        comment = "食堂\uffff太贵" if n == 0 else f"第{n}条意见"
        assert client.post(f"/C/{code}", data={**data, "comment": comment}).status_code == 200
    assert "食堂太贵" in _xlsx_texts(client, round_.id)


def test_a_noncharacter_stored_before_it_was_stripped_leaves_the_xlsx_export_readable(
        client, demo):
    """Comments stored before U+FFFF was stripped at the ballot page still hold it: the
    export drops it, as it drops the C0 controls XML cannot hold."""
    round_, cards = new_round(kind="opinion", groups={GroupCode.MASSES: 12})
    for n, code in enumerate(cards[:10]):
        ballots.cast_card_ballot(round_.id, code, f"nonce-{n:016d}",
                                 [("comment", "", f"第{n}条\ufffe意见\uffff")])
    assert "第0条意见" in _xlsx_texts(client, round_.id)


def _xlsx_texts(client, round_id: int) -> str:
    """Close the round and read every sheet of its XLSX export as XML (a sheet that is not
    well-formed raises, as Excel calls the file damaged)."""
    closing.close_round(None, db.session.get(Round, round_id))
    login(client, "office")
    response = client.get(f"/rounds/{round_id}/results.xlsx")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as book:
        sheets = [name for name in book.namelist() if name.endswith(".xml")]
        return "".join(text for name in sheets
                       for text in ElementTree.fromstring(book.read(name)).itertext())
