"""Staff login and logout."""
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from evalsvc import ratelimit
from evalsvc.extensions import login_manager
from evalsvc.models import User
from evalsvc.services import sessions
from evalsvc.services.errors import Invalid
from evalsvc.services.users import authenticate, change_own_password
from evalsvc.web.form_errors import attach_errors

bp = Blueprint("auth", __name__)
# Respondents' pages: they never read the staff session.
PUBLIC_BLUEPRINTS = {"respond", "receipts"}


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])


class PasswordChangeForm(FlaskForm):
    """A user's own password: the current one, and the new one twice."""

    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=200)])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=200)])
    repeat = PasswordField("再次输入新密码", validators=[
        DataRequired("请再次输入新密码"), EqualTo("new", "两次输入的新密码不一致")])


def init_app(app: Flask) -> None:
    """Wire Flask-Login and mount the blueprint."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
    app.before_request(_load_session)


def _load_session() -> None:
    """Check the staff session first thing, before a view starts its own transaction."""
    if sessions.SESSION_KEY in session:
        current_user._get_current_object()


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The account of a live server-side session (ended, idle or too old: nobody).

    Nobody on the respondents' pages: a ballot cast from a logged-in browser must not move
    the session's last_seen_at, which would date the ballot to the minute.
    """
    if request.blueprint in PUBLIC_BLUEPRINTS:
        return None
    user = sessions.user_of(session.get(sessions.SESSION_KEY))
    if user is None or str(user.id) != user_id:
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the form; on success start a fresh session."""
    form = LoginForm()
    if form.validate_on_submit():
        account, address = form.username.data.strip().lower(), request.remote_addr or "-"
        if _locked(account, address):
            flash("登录失败次数过多，已暂时锁定，请 15 分钟后再试", "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            ratelimit.exceeded("login-account", account, "LOGIN_ACCOUNT_LIMIT")
            ratelimit.exceeded("login-address", address, "LOGIN_ADDRESS_LIMIT")
        else:
            ratelimit.counter().clear(f"login-account:{account}")
            session.clear()  # rotate: nothing from the anonymous session survives
            login_user(user)
            session[sessions.SESSION_KEY] = sessions.start(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("用户名或密码错误", "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session, on the server too: a copy of the cookie stops working."""
    sessions.end(current_user._get_current_object(), session.get(sessions.SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; every other session of the account ends, this one stays."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_own_password(current_user._get_current_object(), form.current.data,
                                form.new.data, session.get(sessions.SESSION_KEY))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            flash("密码已修改；此账号在其他设备上的登录已全部退出", "ok")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form)


def _locked(account: str, address: str) -> bool:
    """Too many failures for this account, or from this address, in the window."""
    return (ratelimit.exceeded("login-account", account, "LOGIN_ACCOUNT_LIMIT", count_it=False)
            or ratelimit.exceeded("login-address", address, "LOGIN_ADDRESS_LIMIT",
                                  count_it=False))


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")
