"""The member import page (导入党员): the office for any branch, a secretary for her own.

The page calls the same service as ``evalsvc member import``; a file with any wrong row
imports nothing and every problem is listed as row, column, message.
"""
import tempfile
from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from evalsvc.models import Role
from evalsvc.services.errors import OutOfScope
from evalsvc.services.member_import import MEMBER_COLUMNS, import_members
from evalsvc.services.tabular import ImportFailed

bp = Blueprint("member_import", __name__)
ENDPOINT = "member_import.upload"
# Column → the Chinese header the page shows, in the layout's order.
HEADERS = {"name": "姓名", "branch_code": "所属支部编码", "status": "党员类别", "gender": "性别",
           "birth_month": "出生年月", "position": "职务", "retired": "离退休",
           "sort_order": "排序"}


class MemberImportForm(FlaskForm):
    """One roster file."""

    file = FileField("党员名册文件（.xlsx 或 .csv）", validators=[
        FileRequired("请选择文件"),
        FileAllowed(["xlsx", "csv"], "只能导入 .xlsx 或 .csv 文件（.xls 请在 Excel 中另存为 .xlsx）"),
    ])


def init_app(app: Flask) -> None:
    """Let this page's upload be larger than a ballot; register before the input guard,
    which reads the body."""
    app.before_request(_allow_roster_size)


def _allow_roster_size() -> None:
    """A county roster (thousands of rows) exceeds the 256 KiB every other form gets."""
    if request.endpoint == ENDPOINT and request.method == "POST":
        request.max_content_length = current_app.config["MEMBER_UPLOAD_MAX_BYTES"]


@bp.before_request
@login_required
def _writers_only() -> None:
    """The office and secretaries; supervisors advise and do not import."""
    if current_user.role is Role.SUPERVISOR:
        raise OutOfScope("member import")


@bp.route("/members/import", methods=["GET", "POST"])
def upload():
    """Show the layout and the form; import the file handed in."""
    form = MemberImportForm()
    errors = []
    if form.validate_on_submit():
        upload_file = form.file.data
        suffix = Path(upload_file.filename or "").suffix.lower()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"members{suffix}"
            upload_file.save(path)
            try:
                summary = import_members(current_user, path, Path(upload_file.filename).name)
            except ImportFailed as exc:
                errors = exc.errors
            else:
                flash(f"已导入 {summary.total} 名党员（{len(summary.per_branch)} 个支部）", "ok")
                return redirect(_after_import())
    return render_template("orgs/member_import.html", form=form, errors=errors,
                           headers=HEADERS, required=MEMBER_COLUMNS.required,
                           columns=MEMBER_COLUMNS)


def _after_import() -> str:
    """A secretary returns to her branch; the office to the tree."""
    if current_user.role is Role.SECRETARY and current_user.branch_id:
        return url_for("orgs.detail", org_id=current_user.branch_id)
    return url_for("orgs.tree")
