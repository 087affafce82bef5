"""The office's bulk pages: form, preview (nothing changes), action, batch card PDF."""
from datetime import date, timedelta

import pypdfium2
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Round, RoundState
from evalsvc.services import batches
from evalsvc.services.campaigns import batch_by_number
from tests.helpers import login, org_id

CREATE = {"action": "create", "batch": "", "under": "XW", "kind": "satisfaction",
          "stage": "review", "member_cards": "", "masses_cards": "4", "service_cards": "0"}


def _rounds(state=None) -> int:
    query = sa.select(sa.func.count()).select_from(Round)
    if state is not None:
        query = query.where(Round.state == state)
    return db.session.scalar(query)


def test_preview_lists_creations_and_refusals_and_changes_nothing(client, demo):
    login(client, "office")
    assert client.get("/rounds/bulk").status_code == 200
    page = client.post("/rounds/bulk/preview", data=CREATE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "县委办公室党支部" in html and "党员 18" in html
    assert "共乐镇新华村党支部：学习动员阶段尚未通过转段审批" in html
    assert 'name="under" value="XW"' in html
    assert _rounds() == 0


def test_confirming_creates_for_allowed_branches_and_flashes_refusals(client, demo):
    login(client, "office")
    response = client.post("/rounds/bulk/run", data=CREATE)
    assert response.status_code == 302
    assert _rounds() == 5
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "创建 5 次测评" in page and "未创建：共乐镇红岩村党支部" in page
    created = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "round.create", AuditEntry.actor == "office"))
    assert created == 5


def test_open_then_print_one_pdf_for_a_batch(client, demo):
    login(client, "office")
    client.post("/rounds/bulk/run", data={**CREATE, "under": "", "batch": "1"})
    client.post("/rounds/bulk/run", data={**CREATE, "action": "open", "under": "", "batch": "1"})
    assert _rounds(RoundState.OPEN) == 5
    pdf = client.post("/rounds/bulk/cards.pdf", data={"batch": "1", "under": "",
                                                      "action": "create", "kind": "opinion",
                                                      "stage": "review"})
    assert pdf.status_code == 200 and pdf.headers["Cache-Control"] == "no-store"
    first = pypdfium2.PdfDocument(pdf.data)[0].get_textpage().get_text_range()
    assert "发放登记" in first and "县委办公室党支部" in first and "第1次" in first


def test_window_reason_and_planned_close_date_from_the_form(client, demo):
    batches.set_window(None, batch_by_number(1), date.today() + timedelta(days=3), None)
    login(client, "office")
    day = (date.today() + timedelta(days=20)).isoformat()
    client.post("/rounds/bulk/run", data={**CREATE, "under": "", "batch": "1"})
    opening = {**CREATE, "action": "open", "under": "", "batch": "1", "planned_close_on": day}
    preview = client.post("/rounds/bulk/preview", data=opening).get_data(as_text=True)
    assert "破例开始须写明理由" in preview and _rounds(RoundState.OPEN) == 0
    past = client.post("/rounds/bulk/preview", data={**opening, "planned_close_on": "2020-01-01"})
    assert past.status_code == 422 and "不能早于今天" in past.get_data(as_text=True)
    client.post("/rounds/bulk/run", data={**opening, "window_override": "县委要求提前开展"})
    db.session.expire_all()
    assert {(r.state, r.planned_close_on.isoformat(), r.window_override)
            for r in db.session.scalars(sa.select(Round))} == {
        (RoundState.OPEN, day, "县委要求提前开展")}


def test_bad_selection_is_refused_in_chinese_and_nothing_stored(client, demo):
    login(client, "office")
    page = client.post("/rounds/bulk/preview", data={**CREATE, "under": ""})
    assert page.status_code == 422 and "请选择批次、上级组织或支部" in page.get_data(as_text=True)
    cards = client.post("/rounds/bulk/cards.pdf", data={**CREATE, "under": "XW05"})
    assert cards.status_code == 422 and "没有进行中的测评" in cards.get_data(as_text=True)
    assert _rounds() == 0


def test_foreign_or_mixed_selections_are_refused_in_chinese_and_nothing_stored(client, demo):
    login(client, "office")
    committee = str(org_id("XW01"))  # a 党委, not a branch
    for data in ({**CREATE, "under": "", "branch_ids": ["99999"]},
                 {**CREATE, "under": "", "branch_ids": [committee]},
                 {**CREATE, "under": "", "branch_ids": ["abc"]},
                 {**CREATE, "under": "NOPE"}, {**CREATE, "under": "", "batch": "9"}):
        page = client.post("/rounds/bulk/run", data=data)
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and "请重新选择" in html and "valid choice" not in html
    # Two scopes at once is a question, not a choice the page makes silently.
    for url in ("/rounds/bulk/preview", "/rounds/bulk/run", "/rounds/bulk/cards.pdf"):
        page = client.post(url, data={**CREATE, "batch": "1", "under": "XW03"})
        assert page.status_code == 422
        assert "只能选择其中一种" in page.get_data(as_text=True)
    assert _rounds() == 0


def test_only_the_office_sees_bulk_pages(client, demo):
    login(client, "secretary")
    assert client.get("/rounds/bulk").status_code == 404
    assert client.post("/rounds/bulk/run", data=CREATE).status_code == 404
    assert _rounds() == 0


def test_bulk_forms_need_a_csrf_token(make_app, demo_database):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login(client, "office")
    assert client.post("/rounds/bulk/run", data=CREATE).status_code in (400, 422)
    with app.app_context():
        assert _rounds() == 0


def test_loopback_public_url_is_flashed_when_printing(make_app, demo_database):
    app = make_app(PUBLIC_URL="http://localhost:5101")
    client = app.test_client()
    login(client, "office")
    assert "EVALSVC_PUBLIC_URL" in client.get("/rounds/bulk").get_data(as_text=True)
    client.post("/rounds/bulk/run", data={**CREATE, "under": "XW01"})
    client.post("/rounds/bulk/run", data={**CREATE, "action": "open", "under": "XW01"})
    assert client.post("/rounds/bulk/cards.pdf", data={**CREATE, "under": "XW01"}) \
        .status_code == 200
    assert "本机地址" in client.get("/rounds").get_data(as_text=True)
