"""Staff pages for many campaigns: the unit page with its 集体诫勉, the batch window on the
dashboard and the office's override when opening outside it, units picked from a list."""
from datetime import date, timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Flag, FlagKind, Organisation, Round
from evalsvc.services import batches, flags
from tests.helpers import login, new_round
from tests.services.test_campaigns import yellow_card_for
from tests.services.test_rules import user


def test_unit_page_lists_its_branches_and_records_the_admonishment(client, demo):
    office = user("office")
    flags.confirm(office, yellow_card_for("XW020101"))
    flags.confirm(office, yellow_card_for("XW020102"))
    admonishment = db.session.scalar(sa.select(Flag).where(Flag.kind == FlagKind.ADMONISHMENT))
    flags.confirm(office, admonishment)
    unit_id = db.session.get(Organisation, demo["XW020101"]).unit_id

    login(client, "office")
    page = client.get(f"/units/{unit_id}").get_data(as_text=True)
    assert "兴文中学教工第一党支部" in page and "兴文中学教工第二党支部" in page
    assert "建议对领导班子集体诫勉" in page and "登记诫勉执行" in page
    response = client.post(f"/flags/{admonishment.id}/carried-out",
                           data={"on": "2026-12-01", "note": "县委书记约谈"})
    assert response.status_code == 302
    page = client.get(f"/units/{unit_id}").get_data(as_text=True)
    assert "诫勉执行：2026-12-01 县委书记约谈" in page


def test_a_secretary_sees_no_unit_outside_their_branch(client, demo):
    unit_id = db.session.get(Organisation, demo["XW020101"]).unit_id
    login(client, "secretary")
    assert client.get(f"/units/{unit_id}").status_code == 404


def test_dashboard_shows_windows_and_opening_outside_needs_the_office(client, demo):
    batch = batches.batch_of(db.session.get(Organisation, demo["XW0101"]))
    later = date.today() + timedelta(days=10)
    batches.set_window(None, batch, later, later + timedelta(days=30))
    draft, _ = new_round(org_code="XW0101", open_it=False)

    login(client, "secretary")
    client.post(f"/rounds/{draft.id}/open", data={"window_override": "想提前"})
    page = client.get(f"/rounds/{draft.id}").get_data(as_text=True)
    assert "只有先教办可以写明理由后破例开始" in page
    assert db.session.get(Round, draft.id).opened_on is None

    client.post("/logout")
    login(client, "office")
    assert f"{later.isoformat()} 至" in client.get("/dashboard").get_data(as_text=True)
    client.post(f"/rounds/{draft.id}/open", data={"window_override": "县委要求提前"})
    db.session.expire_all()
    assert db.session.get(Round, draft.id).window_override == "县委要求提前"


def test_org_form_offers_units_from_the_list_and_refuses_others(client, demo):
    login(client, "office")
    form = client.get(f"/orgs/{demo['XW0101']}/edit").get_data(as_text=True)
    assert '<option value="兴文中学">兴文中学</option>' in form
    response = client.post(f"/orgs/{demo['XW0101']}/edit", data={
        "code": "XW0101", "name": "县委办公室党支部", "type": "branch", "unit": "不存在的单位",
        "parent_id": str(demo["XW01"]), "batch_id": ""})
    assert response.status_code == 200
    assert db.session.get(Organisation, demo["XW0101"]).unit == "县委办公室"
