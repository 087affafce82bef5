"""The live view of open rounds, and setting their planned close dates."""
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from evalsvc.models import Organisation, Role, Round
from evalsvc.services import org_tree, paging, planned_close, scope
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid
from evalsvc.services.live import LiveFilter, live_page
from evalsvc.services.today import now
from evalsvc.web.staff_forms import ConfirmForm

bp = Blueprint("live", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


def _filter_from(values) -> LiveFilter:
    """The batch and committee filter from query or form values; a committee outside the
    user's scope is a 404."""
    chosen = LiveFilter(paging.whole(values.get("batch")), paging.whole(values.get("parent")),
                        org_tree.search_text(values.get("q")))
    if chosen.parent_id is not None:
        scope.get_scoped(current_user, Organisation, chosen.parent_id)
    return chosen


def _filter_args(chosen: LiveFilter) -> dict[str, int | str]:
    """The filter as URL parameters (its own keys only)."""
    return {k: v for k, v in (("batch", chosen.batch), ("parent", chosen.parent_id),
                              ("q", chosen.search)) if v}


@bp.get("/live")
def index():
    """Every open round in scope: participation only, overdue first, refreshing itself.

    ``select=1`` (office) adds check boxes for setting planned close dates; the page then
    holds still so a half-made selection is not reloaded away. ``refresh=off`` pauses the
    refresh, as WCAG 2.2.1 asks of a page that reloads itself.
    """
    chosen = _filter_from(request.args)
    selecting = request.args.get("select") == "1" and current_user.role is Role.OFFICE
    paused = request.args.get("refresh") == "off"
    seconds = int(current_app.config["LIVE_REFRESH_SECONDS"])
    filter_args = _filter_args(chosen)
    campaign = current_campaign()
    html = render_template(
        "live/index.html", chosen=chosen, filter_args=filter_args,
        live=live_page(current_user, chosen, request.args.get("page", 1, type=int)),
        page_args={**filter_args, **({"select": 1} if selecting else {}),
                   **({"refresh": "off"} if paused else {})},
        batches=campaign.batches if campaign else [], committees=_committees(chosen),
        selecting=selecting, paused=paused, refresh_seconds=seconds, updated_at=now(),
        may_plan=current_user.role is Role.OFFICE, confirm=ConfirmForm())
    response = current_app.make_response(html)
    if not (selecting or paused):
        # The HTTP form of <meta http-equiv="refresh">: same behaviour, no script, CSP intact.
        response.headers["Refresh"] = str(seconds)
    return response


def _committees(chosen: LiveFilter):
    """The 党委 in scope to filter by, a supervisor's own organisations, and the one chosen
    (a secretary has one branch: none). Not every 总支: a province has thousands; one is
    chosen from the organisation tree or the dashboard."""
    if current_user.role is Role.SECRETARY:
        return []
    return scope.filter_parents(current_user, chosen.parent_id)


@bp.post("/live/planned-close")
def plan_bulk():
    """Set the planned close date of the selected rounds, or of every open round the
    filter matches (office only)."""
    chosen = _filter_from(request.form)
    try:
        day = planned_close.parse_day(request.form.get("planned_close_on"))
        if request.form.get("target") == "matching":
            done = planned_close.plan_matching(current_user, chosen, day)
        else:
            done = planned_close.plan_rounds(current_user, _ids(request.form), day)
    except Invalid as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("live.index", select=1, **_filter_args(chosen)))
    _report(done, day)
    return redirect(url_for("live.index", **_filter_args(chosen)))


def _ids(form) -> list[int]:
    """The ticked round ids; anything but digits is a tampered form."""
    values = form.getlist("round")
    if not all(v.isdigit() for v in values):
        raise Invalid({"rounds": "所选测评无效，请刷新页面后重试"})
    return [int(v) for v in values]


@bp.post("/rounds/<int:round_id>/planned-close")
def plan_round(round_id: int):
    """Set one round's planned close date from its page (office only)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    try:
        day = planned_close.parse_day(request.form.get("planned_close_on"))
        done = planned_close.plan_rounds(current_user, [round_.id], day)
    except Invalid as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        _report(done, day)
    return redirect(url_for("rounds.detail", round_id=round_id))


def _report(done: planned_close.Planned, day) -> None:
    """Flash what was set, and what was skipped because it had closed."""
    flash(f"已为 {done.updated} 项测评设置计划结束日期 {day.isoformat()}", "ok")
    if done.skipped:
        flash(f"以下测评已结束，未设置：{'、'.join(done.skipped)}", "error")
