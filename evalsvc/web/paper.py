"""Staff pages for paper ballots: print the sheets, key in returned ones, list disputes.

The entry page is built for a tablet (large targets, no script): scan or type a sheet's
code, then key its answers on the phone ballot's own form, built from the frozen layout.
"""
import io

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from evalsvc.kinds import get_kind
from evalsvc.models import Round
from evalsvc.services import codes, paper, printing, rounds, scope
from evalsvc.web.rounds import _pdf

bp = Blueprint("paper", __name__)
OUTCOMES = {
    paper.WAITING: "已保存第一次录入。请另一位工作人员再录入这张纸质票；两次录入一致后才计入结果。",
    paper.COUNTED: "两次录入一致，这张纸质票已计入结果，测评卡已作废。",
    paper.DISPUTED: "与之前的录入不一致，这张纸质票不计入结果，已列入“录入不一致”清单，请第三人核对后录入。",
}
BAD_CODE = "无法识别测评卡代码，请扫描纸质票上的二维码或输入二维码旁的代码。"


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


@bp.get("/rounds/<int:round_id>/paper.pdf")
def sheets_pdf(round_id: int):
    """The round's paper ballots, one A4 sheet per card (office, or delegated branch)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    buffer = io.BytesIO()
    printing.paper_pdf(current_user, round_, buffer)
    return _pdf(buffer, f"round-{round_.id}-paper.pdf")


def code_from(text: str) -> str | None:
    """A card code from what a scanner typed (the card's URL) or a person typed (the code)."""
    text = (text or "").strip()
    return codes.normalise_code(text.rsplit("/", 1)[-1] if "/" in text else text)


@bp.route("/rounds/<int:round_id>/paper", methods=["GET", "POST"])
def enter(round_id: int):
    """Step 1: the sheet's code; step 2 (``answers`` posted): its answers."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    printing.require_printer(current_user, round_)
    if request.method == "GET":
        return _code_page(round_)
    typed = request.form.get("code", "")
    code = code_from(typed)
    if code is None:
        return _code_page(round_, typed, BAD_CODE, 422)
    try:
        paper.check_sheet(current_user, round_, code)
    except paper.PaperRefused as refused:
        return _code_page(round_, typed, refused.message, 409)
    layout = rounds.layout(round_)
    kind = get_kind(round_.kind)
    limit = current_app.config["FREE_TEXT_LIMIT"]
    if "answers" not in request.form:
        return _answers_page(round_, code, layout, kind.form(layout, None, limit))
    submission = kind.validate(layout, request.form, limit)
    if not submission.ok:
        return _answers_page(round_, code, layout, submission.form, submission.errors, 422)
    try:
        outcome = paper.enter_sheet(current_user, round_, code, submission.answers)
    except paper.PaperRefused as refused:
        return _code_page(round_, typed, refused.message, 409)
    return _code_page(round_, done=OUTCOMES[outcome])


def _code_page(round_, typed: str = "", error: str | None = None, status: int = 200,
               done: str | None = None):
    return render_template("paper/code.html", round=round_, typed=typed, error=error,
                           done=done, waiting=paper.waiting_count(round_)), status


def _answers_page(round_, code: str, layout, form, errors=None, status: int = 200):
    return render_template("paper/answers.html", round=round_, code=code,
                           shown_code=codes.display_code(code), layout=layout, form=form,
                           errors=errors or {}), status


@bp.get("/rounds/<int:round_id>/paper/disputed")
def disputed(round_id: int):
    """Sheets whose two key-ins disagree: for a third look by someone else."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    printing.require_printer(current_user, round_)
    labels = {q.key: q.text for q in rounds.layout(round_)}
    return render_template("paper/disputed.html", round=round_,
                           disputes=paper.disputed(round_, labels))
