"""Names are shown as typed wherever they land: reportlab markup in the weekly PDF, matplotlib
math markup in charts, and formula prefixes (ASCII or full-width) in XLSX and CSV."""
import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pypdfium2
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Member, Organisation
from evalsvc.render.exports import safe_cell
from evalsvc.services import closing
from evalsvc.services.today import today
from tests.helpers import login
from tests.helpers import new_round

LINK = '<a href="http://x">点我</a>'
IMAGE = '<img src="x"/>'
BROKEN_MATH = "王$\\frac{1}{$五"  # mathtext cannot parse it: the chart used to 404
MATH = "$x^2$"  # mathtext would draw it as x squared
FORMULAS = ['＝HYPERLINK("http://x","点我")', "＠SUM(A1)", "＋1", "－1"]
DOLLAR_GLYPH = "WenQuanYiMicroHei-7"  # the SVG id of the bundled font's "$" glyph


def _text_of(pdf: bytes) -> str:
    """All the text of a PDF, without white space (table cells wrap names)."""
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    return re.sub(r"\s+", "", text)


def test_markup_in_organisation_names_is_printed_as_text_in_the_weekly_report(client, demo,
                                                                            demo_rounds):
    db.session.get(Organisation, demo["XW0101"]).name = LINK
    db.session.get(Organisation, demo["XW0102"]).name = IMAGE
    db.session.get(Organisation, demo["XW0103"]).name = BROKEN_MATH  # in the report's chart
    db.session.commit()
    login(client, "supervisor")
    start, end = (today() - timedelta(days=6)).isoformat(), today().isoformat()
    response = client.get(f"/reports/weekly.pdf?from={start}&to={end}")
    assert response.status_code == 200
    pdf = response.data
    assert b"/Annot" not in pdf and b"/URI" not in pdf  # no live link
    text = _text_of(pdf)
    for name in (LINK, IMAGE, BROKEN_MATH):
        assert re.sub(r"\s+", "", name) in text
    xlsx = client.get(f"/reports/weekly.xlsx?from={start}&to={end}")
    assert xlsx.status_code == 200
    names = {row[2] for row in load_workbook(io.BytesIO(xlsx.data))["周报"].iter_rows(
        min_row=2, values_only=True)}
    assert {LINK, IMAGE, BROKEN_MATH} <= names


def _closed_review_with_members_named(client, names: list[str]):
    """A closed members' review of XW0101 whose first members carry ``names``."""
    members = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == db.session.scalar(sa.select(Organisation.id).where(
            Organisation.code == "XW0101"))).order_by(Member.id)).all()
    for member, name in zip(members, names):
        member.name = name
    db.session.commit()
    round_, cards = new_round(kind="member_review", groups={GroupCode.MEMBER: 6})
    for code in cards:
        page = client.get(f"/C/{code}").get_data(as_text=True)
        data = {k: "qualified" for k in re.findall(r'name="(grade_m\d+)"', page)}
        data["nonce"] = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
        assert client.post(f"/C/{code}", data=data).status_code == 200
    closing.close_round(None, round_)
    return round_


def test_math_markup_in_member_names_is_drawn_literally(client, demo):
    round_ = _closed_review_with_members_named(client, [BROKEN_MATH, MATH])
    login(client, "office")
    svg = client.get(f"/rounds/{round_.id}/charts/grades.svg")
    assert svg.status_code == 200
    glyphs = set(re.findall(r'<path id="([^"]+)"', svg.get_data(as_text=True)))
    assert DOLLAR_GLYPH in glyphs  # the "$" is drawn as a character
    assert not [g for g in glyphs if "DejaVu" in g or g.startswith("cm")]  # no math fonts
    assert client.get(f"/rounds/{round_.id}/charts/grades.png").status_code == 200
    xlsx = client.get(f"/rounds/{round_.id}/results.xlsx")
    assert xlsx.status_code == 200
    names = [row[0] for row in load_workbook(io.BytesIO(xlsx.data))["党员"].iter_rows(
        min_row=2, values_only=True)]
    assert BROKEN_MATH in names and MATH in names


def test_charts_cached_before_names_were_literal_are_drawn_again(client, demo, app):
    round_ = _closed_review_with_members_named(client, [MATH])
    directory = Path(app.instance_path) / "cache" / "charts"
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / f"round-{round_.id}-{(round_.digest or 'unsealed')[:16]}-grades.svg"
    stale.write_bytes(b"<svg>drawn with x squared</svg>")
    login(client, "office")
    svg = client.get(f"/rounds/{round_.id}/charts/grades.svg").get_data(as_text=True)
    assert "x squared" not in svg and DOLLAR_GLYPH in svg


def test_full_width_formula_prefixes_are_neutralised_in_xlsx_and_csv(client, demo):
    round_ = _closed_review_with_members_named(client, FORMULAS)
    login(client, "office")
    xlsx = client.get(f"/rounds/{round_.id}/results.xlsx")
    names = [row[0] for row in load_workbook(io.BytesIO(xlsx.data))["党员"].iter_rows(
        min_row=2, values_only=True)]
    for formula in FORMULAS:
        assert "'" + formula in names and formula not in names
    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    cells = {c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row}
    for formula in FORMULAS:
        assert "'" + formula in cells and formula not in cells


@pytest.mark.parametrize("text", ["=1+1", "＝1+1", "+1", "＋1", "-1", "－1", "@A1", "＠A1",
                                  "﹦1", "\t=1"])
def test_every_formula_prefix_is_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["张三", "1＝1", "", 5, -3.5, None])
def test_ordinary_values_pass_unchanged(value):
    assert safe_cell(value) == value
