"""Staff login and logout."""
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry
from tests.helpers import csrf_token, login


def test_pages_require_login(client, demo):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_logout_round_trip(client, demo):
    login(client, "office")
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "auth.login" in actions and "auth.logout" in actions


def test_wrong_password_is_refused_in_chinese(client, demo):
    response = client.post("/login", data={"username": "office", "password": "wrong-one"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_answer(client, demo):
    response = client.post("/login", data={"username": "nobody", "password": "whatever1"})
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_next_parameter_only_follows_local_paths(client, demo):
    from evalsvc.services.demo import ACCOUNTS

    password = ACCOUNTS[0][1]
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "office", "password": password})
    assert response.headers["Location"] == "/dashboard"


def test_session_cookie_is_httponly_and_lax(client, demo):
    response = login(client, "office")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_over_https(client, demo):
    from evalsvc.services.demo import ACCOUNTS

    response = client.post("/login", base_url="https://localhost",
                           data={"username": "office", "password": ACCOUNTS[0][1]})
    assert "Secure" in response.headers["Set-Cookie"]


def test_session_rotates_at_login(client, demo):
    client.get("/login")  # an anonymous session with a CSRF token
    before = client.get_cookie("session")
    login(client, "office")
    after = client.get_cookie("session")
    assert before is None or before.value != after.value


def test_disabled_account_cannot_log_in(client, demo):
    from evalsvc.models import User

    user = db.session.scalar(sa.select(User).where(User.username == "secretary"))
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"username": "secretary",
                                           "password": "demo-secretary-pass"})
    assert response.status_code == 200


def test_login_form_has_csrf_protection(make_app, demo_database):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "office", "password": "demo-office-pass"})
    assert response.status_code in (200, 400)
    assert client.get("/").status_code == 302  # not logged in
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "office", "password": "demo-office-pass",
                                           "csrf_token": csrf_token(page)})
    assert response.status_code == 302
