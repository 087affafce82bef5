"""Decisions on what the rules propose: flags, round verdicts, make-up lessons, members
found 不合格, and stage-transition requests."""
from datetime import date

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from evalsvc.glossary import label
from evalsvc.models import BranchDecision, Flag, Organisation, Round, Transition
from evalsvc.services import flags, paging, scope, stages
from evalsvc.web.form_errors import attempt

bp = Blueprint("decisions", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only; every action here is a POST (CSRFProtect checks its token)."""


def _back(default: str):
    target = request.form.get("next", "")
    # "/\\host" is another site to a browser, as "//host" is
    return redirect(target if target.startswith("/") and not target.startswith("//")
                    and "\\" not in target else default)


def _attempt(action, default: str, done="已保存"):
    attempt(action, done)
    return _back(default)


@bp.post("/flags/<int:flag_id>/confirm")
def confirm_flag(flag_id: int):
    """The office confirms a proposal."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    return _attempt(lambda: flags.confirm(current_user, flag, request.form.get("reason", "")),
                    url_for("dashboard.index"),
                    f"已确认{flag.organisation.name}的{label(flag.kind)}建议")


@bp.post("/flags/<int:flag_id>/override")
def override_flag(flag_id: int):
    """The office overrides a proposal, with a reason."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    return _attempt(lambda: flags.override(current_user, flag, request.form.get("reason", "")),
                    url_for("dashboard.index"),
                    f"已推翻{flag.organisation.name}的{label(flag.kind)}建议")


@bp.post("/flags/<int:flag_id>/make-up")
def record_make_up(flag_id: int):
    """The branch records its make-up lessons (补课)."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    on = _date(request.form.get("on", ""))
    return _attempt(lambda: flags.record_make_up(current_user, flag,
                                                 request.form.get("note", ""), on),
                    url_for("orgs.detail", org_id=flag.organisation_id),
                    f"已登记{flag.organisation.name}的补课情况")


@bp.post("/flags/<int:flag_id>/make-up-comment")
def comment_make_up(flag_id: int):
    """The supervision group comments on a recorded make-up."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    return _attempt(lambda: flags.comment_make_up(current_user, flag,
                                                  request.form.get("comment", "")),
                    url_for("orgs.detail", org_id=flag.organisation_id),
                    f"已提交对{flag.organisation.name}补课记录的意见")


@bp.post("/flags/<int:flag_id>/branch-decision")
def record_branch_decision(flag_id: int):
    """The branch records what follows for a member found 不合格."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    try:
        decision = BranchDecision(request.form.get("decision", ""))
    except ValueError:
        abort(400)
    return _attempt(lambda: flags.record_branch_decision(
        current_user, flag, decision, request.form.get("note", "")),
        url_for("orgs.detail", org_id=flag.organisation_id), f"已登记支部处理决定：{label(decision)}")


@bp.post("/flags/<int:flag_id>/carried-out")
def record_admonishment(flag_id: int):
    """The office records when and how a 集体诫勉 was carried out."""
    flag = scope.get_scoped(current_user, Flag, flag_id)
    on = _date(request.form.get("on", ""))
    return _attempt(lambda: flags.record_admonishment(current_user, flag, on,
                                                      request.form.get("note", "")),
                    url_for("dashboard.index"), f"已登记{flag.unit}集体诫勉的执行情况")


@bp.post("/rounds/<int:round_id>/verdict/confirm")
def confirm_verdict(round_id: int):
    """The office confirms a closed round's proposed verdict."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _attempt(lambda: flags.confirm_verdict(current_user, round_,
                                                  request.form.get("reason", "")),
                    url_for("rounds.detail", round_id=round_id),
                    f"已确认测评“{round_.title}”的结论")


@bp.post("/rounds/<int:round_id>/verdict/override")
def override_verdict(round_id: int):
    """The office overrides a closed round's proposed verdict, with a reason."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    choice = {"1": True, "0": False}.get(request.form.get("passed", ""))
    return _attempt(lambda: flags.override_verdict(current_user, round_,
                                                   request.form.get("reason", ""), choice),
                    url_for("rounds.detail", round_id=round_id),
                    f"已改定测评“{round_.title}”的结论")


@bp.post("/verdicts/confirm-passes")
def confirm_passes():
    """The office confirms the proposed passes ticked on the pending list."""
    raw = request.form.getlist("round")
    ids = [number for value in raw if (number := paging.whole(value)) is not None]
    if len(ids) != len(raw):
        ids.append(0)  # an id that is not a number refuses the lot, as an unknown one does
    return _attempt(lambda: flags.confirm_passes(current_user, ids,
                                                 request.form.get("reason", "")),
                    url_for("dashboard.index"), lambda n: f"已确认 {n} 项测评通过")


@bp.post("/orgs/<int:org_id>/transition")
def apply_transition(org_id: int):
    """The branch applies to leave its current stage."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    return _attempt(lambda: stages.apply(current_user, org, request.form.get("note", "")),
                    url_for("orgs.detail", org_id=org_id), f"已提交{org.name}的转段申请")


@bp.post("/transitions/<int:transition_id>/review")
def review_transition(transition_id: int):
    """Supervision agrees or objects, with its opinion (督导意见)."""
    item = scope.get_scoped(current_user, Transition, transition_id)
    agree = request.form.get("agree") == "1"
    return _attempt(lambda: stages.review(current_user, item, agree,
                                          request.form.get("review_opinion", "")),
                    url_for("orgs.detail", org_id=item.organisation_id),
                    "已同意转段申请" if agree else "已对转段申请提出异议")


@bp.post("/transitions/<int:transition_id>/decide")
def decide_transition(transition_id: int):
    """The office approves or returns a transition request."""
    item = scope.get_scoped(current_user, Transition, transition_id)
    approve = request.form.get("approve") == "1"
    return _attempt(lambda: stages.decide(current_user, item, approve,
                                          request.form.get("note", "")),
                    url_for("orgs.detail", org_id=item.organisation_id),
                    "已批准转段申请" if approve else "已退回转段申请")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
