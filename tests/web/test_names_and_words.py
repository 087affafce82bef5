"""Names and words on staff pages: the campaign's name in the header, display names, flags in
one column of the dashboard, and 集体诫勉 shown on the unit (not the triggering branch)."""
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Flag, FlagKind
from evalsvc.services import flags
from evalsvc.services.campaigns import current_campaign
from tests.helpers import login
from tests.services.test_campaigns import yellow_card_for
from tests.services.test_rules import user


def _rows(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(
        r'<a href="/orgs/\d+">([^<]+)</a>(.*?)</tr>', html, re.S)}


def test_the_header_names_the_campaign_and_the_person(client, demo):
    login(client, "secretary")
    page = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    header = page[page.index('<header class="top">'):page.index("</header>")]
    assert current_campaign().name in header and "县委办支部书记" in header
    assert ">secretary<" not in header


def test_flags_sit_in_the_marks_column_naming_their_stage(client, demo_rounds):
    login(client, "office")
    row = _rows(client.get("/dashboard").get_data(as_text=True))["兴文中学教工第一党支部"]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    marks = cells[-1]
    assert "分析评议 · 需补课" in marks and "黄牌" in marks
    assert all("补课" not in c and "黄牌" not in c for c in cells[:-1])


def test_admonishment_is_shown_on_the_unit_not_the_triggering_branch(client, demo):
    office = user("office")
    flags.confirm(office, yellow_card_for("XW020101"))
    flags.confirm(office, yellow_card_for("XW020102"))
    admonishment = db.session.scalar(sa.select(Flag).where(Flag.kind == FlagKind.ADMONISHMENT))
    login(client, "office")
    html = client.get("/dashboard").get_data(as_text=True)
    rows = _rows(html)
    assert all("集体诫勉" not in rows[name] for name in rows)
    section = html[html.index("<h2>单位集体诫勉</h2>"):]
    assert f">{admonishment.unit}</a>" in section[:section.index("</ul>")]
    pending = html[html.index("待处理的规则建议"):]
    assert f"单位：{admonishment.unit}" in pending


def test_a_form_of_another_campaign_is_not_offered_nor_accepted(client, demo):
    from evalsvc.models import Stage
    from evalsvc.services import rounds
    from evalsvc.services.errors import Invalid
    from tests.helpers import org_id

    login(client, "office")
    form = client.get(f"/orgs/{demo['XW0101']}/rounds/new").get_data(as_text=True)
    assert 'value="opinion_four_winds"' not in form and 'value="opinion"' in form
    listing = client.get("/definitions").get_data(as_text=True)
    assert "党的群众路线教育实践活动（2013—2014年）" in listing and "各次活动通用" in listing
    import pytest

    with pytest.raises(Invalid) as info:
        rounds.create_round(None, rounds.RoundData(
            org_id("XW0101"), "opinion", Stage.REVIEW, {}, poster=True,
            definition_name="opinion_four_winds"))
    assert "不适用于本次活动" in info.value.errors["definition_name"]
    db.session.rollback()


def test_a_2013_campaign_offers_the_four_winds_form(client, demo):
    from evalsvc.services.campaigns import create_campaign

    create_campaign(None, "党的群众路线教育实践活动", 2013, 2014)
    login(client, "office")
    form = client.get(f"/orgs/{demo['XW0101']}/rounds/new").get_data(as_text=True)
    assert 'value="opinion_four_winds"' in form


def test_a_definitions_years_are_checked_like_the_rest(tmp_path):
    import pytest

    from evalsvc.definitions import DefinitionError, parse_definition

    import tomllib
    from pathlib import Path

    data = tomllib.loads((Path(__file__).parents[2] / "forms" / "opinion_four_winds.toml")
                         .read_text(encoding="utf-8"))
    assert parse_definition(data, "ok.toml").years == (2013, 2014)
    with pytest.raises(DefinitionError, match="bad.toml: years"):
        parse_definition({**data, "years": [2014, 2013]}, "bad.toml")
