"""Pass verdicts wait on the office's dashboard and are confirmed several at once, each
round audited; a stray or foreign id confirms nothing."""
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Round, Stage
from tests.helpers import csrf_token, login
from tests.services.test_rules import run_round, user


def _two_passes() -> list[int]:
    secretary = user("secretary")
    ids = [run_round(secretary, "XW0101", kind, Stage.REVIEW, positive=6, negative=0,
                     confirm_pass=False).id for kind in ("member_review", "stage_review")]
    db.session.commit()
    return ids


def _statuses(ids):
    db.session.expire_all()
    return [db.session.get(Round, i).verdict_status.value for i in ids]


def test_office_confirms_several_passes_from_the_dashboard(client, demo):
    ids = _two_passes()
    login(client, "office")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "待确认的通过判定（2）" in page
    response = client.post("/verdicts/confirm-passes",
                           data={"csrf_token": csrf_token(page), "round": [str(i) for i in ids]})
    assert response.status_code == 302
    assert _statuses(ids) == ["confirmed", "confirmed"]
    audited = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.action == "round.verdict.confirm")).all()
    assert len(audited) == 2
    assert "待确认的通过判定" not in client.get("/dashboard").get_data(as_text=True)


def test_bad_selection_confirms_nothing_and_says_why(client, demo):
    ids = _two_passes()
    login(client, "office")
    page = client.get("/dashboard").get_data(as_text=True)
    for bad in ([str(ids[0]), "x"], [str(ids[0]), "999999"], []):
        response = client.post("/verdicts/confirm-passes", follow_redirects=True,
                               data={"csrf_token": csrf_token(page), "round": bad})
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "未作任何确认" in text or "请至少选择一个测评" in text
    assert _statuses(ids) == ["proposed", "proposed"]


def test_a_secretary_cannot_confirm_passes(client, demo):
    # (CSRF is global: tests/security/test_headers.py proves staff forms need the token.)
    ids = _two_passes()
    login(client, "secretary")
    page = client.get(f"/rounds/{ids[0]}").get_data(as_text=True)
    client.post("/verdicts/confirm-passes",
                data={"csrf_token": csrf_token(page), "round": [str(ids[0])]})
    assert _statuses(ids) == ["proposed", "proposed"]


def test_an_earlier_campaigns_passes_are_not_offered(app, demo):
    from evalsvc.services import flags
    from evalsvc.services.campaigns import create_campaign

    ids = _two_passes()
    assert {r.id for r in flags.pending_passes(None)} >= set(ids)
    create_campaign(None, "第二次教育活动", 2027, 2027)
    assert not {r.id for r in flags.pending_passes(None)} & set(ids)


def test_an_odd_id_or_return_address_confirms_nothing_and_stays_here(client, demo):
    """``²`` is a digit to isdigit, a number past the database's integer is no round, and
    a ``next`` of ``/\\host`` is another site to a browser: none is a server error or a
    way off the site."""
    ids = _two_passes()
    login(client, "office")
    for odd in ("\u00b2", "9" * 30):
        response = client.post("/verdicts/confirm-passes",
                               data={"round": [str(ids[0]), odd], "next": "/dashboard"})
        assert response.status_code == 302
    assert _statuses(ids) == ["proposed", "proposed"]
    away = client.post("/verdicts/confirm-passes",
                       data={"round": [str(i) for i in ids], "next": "/\\evil.example"})
    assert away.headers["Location"].endswith("/dashboard")
