"""Free text cannot attack anyone: pages escape it, charts draw it as shapes, exports
neutralise formulas."""
import csv
import io
import re
from xml.etree import ElementTree

import sqlalchemy as sa
from openpyxl import load_workbook

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Member, Organisation
from evalsvc.services import closing
from tests.helpers import login, new_round

SCRIPT = '<script>alert("x")</script>'
ATTRIBUTE = '" onmouseover="alert(1)" x="'
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def test_hostile_names_and_comments_are_inert_everywhere(client, demo):
    org = db.session.get(Organisation, demo["XW0101"])
    org.name = "党支部" + SCRIPT
    member = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == org.id)).first()
    member.name = "张" + ATTRIBUTE
    db.session.commit()
    round_, cards = new_round(kind="member_review", groups={GroupCode.MEMBER: 12})
    opinion_round, opinion_cards = new_round(kind="opinion", groups={GroupCode.MASSES: 12})
    ballot_page = client.get(f"/C/{cards[0]}").get_data(as_text=True)
    assert SCRIPT not in ballot_page and ATTRIBUTE not in ballot_page
    assert "&lt;script&gt;" in ballot_page
    for code in opinion_cards[:11]:
        page = client.get(f"/C/{code}").get_data(as_text=True)
        nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
        client.post(f"/C/{code}", data={"nonce": nonce, "comment": SCRIPT + FORMULA})
    for code in cards[:6]:
        page = client.get(f"/C/{code}").get_data(as_text=True)
        data = {k: "qualified" for k in re.findall(r'name="(grade_m\d+)"', page)}
        data["nonce"] = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
        client.post(f"/C/{code}", data=data)
    closing.close_round(None, opinion_round)
    closing.close_round(None, round_)
    login(client, "office")
    for url in ("/dashboard", f"/orgs/{org.id}", f"/rounds/{opinion_round.id}",
                f"/rounds/{round_.id}", "/audit/", "/"):
        html = client.get(url).get_data(as_text=True)
        assert SCRIPT not in html and ATTRIBUTE not in html, url
    svg = client.get(f"/rounds/{round_.id}/charts/grades.svg").data
    elements = list(ElementTree.fromstring(svg).iter())
    assert not [e for e in elements if e.tag.endswith("script")]
    assert not [a for e in elements for a in e.attrib if a.lower().startswith("on")]
    text = client.get(f"/rounds/{opinion_round.id}/results.csv").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
    assert any(c.startswith("'<script>") or c.startswith("<script>") for c in cells)
    assert not any(c.startswith("=") for c in cells)
    xlsx = client.get(f"/rounds/{opinion_round.id}/results.xlsx").data
    book = load_workbook(io.BytesIO(xlsx))
    values = [c.value for ws in book for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
