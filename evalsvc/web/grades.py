"""组织评定 pages: the branch grades each member of a closed 民主评议 round, the office
confirms, and a confirmed 不合格 is followed up. Supervisors read only."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.kinds import get_kind
from evalsvc.models import MemberGrade, Role, Round
from evalsvc.services import member_grades, scope
from evalsvc.services.errors import OutOfScope
from evalsvc.web.decisions import _date as parse_date
from evalsvc.web.form_errors import attempt

bp = Blueprint("grades", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only; writes are POSTs (CSRFProtect checks their token)."""


@bp.get("/rounds/<int:round_id>/grades")
def index(round_id: int):
    """Every listed member with the vote counts, the final grade and its follow-up."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    labels = member_grades.grade_labels(round_)
    if not labels:
        abort(404)
    role = current_user.role
    return render_template(
        "rounds/grades.html", round=round_, labels=labels,
        members=member_grades.graded_members(round_),
        grades=member_grades.grades_of(round_),
        followup_labels=member_grades.FOLLOWUP_LABELS, outcomes=member_grades.OUTCOMES,
        failing=get_kind(round_.kind).failing_grade, may_record=role is not Role.SUPERVISOR, may_confirm=role is Role.OFFICE)


@bp.post("/rounds/<int:round_id>/grades")
def record(round_id: int):
    """The branch records one member's final grade."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    member_id = request.form.get("member_id", "")
    if not member_id.isdigit():
        abort(400)
    attempt(lambda: member_grades.record_grade(current_user, round_, int(member_id),
                                               request.form.get("grade", "")),
            "已保存该党员的评定等次")
    return redirect(url_for("grades.index", round_id=round_id))


@bp.post("/rounds/<int:round_id>/grades/confirm")
def confirm(round_id: int):
    """The office confirms the branch's grades."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    attempt(lambda: member_grades.confirm_grades(current_user, round_),
            f"已确认测评“{round_.title}”的组织评定")
    return redirect(url_for("grades.index", round_id=round_id))


@bp.post("/grades/<int:grade_id>/followup")
def followup(grade_id: int):
    """The branch records the next follow-up step of a confirmed 不合格."""
    row = db.session.get(MemberGrade, grade_id)
    if row is None or not scope.in_scope(current_user, row.organisation_id):
        raise OutOfScope(f"grade {grade_id}")
    attempt(lambda: member_grades.record_followup(
        current_user, row, request.form.get("step", ""), request.form.get("note", ""),
        parse_date(request.form.get("deadline", "").strip())), "已登记后续处理")
    return redirect(url_for("grades.index", round_id=row.round_id))

