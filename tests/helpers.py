"""Helpers shared by tests: logging in, CSRF tokens, rounds with cards, and complete ballots
for each kind."""
import json
import re
import secrets

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, GroupCode, Organisation, Receipt, Stage
from evalsvc.services import rounds

SATISFACTION = {"quality": "satisfied", "organisation": "fairly", "service": "basic",
                "work": "dissatisfied", "overall": "satisfied"}


def org_id(code: str) -> int:
    """An organisation's id by code."""
    return db.session.scalar(sa.select(Organisation.id).where(Organisation.code == code))


def new_round(org_code="XW0101", kind="satisfaction", stage=Stage.REVIEW, groups=None,
              open_it=True, **extra):
    """A round with cards; returns (round, [card codes in random order])."""
    groups = groups if groups is not None else {GroupCode.MASSES: 6}
    round_ = rounds.create_round(None, rounds.RoundData(org_id(org_code), kind, stage, groups,
                                                        **extra))
    if open_it:
        rounds.open_round(None, round_)
    return round_, [code for _group, code in rounds.card_codes(round_)]


def ballot_for(round_, choice: str = "qualified") -> dict:
    """A complete, valid ballot for the round's layout."""
    data = {"nonce": secrets.token_urlsafe(16)}
    for q in rounds.layout(round_):
        if q.type == "choice":
            data[q.key] = choice if q.option(choice) else q.options[0].value
        elif q.type == "multi":
            data[q.key] = [q.options[0].value, q.options[-1].value]
    return data


def counts(round_id: int) -> tuple[int, int]:
    """(ballots, receipts) stored for a round."""
    ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)
                                .where(Ballot.round_id == round_id))
    receipts = db.session.scalar(sa.select(sa.func.count()).select_from(Receipt)
                                 .where(Receipt.round_id == round_id))
    return ballots, receipts


def stored_answers(round_id: int | None = None, conn=None) -> list[tuple]:
    """Every stored answer as (ballot id, group id, question, value, text), read from the
    raw ``ballots`` table with plain SQL and decoded with ``json`` alone (not the app's
    code): what an insider reading the tables sees."""
    sql = "SELECT id, group_id, answers FROM ballots"
    params = {}
    if round_id is not None:
        sql, params = sql + " WHERE round_id = :r", {"r": round_id}
    rows = (conn or db.session).execute(sa.text(sql), params).all()
    return [(ballot_id, group_id, q, v, t) for ballot_id, group_id, packed in rows
            for q, v, t in json.loads(packed)]


def rewrite_answers(conn, ballot_id: str, change) -> None:
    """An insider's edit of one ballot's stored answers with plain SQL: ``change`` gets the
    decoded list of [question, value, text] and returns the new one (kept canonical:
    sorted, compact JSON), or a string stored as it is."""
    packed = conn.execute(sa.text("SELECT answers FROM ballots WHERE id = :b"),
                          {"b": ballot_id}).scalar_one()
    changed = change(json.loads(packed))
    if not isinstance(changed, str):
        changed = json.dumps(sorted(changed, key=lambda a: (a[0], a[1])),
                             separators=(",", ":"), ensure_ascii=False)
    conn.execute(sa.text("UPDATE ballots SET answers = :a WHERE id = :b"),
                 {"a": changed, "b": ballot_id})


def receipt_of(html: str) -> str | None:
    """The receipt code shown on a thank-you page."""
    match = re.search(r'class="receipt"[^>]*>([A-Z2-7-]+)<', html)
    return match.group(1) if match else None


def closed_satisfaction_round(ballots_cast: int = 6, cards: int | None = None,
                              with_text: bool = False):
    """A closed satisfaction round of masses' ballots (answers as SATISFACTION, and a free
    text each when asked)."""
    from evalsvc.services import ballots, closing

    round_, codes = new_round(groups={GroupCode.MASSES: cards or ballots_cast})
    for i, code in enumerate(codes[:ballots_cast]):
        rows = [(k, v, "") for k, v in SATISFACTION.items()]
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16),
                                 rows + ([("advice", "", f"意见{i}")] if with_text else []))
    closing.close_round(None, round_)
    return round_


def login(client, username: str, password: str | None = None):
    """Log a client in as a demo account (password defaults to the demo one), with the
    login form's CSRF token when the app checks tokens."""
    from evalsvc.services.demo import ACCOUNTS

    password = password or next(p for u, p, *_ in ACCOUNTS if u == username)
    form = {"username": username, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        form["csrf_token"] = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def csrf_token(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


def closed_member_review(org_code="XW0101", grade="qualified", groups=None):
    """A closed 民主评议 round where every ballot gives every listed member ``grade``
    (six members' ballots unless ``groups`` says otherwise)."""
    from evalsvc.services import ballots, closing

    round_, codes = new_round(org_code, kind="member_review",
                              groups=groups or {GroupCode.MEMBER: 6})
    rows = [(q.key, grade, "") for q in rounds.layout(round_)
            if q.member_id is not None and q.type == "choice"]
    for code in codes:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
    closing.close_round(None, round_)
    return round_


def close_on_web(client, round_):
    """Close a round from its page as staff do: the button, then the confirmation naming the
    ballot count (the server closes nothing without it)."""
    page = client.post(f"/rounds/{round_.id}/close").get_data(as_text=True)
    count = re.search(r'name="confirmed" value="(\d+)"', page).group(1)
    return client.post(f"/rounds/{round_.id}/close", data={"confirmed": count})


def at_once(app, monkeypatch, target, name: str, work, pause_when=lambda *a, **k: True):
    """Run ``work`` twice together, as two requests pressed at the same moment would: the
    first pauses inside ``target.name`` (when ``pause_when`` says so) while the second runs
    to its end, then the first goes on. ``work`` runs in an app context of its own thread."""
    import threading

    paused, second_done = threading.Event(), threading.Event()
    real = getattr(target, name)

    def slowed(*args, **kwargs):
        if threading.current_thread().name == "first" and pause_when(*args, **kwargs):
            paused.set()
            second_done.wait(1.5)  # the second request gets its chance here
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, slowed)
    db.session.commit()  # this thread's reads start afresh after both requests

    def run():
        with app.app_context():
            try:
                work()
            finally:
                db.session.remove()

    first = threading.Thread(target=run, name="first")
    first.start()
    assert paused.wait(15)
    second = threading.Thread(target=run, name="second")
    second.start()
    second.join(15)
    second_done.set()
    first.join(15)
