"""Staff pages for rounds: create, open, close, print cards and posters, watch participation."""
import io

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from evalsvc.definitions import Definition
from evalsvc.kinds import get_kind, registry
from evalsvc.kinds.base import MemberRef
from evalsvc.models import GroupCode, Organisation, Role, Round, RoundState, Stage
from evalsvc.questionnaires import definition, definition_at, definitions, for_campaign
from evalsvc.services.campaigns import current_campaign
from evalsvc.render.charts import available_charts
from evalsvc.services import (
    closing,
    codes,
    flags,
    jobs,
    opinions,
    paging,
    paper,
    plans,
    printing,
    results,
    round_list,
    rounds,
    scope,
)
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.web.form_errors import attach_errors, attempt
from evalsvc.web.jobs import started
from evalsvc.web.staff_forms import ConfirmForm, RoundForm, options

bp = Blueprint("rounds", __name__)
SAMPLE_MEMBERS = (MemberRef(1, "党员甲"), MemberRef(2, "党员乙"), MemberRef(3, "党员丙"))


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here is for staff."""


@bp.get("/rounds")
def index():
    """Rounds in the user's scope, a page at a time, filtered and searched."""
    kinds = registry()
    chosen = round_list.parse_filter(request.args, kinds)
    page = round_list.rounds_page(current_user, chosen,
                                  paging.page_number(request.args.get("page")))
    return render_template("rounds/index.html", page=page, rounds=page.items, chosen=chosen,
                           filter_args=chosen.args(), kinds=kinds,
                           states=list(RoundState))


@bp.route("/orgs/<int:org_id>/rounds/new", methods=["GET", "POST"])
def create(org_id: int):
    """Create a round for a branch (office, or the branch's secretary)."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    scope.require_writer(current_user, org.id)
    form = RoundForm(stage=org.current_stage.value)
    form.kind.choices = options((k.name, k.label) for k in registry().values())
    form.definition_name.choices = options(
        [("", "（按类型和阶段自动选择）")] +
        [(d.name, f"{d.title}（{d.name}）") for d in for_campaign(current_campaign())])
    _offer_plan_items(form, org.id)
    if form.validate_on_submit():
        try:
            round_ = rounds.create_round(current_user, _round_data(org.id, form))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("rounds.detail", round_id=round_.id))
    return render_template("rounds/form.html", form=form, org=org)


def _offer_plan_items(form: RoundForm, org_id: int) -> None:
    """One checkbox per item of the approved 整改方案 (all ticked at first); no field when
    the organisation has no approved plan."""
    items = plans.approved_items(org_id)
    if not items:
        del form.plan_item_ids
        return
    form.plan_item_ids.choices = options((i.id, i.problem) for i in items)
    if request.method == "GET":
        form.plan_item_ids.data = [i.id for i in items]


def _round_data(org_id: int, form: RoundForm) -> rounds.RoundData:
    return rounds.RoundData(
        organisation_id=org_id, kind=form.kind.data, stage=Stage(form.stage.data),
        definition_name=form.definition_name.data or None, title=form.title.data or "",
        attempt=form.attempt.data,
        groups={GroupCode.MEMBER: form.member_cards.data or 0,
                GroupCode.MASSES: form.masses_cards.data or 0,
                GroupCode.SERVICE: form.service_cards.data or 0},
        poster=form.poster.data, poster_cap=form.poster_cap.data if form.poster.data else None,
        rehearsal=form.rehearsal.data,
        plan_item_ids=tuple(form.plan_item_ids.data or ()) if "plan_item_ids" in form else (),
    )


@bp.get("/rounds/<int:round_id>")
def detail(round_id: int):
    """A round: its state and, while open, participation per group only."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    result = results.result_of(round_)
    return render_template(
        "rounds/detail.html", round=round_, participation=rounds.participation(round_),
        result=result, channels=results.channel_counts(round_), charts=available_charts(result) if result else [],
        flags=[f for f in flags.flags_for({round_.organisation_id}) if f.round_id == round_.id],
        round_opinions=opinions.for_round(round_.id),
        kind=get_kind(round_.kind), may_manage=_may_manage(round_), confirm=ConfirmForm(),
        may_print=printing.may_print(current_user, round_),
        paper_waiting=paper.waiting_count(round_) if round_.state.value == "open" else 0,
        printings=printing.printings(round_), extra_items=rounds.extra_items(round_),
        # The poster's URL is a credential like the printed poster: only for who may print it.
        poster_url=codes.poster_url(current_app.config["PUBLIC_URL"], round_.poster_token)
        if round_.is_poster and printing.may_print(current_user, round_) else None)


def _may_manage(round_) -> bool:
    return current_user.role is not Role.SUPERVISOR


def _managed_round(round_id: int):
    round_ = scope.get_scoped(current_user, Round, round_id)
    scope.require_writer(current_user, round_.organisation_id)
    return round_


@bp.post("/rounds/<int:round_id>/open")
def open_(round_id: int):
    """Open a draft round (outside its batch's window: the office, with a reason)."""
    reason = request.form.get("window_override", "")
    round_ = _managed_round(round_id)
    attempt(lambda: rounds.open_round(current_user, round_, reason),
            f"已开始测评“{round_.title}”")
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/close")
def close(round_id: int):
    """Close an open round, once the person confirmed it naming the ballots it holds: the
    first post (the detail page's button) shows the confirmation page; only a post carrying
    the current ballot count closes it, so a stale or forged click does nothing."""
    round_ = _managed_round(round_id)
    count = rounds.ballot_count(round_.id)
    # Only a round that can be closed asks; any other is refused below, in Chinese.
    if round_.state is RoundState.OPEN and request.form.get("confirmed") != str(count):
        return confirm_page(round_, "结束测评", url_for("rounds.close", round_id=round_id),
                            count, "结束后答卷将被打乱顺序并封存，不能再提交，也不能重新开始。")
    title = round_.title
    if round_.state is RoundState.OPEN and jobs.is_long("JOB_CLOSE_BALLOTS", count):
        job = jobs.submit(current_user, "round.close", f"结束测评“{title}”（{count} 份答卷）",
                          {"round_id": round_.id})
        return started(job)
    attempt(lambda: closing.close_round(current_user, round_),
            lambda _r: f"已结束测评“{title}”，共收回 {count} 份")
    return redirect(url_for("rounds.detail", round_id=round_id))


def confirm_page(round_, action: str, target: str, count: int, warning: str):
    """Ask before an irreversible step, naming the round and its ballots."""
    return render_template("rounds/confirm.html", round=round_, action=action, target=target,
                           count=count, warning=warning, confirm=ConfirmForm())


@bp.get("/rounds/<int:round_id>/cards.pdf")
def cards_pdf(round_id: int):
    """Every card of the round, in a fresh random order, as a printable A4 PDF."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    buffer = io.BytesIO()
    printing.card_pdf(current_user, round_, buffer)
    warning = printing.loopback_warning()
    if warning:
        flash(warning, "error")
    return _pdf(buffer, f"round-{round_.id}-cards.pdf")


@bp.get("/rounds/<int:round_id>/poster.pdf")
def poster_pdf(round_id: int):
    """The open poster of the round as an A4 PDF."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    buffer = io.BytesIO()
    printing.poster_pdf(current_user, round_, buffer)
    return _pdf(buffer, f"round-{round_.id}-poster.pdf")


@bp.post("/rounds/<int:round_id>/print-delegation")
def print_delegation(round_id: int):
    """The office lets the branch print this round's cards and poster, or takes it back."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        printing.set_delegation(current_user, round_, request.form.get("delegated") == "1")
    return redirect(url_for("rounds.detail", round_id=round_id))


def _pdf(buffer: io.BytesIO, name: str):
    buffer.seek(0)
    response = send_file(buffer, mimetype="application/pdf", download_name=name)
    response.headers["Cache-Control"] = "no-store"  # cards carry codes
    return response


@bp.get("/rounds/<int:round_id>/preview")
def preview_round(round_id: int):
    """The round's ballot exactly as a respondent will see it (nothing is submitted)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    chosen = definition_at(round_.definition_name, round_.definition_version)
    return render_preview(round_.title, chosen, rounds.layout(round_), round_.is_poster)


@bp.get("/definitions")
def definitions_index():
    """Every questionnaire definition, with a preview link."""
    return render_template("rounds/definitions.html", definitions=definitions().values(),
                           kinds=registry())


@bp.get("/definitions/<name>/preview")
def preview_definition(name: str):
    """A definition laid out as a respondent sees it (sample members for 民主评议)."""
    chosen = definition(name)
    if chosen is None:
        raise OutOfScope(f"definition {name}")
    layout = get_kind(chosen.kind).layout(chosen, SAMPLE_MEMBERS)
    return render_preview(chosen.title, chosen, layout, False)


def render_preview(title: str, chosen: Definition, layout, is_poster: bool, note: str = ""):
    """The respondent's ballot page, marked 预览 and with its submit button disabled."""
    kind = get_kind(chosen.kind)
    form = kind.form(layout, None, current_app.config["FREE_TEXT_LIMIT"])
    return render_template("respond/ballot.html", round={"title": title, "is_poster": is_poster},
                           layout=layout, form=form, errors={}, intro=chosen.intro,
                           nonce="preview", preview=True, preview_note=note)


