"""User management for the campaign office."""
from flask import Blueprint, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Organisation, OrgType, Role, User
from evalsvc.services import scope, sessions
from evalsvc.services import users as user_service
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.web.form_errors import attach_errors
from evalsvc.web.staff_forms import options, UserForm

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.before_request
@login_required
def _office_only() -> None:
    """Only the office manages accounts; others get 404."""
    scope.require_office(current_user)


@bp.get("/")
def index():
    """Every staff account."""
    users = db.session.scalars(db.select(User).order_by(User.role, User.username)).all()
    return render_template("users/index.html", users=users)


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add an account."""
    form = _user_form(UserForm())
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = ["新建账号必须设置密码"]
        else:
            try:
                user_service.create_user(current_user, _user_data(form), form.password.data)
            except Invalid as exc:
                attach_errors(form, exc)
            else:
                return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, user=None)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
def edit(user_id: int):
    """Change an account's role, scope, state or password."""
    user = db.session.get(User, user_id)
    if user is None:
        raise OutOfScope(f"user {user_id}")
    form = _user_form(UserForm(
        obj=user, role=user.role.value, assigned_ids=[o.id for o in user.assigned]
    ))
    if form.validate_on_submit():
        try:
            user_service.update_user(
                current_user, user, _user_data(form), form.active.data, form.password.data or "",
                actor_session=session.get(sessions.SESSION_KEY),
            )
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, user=user)


def _user_form(form: UserForm) -> UserForm:
    orgs = db.session.scalars(db.select(Organisation).order_by(Organisation.code)).all()
    form.branch_id.choices = options([(None, "（无）")] + [
        (o.id, f"{o.code} {o.name}") for o in orgs if o.type is OrgType.BRANCH
    ])
    form.assigned_ids.choices = options((o.id, f"{o.code} {o.name}") for o in orgs)
    return form


def _user_data(form: UserForm) -> user_service.UserData:
    role = Role(form.role.data)
    return user_service.UserData(
        username=form.username.data.strip(),
        role=role,
        display_name=(form.display_name.data or "").strip(),
        branch_id=form.branch_id.data,
        assigned_ids=tuple(form.assigned_ids.data or ()),
    )
