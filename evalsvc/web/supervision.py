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


def _done(action, round_id: int):
    attempt(action)
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/purge")
def purge(round_id: int):
    """Purge a rehearsal's ballots before the live run."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _done(lambda: rehearsal.purge(current_user, round_), round_id)


@bp.post("/rounds/<int:round_id>/publish-receipts")
def publish_receipts(round_id: int):
    """Publish a closed round's receipt list."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _done(lambda: receipts.publish(current_user, round_), round_id)


@bp.post("/rounds/<int:round_id>/opinions")
def round_opinion(round_id: int):
    """A supervision opinion on a round."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    return _done(lambda: opinions.write(current_user, round_.organisation_id,
                                        request.form.get("text", ""), round_), round_id)


@bp.post("/orgs/<int:org_id>/opinions")
def org_opinion(org_id: int):
    """A supervision opinion on a branch."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    attempt(lambda: opinions.write(current_user, org.id, request.form.get("text", "")))
    return redirect(url_for("orgs.detail", org_id=org_id))
