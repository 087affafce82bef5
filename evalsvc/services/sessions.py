"""Staff login sessions kept on the server: started at login, checked on every request,
ended at logout, after the idle timeout or the absolute lifetime, and on a password change.

The cookie carries a random token; only its SHA-256 hash is stored, so a copy of the
database does not yield a live session.
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import StaffSession, User
from evalsvc.models.base import utcnow
from evalsvc.services import audit

# Key of the token in Flask's signed cookie session.
SESSION_KEY = "staff_session"
# last_seen_at is written at most this often, so reading pages does not queue writers.
TOUCH_EVERY = timedelta(seconds=60)


def now() -> datetime:
    """The clock sessions are measured by (tests replace it to move time)."""
    return utcnow()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@writes
def start(user: User) -> str:
    """Record a new session for ``user`` and audit the login; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    moment = now()
    db.session.add(StaffSession(token_hash=_hash(token), user_id=user.id, created_at=moment,
                                last_seen_at=moment))
    audit.record(user, "auth.login", user)
    return token


def user_of(token: str | None) -> User | None:
    """The account behind a live session token, or None; a timed-out session is ended."""
    if not token:
        return None
    row = db.session.scalar(sa.select(StaffSession).where(
        StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None)))
    if row is None:
        return None
    moment = now()
    reason = _expired(row, moment)
    user = db.session.get(User, row.user_id)
    if reason is None and (user is None or not user.active):
        reason = "disabled"
    if reason is not None:
        _end_row(row.id, reason)
        return None
    if moment - _aware(row.last_seen_at) >= TOUCH_EVERY:
        _touch(row.id, moment)
    return user


def _expired(row: StaffSession, moment: datetime) -> str | None:
    """Why the session is over by the clock, or None while it lives."""
    config = current_app.config
    if moment - _aware(row.created_at) >= timedelta(hours=config["SESSION_LIFETIME_HOURS"]):
        return "lifetime"
    if moment - _aware(row.last_seen_at) >= timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        return "idle"
    return None


@writes
def _touch(session_id: int, moment: datetime) -> None:
    db.session.execute(sa.update(StaffSession).where(StaffSession.id == session_id)
                       .values(last_seen_at=moment))


@writes
def _end_row(session_id: int, reason: str) -> None:
    db.session.execute(sa.update(StaffSession)
                       .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
                       .values(ended_at=now(), end_reason=reason))


@writes
def end(user: User, token: str | None) -> None:
    """Log out: the session ends on the server, so a copied cookie stops working."""
    if token:
        db.session.execute(sa.update(StaffSession)
                           .where(StaffSession.token_hash == _hash(token),
                                  StaffSession.ended_at.is_(None))
                           .values(ended_at=now(), end_reason="logout"))
    audit.record(user, "auth.logout", user)


@writes
def end_all(user: User, reason: str, keep: str | None = None) -> int:
    """End every live session of ``user`` but the one whose token is ``keep``; returns how many."""
    query = sa.update(StaffSession).where(StaffSession.user_id == user.id,
                                          StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.token_hash != _hash(keep))
    return db.session.execute(query.values(ended_at=now(), end_reason=reason)).rowcount
