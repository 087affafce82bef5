"""Staff accounts: creation, editing, and password checks."""
import functools
import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Organisation, OrgType, Role, User
from evalsvc.services import audit, sessions
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,60}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class UserData:
    """What a form or the CLI says about an account."""

    username: str
    role: Role
    display_name: str = ""
    branch_id: int | None = None
    assigned_ids: tuple[int, ...] = field(default=())


def check_password(password: str) -> dict[str, str]:
    """The password policy."""
    if len(password) < MIN_PASSWORD:
        return {"password": f"密码至少 {MIN_PASSWORD} 位"}
    return {}


def check_user(data: UserData, existing: User | None = None) -> dict[str, str]:
    """Every rule an account must meet."""
    errors: dict[str, str] = {}
    if not USERNAME_PATTERN.match(data.username):
        errors["username"] = "用户名须为 3–60 位字母、数字、点、横线或下划线"
    else:
        query = sa.select(User.id).where(User.username == data.username)
        if existing is not None:
            query = query.where(User.id != existing.id)
        if db.session.scalar(query) is not None:
            errors["username"] = f"用户名 {data.username} 已被使用"
    if len(data.display_name) > 60:
        errors["display_name"] = "姓名不超过 60 字"
    if data.role is Role.SECRETARY:
        branch = db.session.get(Organisation, data.branch_id) if data.branch_id else None
        if branch is None or branch.type is not OrgType.BRANCH:
            errors["branch_id"] = "支部书记必须指定所在党支部"
    if data.role is Role.SUPERVISOR:
        found = db.session.scalars(
            sa.select(Organisation.id).where(Organisation.id.in_(data.assigned_ids))
        ).all()
        if not data.assigned_ids or len(found) != len(set(data.assigned_ids)):
            errors["assigned_ids"] = "督导组必须指定负责的组织"
    return errors


def _apply(user: User, data: UserData) -> None:
    user.username = data.username
    user.role = data.role
    user.display_name = data.display_name.strip()
    user.branch_id = data.branch_id if data.role is Role.SECRETARY else None
    user.assigned = (
        list(db.session.scalars(
            sa.select(Organisation).where(Organisation.id.in_(data.assigned_ids))
        ))
        if data.role is Role.SUPERVISOR
        else []
    )


@writes
def create_user(actor: User | None, data: UserData, password: str) -> User:
    """Create an account; office only (or the operator at the command line)."""
    if actor is not None:
        require_office(actor)
    errors = check_user(data) | check_password(password)
    if errors:
        raise Invalid(errors)
    user = User(username=data.username, role=data.role, password_hash="")
    _apply(user, data)
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    audit.record(actor, "user.create", user, username=user.username, role=user.role.value)
    return user


@writes
def update_user(
    actor: User, user: User, data: UserData, active: bool, password: str = "",
    actor_session: str | None = None,
) -> User:
    """Change an account's role, scope or state.

    A new password ends the account's sessions, except ``actor_session`` (the token of the
    session making the change) when users change their own password; disabling ends them all.
    """
    require_office(actor)
    errors = check_user(data, user) | (check_password(password) if password else {})
    if user.id == actor.id and (not active or data.role is not Role.OFFICE):
        errors["active"] = "不能停用自己的账号或取消自己的先教办权限"
    if errors:
        raise Invalid(errors)
    _apply(user, data)
    user.active = active
    if password:
        user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
        sessions.end_all(user, "password", keep=actor_session if user.id == actor.id else None)
    if not active:
        sessions.end_all(user, "disabled")
    audit.record(actor, "user.update", user, username=user.username, role=user.role.value,
                 active=active, password_changed=bool(password))
    return user


@writes
def change_own_password(user: User, current: str, new: str, keep_session: str | None) -> None:
    """A user changes their own password; their other sessions end, ``keep_session`` stays."""
    errors = {} if user.check_password(current) else {"current": "当前密码不正确"}
    errors |= {"new": message for message in check_password(new).values()}
    if errors:
        raise Invalid(errors)
    user.set_password(new, current_app.config["PASSWORD_HASH_METHOD"])
    ended = sessions.end_all(user, "password", keep=keep_session)
    audit.record(user, "user.change_password", user, other_sessions_ended=ended)


def authenticate(username: str, password: str) -> User | None:
    """The active account with these credentials, or None."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check so timing does not reveal usernames.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))
