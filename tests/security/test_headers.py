"""Every response carries the security headers, on every route the app has."""
import pytest

from tests.helpers import csrf_token, login, new_round

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _check(response, url):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, url
    assert "script-src" not in csp and "default-src 'none'" in csp, url  # no script at all
    assert "unsafe-inline" not in csp, url
    for name, value in REQUIRED.items():
        assert response.headers.get(name) == value, (url, name)


@pytest.mark.parametrize("role", [None, "office", "supervisor", "secretary"])
def test_headers_on_every_get_route_for_every_role(app, client, demo, role):
    round_, cards = new_round()
    if role:
        login(client, role)
    values = {"org_id": demo["XW0101"], "round_id": round_.id, "member_id": 1, "user_id": 1,
              "name": "satisfaction", "fmt": "csv", "flag_id": 1, "transition_id": 1, "unit_id": 1,
              "code": cards[0], "token": "x", "filename": "phone.css", "plan_id": 1,
              "item_id": 1, "job_id": 1}
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1]
        _check(client.get(url), url)
        seen += 1
    assert seen > 20
    _check(client.post("/C/" + cards[1], data={"nonce": "n" * 22}), "POST card")
    _check(client.get("/no/such/page"), "404")


def test_staff_forms_refuse_a_missing_or_stale_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
    client = app.test_client()
    login(client, "office")
    token = csrf_token(client.get("/orgs/new").get_data(as_text=True))
    response = client.post("/orgs/new", data={"code": "X1", "name": "新", "type": "committee",
                                              "parent_id": "None", "batch_id": "None"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True) or \
        response.status_code == 400
    stale = client.post("/orgs/new", data={"code": "X1", "name": "新", "type": "committee",
                                           "parent_id": "None", "batch_id": "None",
                                           "csrf_token": token + "tampered"})
    assert stale.status_code == 400
    with app.app_context():
        from evalsvc.extensions import db
        from evalsvc.models import Organisation

        assert db.session.scalar(db.select(Organisation).where(Organisation.code == "X1")) \
            is None


def test_pages_are_not_kept_in_the_browser_cache_but_static_files_are(client, demo):
    """Logging out ends the session on the server; the browser must not keep the pages
    either, or the next person at a shared office computer reads results (and a round's
    poster link) from its history. A respondent's receipt page is not kept either."""
    round_, _ = new_round(poster=True)
    login(client, "office")
    for path in (f"/rounds/{round_.id}", "/dashboard", "/account/password", "/login"):
        assert "no-store" in client.get(path).headers.get("Cache-Control", ""), path
    assert "no-store" in client.get("/receipt").headers.get("Cache-Control", "")
    static = client.get("/static/staff.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get(
        "Cache-Control", "")
