"""信息简报 on the web: submit one, read the week's, see who is overdue, export XLSX."""
import io
from datetime import date

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Organisation, Role
from evalsvc.services import audit, briefs, scope
from evalsvc.services.errors import Invalid
from evalsvc.services.today import today
from evalsvc.web.form_errors import attach_errors
from evalsvc.web.staff_forms import BriefForm, options

bp = Blueprint("briefs", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


def _week() -> tuple[date, date]:
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        day = today()
    return briefs.week_of(day)


def _form() -> BriefForm:
    form = BriefForm()
    if current_user.role is Role.OFFICE:
        orgs = db.session.scalars(scope.orgs_query(current_user).where(
            Organisation.type.in_(briefs.DEPARTMENTS))).all()
        form.organisation_id.choices = options([("", "（请选择）")] +
                                               [(o.id, o.name) for o in orgs])
    else:
        del form.organisation_id  # a secretary sends for her branch, a supervisor as such
    return form


@bp.route("/briefs", methods=["GET", "POST"])
def index():
    """This week's briefs, the form, and (for the office) who has not sent one."""
    form = _form()
    if request.method == "GET" and form.brief_date.data is None:
        form.brief_date.data = today()
    if form.validate_on_submit():
        try:
            briefs.submit(current_user, briefs.BriefData(
                form.title.data or "", form.text.data or "", form.brief_date.data,
                form.author.data or "",
                form.organisation_id.data if "organisation_id" in form else None))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("briefs.index"))
    start, end = _week()
    office = current_user.role is Role.OFFICE
    return render_template("briefs/index.html", form=form, start=start, end=end,
                           briefs=briefs.visible_briefs(current_user, start, end),
                           missing=briefs.missing(end) if office else None)


@bp.get("/briefs.xlsx")
def export():
    """The week's briefs as XLSX, for the office's 简报 editing."""
    from evalsvc.render.exports import Sheet, write_xlsx

    scope.require_office(current_user)
    start, end = _week()
    rows = [(b.brief_date, b.organisation.name if b.organisation else "督导组", b.title,
             b.author, b.text) for b in briefs.visible_briefs(current_user, start, end)]
    buffer = io.BytesIO()
    write_xlsx([Sheet("信息简报", ("日期", "报送单位", "标题", "撰稿人", "正文"), rows)], buffer)
    audit.record_export(current_user, "briefs", start=start, end=end, briefs=len(rows))
    buffer.seek(0)
    return send_file(buffer, mimetype=XLSX, as_attachment=True,
                     download_name=f"briefs-{start.isoformat()}-{end.isoformat()}.xlsx")
