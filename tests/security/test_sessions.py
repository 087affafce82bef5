"""Staff sessions end on the server: at logout, after the idle timeout or the absolute
lifetime, and when the password changes. Time is moved with a settable clock, not sleeps."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import StaffSession, User
from evalsvc.services import sessions
from tests.helpers import login


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)

    def advance(self, **delta) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Sessions measured by a clock the test controls."""
    moving = Clock()
    monkeypatch.setattr(sessions, "now", lambda: moving.now)
    return moving


def _copy_of(app, client):
    """A second client holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _signed_in(client) -> bool:
    """True when the client's cookie still opens a staff page (else: sent to the login)."""
    response = client.get("/rounds")
    assert response.status_code == 200 or "/login" in response.headers["Location"]
    return response.status_code == 200


def _reasons(username: str) -> list[str | None]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(StaffSession.end_reason).join(User, User.id == StaffSession.user_id)
        .where(User.username == username).order_by(StaffSession.id)).all()


def test_a_cookie_copied_before_logout_stops_working(app, client, demo):
    login(client, "office")
    thief = _copy_of(app, client)
    assert _signed_in(thief)
    client.post("/logout")
    assert not _signed_in(thief)
    assert _reasons("office") == ["logout"]


def test_only_a_hash_of_the_session_token_is_stored(app, client, demo):
    login(client, "office")
    cookie = client.get_cookie("session").value
    token = app.session_interface.get_signing_serializer(app).loads(cookie)[
        sessions.SESSION_KEY]
    stored = db.session.scalars(sa.select(StaffSession.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored


def test_idle_timeout_ends_the_session(client, demo, clock):
    login(client, "secretary")
    for _ in range(3):  # active every 29 minutes: the session lives on
        clock.advance(minutes=29)
        assert _signed_in(client)
    clock.advance(minutes=30)
    assert not _signed_in(client)
    assert _reasons("secretary") == ["idle"]
    login(client, "secretary")  # a fresh login works again
    assert _signed_in(client)


def test_absolute_lifetime_ends_even_a_busy_session(client, demo, clock):
    login(client, "supervisor")
    for _ in range(29):  # a request every 24 minutes up to 11.6 hours
        clock.advance(minutes=24)
        assert _signed_in(client)
    clock.advance(minutes=24)  # 12 hours after login
    assert not _signed_in(client)
    assert _reasons("supervisor") == ["lifetime"]


def test_timeouts_are_settings(make_app, clock):
    app = make_app(SESSION_IDLE_MINUTES=5, SESSION_LIFETIME_HOURS=1)
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
    client = app.test_client()
    login(client, "office")
    clock.advance(minutes=4)
    assert _signed_in(client)
    clock.advance(minutes=5)
    assert not _signed_in(client)


def test_a_ballot_cast_from_a_logged_in_browser_leaves_no_time_on_the_session(client, demo,
                                                                             clock):
    import re

    from tests.helpers import ballot_for, counts, new_round

    round_, codes = new_round()
    login(client, "secretary")
    clock.advance(minutes=10)
    page = client.get(f"/C/{codes[0]}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    assert client.post(f"/C/{codes[0]}", data={**ballot_for(round_, "satisfied"),
                                                "nonce": nonce}).status_code == 200
    assert counts(round_.id) == (1, 1)
    db.session.expire_all()
    seen = db.session.scalar(sa.select(StaffSession.last_seen_at))
    assert seen.replace(tzinfo=None) == datetime(2026, 11, 30, 8, 0)  # the login, not the ballot
    assert _signed_in(client)  # the staff session itself is untouched


def _edit(client, user: User, **changes):
    data = {"username": user.username, "display_name": user.display_name,
            "role": user.role.value, "branch_id": str(user.branch_id or ""),
            "active": "y", **changes}
    return client.post(f"/users/{user.id}/edit", data=data)


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_changing_ones_own_password_ends_the_other_sessions_only(app, client, demo):
    login(client, "office")
    other_desk = app.test_client()
    login(other_desk, "office")
    assert _edit(client, _user("office"), password="a-new-office-pass").status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other_desk)
    assert sorted(_reasons("office"), key=str) == [None, "password"]


def test_office_resetting_a_password_ends_every_session_of_that_user(app, client, demo):
    desks = [app.test_client(), app.test_client()]
    for desk in desks:
        login(desk, "secretary")
    login(client, "office")
    assert _edit(client, _user("secretary"), password="reset-by-office").status_code == 302
    assert not any(_signed_in(desk) for desk in desks)
    assert _reasons("secretary") == ["password", "password"]
    assert _signed_in(client)  # the office's own session lives


def test_disabling_an_account_ends_its_sessions(app, client, demo):
    desk = app.test_client()
    login(desk, "secretary")
    login(client, "office")
    data = {"username": "secretary", "role": "secretary",
            "branch_id": str(_user("secretary").branch_id)}  # "active" left unticked
    assert client.post(f"/users/{_user('secretary').id}/edit", data=data).status_code == 302
    assert not _signed_in(desk)
    assert _reasons("secretary") == ["disabled"]


def test_a_secretary_changing_her_own_password_ends_her_other_sessions(app, client, demo):
    other_desk = app.test_client()
    login(other_desk, "secretary")
    login(client, "secretary")
    wrong = client.post("/account/password", data={
        "current": "not-my-password", "new": "a-new-secret", "repeat": "a-new-secret"})
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    short = client.post("/account/password", data={
        "current": "demo-secretary-pass", "new": "short", "repeat": "short"})
    assert "密码至少 8 位" in short.get_data(as_text=True)
    assert _signed_in(other_desk) and _reasons("secretary") == [None, None]
    response = client.post("/account/password", data={
        "current": "demo-secretary-pass", "new": "a-new-secret", "repeat": "a-new-secret"})
    assert response.status_code == 302
    assert _signed_in(client) and not _signed_in(other_desk)
    assert _reasons("secretary") == ["password", None]
    client.post("/logout")
    login(client, "secretary", "a-new-secret")
