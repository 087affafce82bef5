"""Staff pages for rounds in bulk (office only): a form, a preview, the action; batch cards."""
import io
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.kinds import registry
from evalsvc.models import Batch, GroupCode, Organisation, OrgType, Role, RoundState, Stage
from evalsvc.services import bulk_rounds, job_work, jobs, planned_close, printing, rounds
from evalsvc.services.bulk_rounds import Selection
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.web.jobs import started
from evalsvc.web.staff_forms import BulkForm, options

bp = Blueprint("bulk", __name__)
VERBS = {"create": "创建", "open": "开始", "close": "结束"}


@bp.before_request
@login_required
def _office_only() -> None:
    """Bulk actions and batch printing are the office's."""
    if current_user.role is not Role.OFFICE:
        abort(404)


def _form() -> BulkForm:
    form = BulkForm()
    campaign = current_campaign()
    batches = db.session.scalars(sa.select(Batch).where(
        Batch.campaign_id == (campaign.id if campaign else -1)).order_by(Batch.number))
    form.batch.choices = options([("", "（不按批次）")] +
                                 [(b.number, f"第{b.number}批次：{b.name}") for b in batches])
    orgs = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.code)))
    form.under.choices = options([("", "（不按上级组织）")] + [
        (o.code, f"{o.code} {o.name}") for o in orgs if o.type is not OrgType.BRANCH])
    form.branch_ids.choices = options(
        (o.id, f"{o.code} {o.name}") for o in orgs if o.type is OrgType.BRANCH)
    form.kind.choices = options((k.name, k.label) for k in registry().values())
    return form


def _selection(form: BulkForm) -> Selection:
    """Every scope the form names: more than one is refused (services/bulk_rounds)."""
    return Selection(batch=form.batch.data, under=form.under.data or None,
                     org_ids=tuple(form.branch_ids.data or ()))


def _template(form: BulkForm) -> rounds.RoundData:
    groups = {GroupCode.MASSES: form.masses_cards.data or 0,
              GroupCode.SERVICE: form.service_cards.data or 0}
    if form.member_cards.data is not None:
        groups[GroupCode.MEMBER] = form.member_cards.data
    return rounds.RoundData(0, form.kind.data, Stage(form.stage.data), groups)


def _planned_close(form: BulkForm) -> date | None:
    """The planned close date asked for (checked now, so the preview refuses it too)."""
    if not form.planned_close_on.data:
        return None
    day = planned_close.parse_day(form.planned_close_on.data)
    planned_close.check_day(day)
    return day


@bp.get("/rounds/bulk")
def start():
    """The bulk form, and the batch card button."""
    return render_template("rounds/bulk.html", form=_form(),
                           warning=printing.loopback_warning())


def _outcome(dry_run: bool):
    """Validate the form and run the action (or its preview): (form, outcome or None)."""
    form = _form()
    if not form.validate_on_submit():
        return form, None
    action, chosen = form.action.data, _selection(form)
    reason = form.window_override.data or ""
    try:
        day = _planned_close(form)
        if action == "create" and dry_run:
            return form, bulk_rounds.preview_create(chosen, _template(form))
        if action == "create":
            return form, bulk_rounds.create_rounds(current_user, chosen, _template(form), day)
        if action == "open":
            return form, (bulk_rounds.plan_open(current_user, chosen, reason) if dry_run
                          else bulk_rounds.open_rounds(current_user, chosen, reason, day))
        return form, (bulk_rounds.plan_close(chosen) if dry_run
                      else bulk_rounds.close_rounds(current_user, chosen))
    except Invalid as exc:
        form.form_errors.extend(exc.errors.values())
        return form, None


@bp.post("/rounds/bulk/preview")
def preview():
    """What the action would do, per branch, and what the rules refuse and why."""
    form, outcome = _outcome(dry_run=True)
    if outcome is None:
        return render_template("rounds/bulk.html", form=form), 422
    fields = [(k, v) for k, values in request.form.lists() if k != "csrf_token" for v in values]
    action = form.action.data
    return render_template("rounds/bulk_preview.html", outcome=outcome, action=action,
                           verb=VERBS[action], selection=_selection(form).describe(),
                           fields=fields, form=form, kinds=registry())


def _as_job(form: BulkForm, kind: str, setting: str, size: Callable[[], int], title: str,
            params: Callable[[], dict]):
    """Hand a valid request over ``setting``'s size to a job; None: do it here (a small
    one, or one the form or the rules refuse, which the request then explains)."""
    if not form.validate_on_submit():
        return None
    try:
        if not jobs.is_long(setting, size()):
            return None
        values = params()
    except Invalid:
        return None
    return jobs.submit(current_user, kind, title, values)


def _bulk_params(form: BulkForm) -> dict:
    day = _planned_close(form)
    return {"action": form.action.data, "selection": job_work.selection_params(_selection(form)),
            "template": job_work.template_params(_template(form))
            if form.action.data == "create" else None,
            "reason": form.window_override.data or "", "day": day.isoformat() if day else None}


@bp.post("/rounds/bulk/run")
def run():
    """Do it; say how many rounds, and which branches were refused and why. Over many
    branches (JOB_BULK_BRANCHES) it runs as a job, and its page says the same."""
    form = _form()
    job = _as_job(form, "bulk.run", "JOB_BULK_BRANCHES",
                  lambda: len(bulk_rounds.branches(_selection(form))),
                  f"批量{VERBS.get(form.action.data, '')}测评（{_selection(form).describe()}）",
                  lambda: _bulk_params(form))
    if job is not None:
        return started(job)
    form, outcome = _outcome(dry_run=False)
    if outcome is None:
        return render_template("rounds/bulk.html", form=form), 422
    verb = VERBS[form.action.data]
    flash(f"{_selection(form).describe()}：{outcome.summary(verb)}",
          "ok" if outcome.done else "error")
    for name, reason in outcome.refused:
        flash(f"未{verb}：{name}：{reason}", "error")
    return redirect(url_for("rounds.index"))


def _cards_in(chosen: Selection) -> int:
    return sum(g.card_count for r in bulk_rounds.rounds_in(chosen, RoundState.OPEN)
               for g in r.groups)


@bp.post("/rounds/bulk/cards.pdf")
def cards():
    """One PDF of the cards of the selection's open rounds (audited per round)."""
    form = _form()
    if not form.validate_on_submit():
        return render_template("rounds/bulk.html", form=form), 422
    chosen = _selection(form)
    job = _as_job(form, "cards.batch", "JOB_BATCH_CARDS", lambda: _cards_in(chosen),
                  f"批量打印测评卡（{chosen.describe()}）",
                  lambda: {"selection": job_work.selection_params(chosen)})
    if job is not None:
        return started(job)
    buffer = io.BytesIO()
    try:
        printing.batch_card_pdf(current_user, chosen, buffer)
    except Invalid as exc:
        form.form_errors.extend(exc.errors.values())
        return render_template("rounds/bulk.html", form=form), 422
    except OutOfScope:
        form.form_errors.append(f"{chosen.describe()}没有进行中的测评，无卡可印")
        return render_template("rounds/bulk.html", form=form), 422
    warning = printing.loopback_warning()
    if warning:
        flash(warning, "error")
    buffer.seek(0)
    response = send_file(buffer, mimetype="application/pdf", download_name="batch-cards.pdf")
    response.headers["Cache-Control"] = "no-store"  # cards carry codes
    return response
