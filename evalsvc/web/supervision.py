"""Checking rounds: verify a seal, write supervision opinions, purge rehearsals, publish
receipt lists."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.models import Organisation, Round
from evalsvc.services import opinions, receipts, rehearsal, scope, verification
from evalsvc.web.form_errors import attempt

bp = Blueprint("supervision", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


@bp.post("/rounds/<int:round_id>/verify")
def verify(round_id: int):
    """Recount the stored ballots and recompute the seal (any staff in scope)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    outcome = verification.verify_and_record(current_user, round_)
    return render_template("rounds/verify.html", round=round_, outcome=outcome)


def _done(action, round_id: int, done):
    attempt(action, done)
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/purge")
def purge(round_id: int):
    """Purge a rehearsal's ballots before the live run, once confirmed with the ballot count
    (as closing is: the server requires it, not a script)."""
    from evalsvc.services.rounds import ballot_count
    from evalsvc.web.rounds import confirm_page

    round_ = scope.get_scoped(current_user, Round, round_id)
    count = ballot_count(round_.id)
    # Only a rehearsal asks; a live round is refused below, in Chinese.
    if round_.rehearsal and request.form.get("confirmed") != str(count):
        return confirm_page(round_, "清除演练数据", url_for("supervision.purge",
                                                             round_id=round_id), count,
                            "清除后演练答卷和回执全部删除，测评卡重新生成（已印发的演练测评卡作废），"
                            "测评转为正式测评的草稿。")
    title = round_.title
    return _done(lambda: rehearsal.purge(current_user, round_), round_id,
                 lambda n: f"已清除演练“{title}”的 {n} 份答卷，测评卡已重新生成")


@bp.post("/rounds/<int:round_id>/publish-receipts")
def publish_receipts(round_id: int):
    """Publish a closed round's receipt list."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _done(lambda: receipts.publish(current_user, round_), round_id,
                 f"已公布测评“{round_.title}”的回执列表")


@bp.post("/rounds/<int:round_id>/opinions")
def round_opinion(round_id: int):
    """A supervision opinion on a round."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _done(lambda: opinions.write(current_user, round_.organisation_id,
                                        request.form.get("text", ""), round_), round_id,
                 f"已提交对测评“{round_.title}”的督导意见")


@bp.post("/orgs/<int:org_id>/opinions")
def org_opinion(org_id: int):
    """A supervision opinion on a branch."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    attempt(lambda: opinions.write(current_user, org.id, request.form.get("text", "")),
            f"已提交对{org.name}的督导意见")
    return redirect(url_for("orgs.detail", org_id=org_id))
