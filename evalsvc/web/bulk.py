"""Staff pages for rounds in bulk (office only): a form, a preview, the action; batch cards."""
import io
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
from evalsvc.models import Batch, GroupCode, Organisation, OrgType, Role, Stage
from evalsvc.services import bulk_rounds, planned_close, printing, rounds
from evalsvc.services.bulk_rounds import Selection
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid, OutOfScope
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


@bp.post("/rounds/bulk/run")
def run():
    """Do it; say how many rounds, and which branches were refused and why."""
    form, outcome = _outcome(dry_run=False)
    if outcome is None:
        return render_template("rounds/bulk.html", form=form), 422
    verb = VERBS[form.action.data]
    flash(f"{_selection(form).describe()}：{outcome.summary(verb)}",
          "ok" if outcome.done else "error")
    for name, reason in outcome.refused:
        flash(f"未{verb}：{name}：{reason}", "error")
    return redirect(url_for("rounds.index"))


@bp.post("/rounds/bulk/cards.pdf")
def cards():
    """One PDF of the cards of the selection's open rounds (audited per round)."""
    form = _form()
    if not form.validate_on_submit():
        return render_template("rounds/bulk.html", form=form), 422
    chosen = _selection(form)
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
