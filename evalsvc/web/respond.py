"""The respondent's pages: scan a card or a poster, answer, get a receipt. No login."""
from flask import Blueprint, abort, current_app, make_response, redirect, request, \
    url_for
from urllib.parse import unquote_to_bytes

from itsdangerous import BadSignature, URLSafeSerializer

from evalsvc import ratelimit
from evalsvc.kinds import get_kind
from evalsvc.kinds.base import Settings
from evalsvc.extensions import csrf
from evalsvc.models import RoundState
from evalsvc.questionnaires import definition_at
from evalsvc.services import ballots, codes, rounds
from evalsvc.services.ballots import RoundView

bp = Blueprint("respond", __name__)
csrf.exempt(bp)  # no session here: the card code (or poster token) is the credential

NOT_OPEN = {
    RoundState.DRAFT: ("测评尚未开始", "本次测评还没有开始，请在测评开始后再扫码。"),
    RoundState.CLOSED: ("测评已经结束", "本次测评已经结束，感谢您的关注。"),
}
SPENT = ("此二维码已使用", "每张测评卡只能使用一次，这张卡已经提交过测评。")
UNKNOWN = ("二维码无效", "没有找到这张测评卡，请核对二维码或代码。")
FULL = ("名额已满", "本次公开测评的票数已达上限，感谢您的参与。")
TOO_MANY = ("尝试次数过多", "请稍后再试。如果测评卡无法使用，请联系发卡的工作人员。")
VOTED = ("您已参加过本次测评", "每台手机只能参加一次本次公开测评。")


@bp.before_request
def _check_body() -> None:
    """Ballots arrive URL-encoded and in valid UTF-8; anything else is refused untouched."""
    if request.method != "POST":
        return
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415, "请通过测评页面提交")
    raw = request.get_data(cache=True)  # the form is parsed from this cached copy later
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "提交的内容编码无效")


def respondent_page(template: str, **context) -> str:
    """A respondent's page, rendered without the app's context processors: nothing of the
    staff's (the signed-in user, a CSRF token, the campaign's name) belongs on it, and
    loading them was a tenth of a ballot's CPU in the hall rush (bench/RESULTS.md). The
    respondent templates use only ``url_for`` and what they are given."""
    return current_app.jinja_env.get_template(template).render(**context)


def _message(title_text: tuple[str, str], status: int, receipt: str | None = None):
    title, text = title_text
    return respondent_page("respond/message.html", title=title, text=text,
                           receipt=receipt), status


@bp.route("/c", methods=["GET", "POST"])
def enter_code():
    """Type the code printed under the QR (for phones that cannot scan)."""
    typed = request.form.get("code", "") if request.method == "POST" else ""
    if request.method == "POST":
        code = codes.normalise_code(typed)
        if code:
            return redirect(url_for("respond.card", code=code), code=303)
    error = None
    if typed:
        unprinted = codes.unprinted_characters(typed)
        error = (f"测评卡代码里没有 {'、'.join(unprinted)}（代码不含 0、1 和字母 O、I、L、U、V），"
                 "请对照卡片核对后重新输入" if unprinted else
                 "代码应为 12 位字母和数字（旧卡为 26 位），请核对后重新输入")
    return respondent_page("respond/enter_code.html", typed=typed, error=error), \
        (422 if error else 200)


@bp.route("/C/<code>", methods=["GET", "POST"])
@bp.route("/c/<code>", methods=["GET", "POST"])
def card(code: str):
    """A card's ballot: show it, or take the answers."""
    client = request.remote_addr or "-"
    if ratelimit.exceeded("card", client, "CARD_GUESS_LIMIT", count_it=False):
        return _message(TOO_MANY, 429)
    code = codes.normalise_code(code)
    with ballots.connection() as conn:  # one checkout for the lookup and the write
        return _card(code, client, conn)


def _card(code: str, client: str, conn):
    found = ballots.find_card(code, conn) if code else None
    if found is None:
        ratelimit.exceeded("card", client, "CARD_GUESS_LIMIT")  # only misses count
        # Not a dead end: the code as typed (or scanned), in a box to correct it.
        return respondent_page("respond/enter_code.html", typed=request.view_args["code"],
                               title=UNKNOWN[0],
                               error=UNKNOWN[1] + "如有输错，请在下面改正后重新打开。"), 404
    round_ = found.round
    if request.method == "GET":
        if round_.state is not RoundState.OPEN:
            return _message(NOT_OPEN[round_.state], 409)
        if found.spent:
            return _message(SPENT, 409)
        return _ballot_page(round_)
    if found.spent:  # a resubmitted page gets its receipt again; anything else is refused
        receipt = codes.receipt_code(current_app.config["SECRET_KEY"], round_.id, code,
                                     request.form.get("nonce", ""))
        if round_.state is RoundState.OPEN and ballots.receipt_exists(receipt, conn):
            return _thanks(round_, receipt)
        return _message(SPENT, 409)
    return _submit(round_, lambda rows: ballots.cast_card_ballot(
        round_.id, code, request.form["nonce"], rows, conn))


@bp.route("/p/<token>", methods=["GET", "POST"])
@bp.route("/P/<token>", methods=["GET", "POST"])
def poster(token: str):
    """An open poster's ballot: one per device, within the cap."""
    round_ = ballots.find_poster(token)
    if round_ is None:
        return _message(UNKNOWN, 404)
    if round_.state is not RoundState.OPEN:
        return _message(NOT_OPEN[round_.state], 409)
    earlier = _device_receipt(round_)
    if earlier:
        return _message(VOTED, 409, receipt=codes.display_receipt(earlier))
    if request.method == "GET":
        return _ballot_page(round_)
    if ratelimit.exceeded("poster", request.remote_addr or "-", "POSTER_IP_LIMIT"):
        return _message(TOO_MANY, 429)
    return _submit(round_, lambda rows: ballots.cast_poster_ballot(
        round_.id, request.form["nonce"], rows))


def _ballot_page(round_: RoundView, form=None, errors=None, status: int = 200):
    layout = rounds.layout(round_)
    kind = get_kind(round_.kind)
    form = form or kind.form(layout, None, current_app.config["FREE_TEXT_LIMIT"])
    intro = definition_at(round_.definition_name, round_.definition_version).intro
    return respondent_page("respond/ballot.html", round=round_, layout=layout, form=form,
                           intro=intro,
                           errors=errors or {}, nonce=request.form.get("nonce")
                           or codes.new_nonce()), status


def _submit(round_: RoundView, cast):
    """Validate, then store through ``cast``; answers are kept on any refusal."""
    if round_.state is not RoundState.OPEN:  # cast checks again, inside its transaction
        return _message(NOT_OPEN[round_.state], 409)
    layout = rounds.layout(round_)
    _refuse_malformed(layout)
    kind = get_kind(round_.kind)
    settings = Settings(excellent_cap=round_.excellent_cap, kind=kind.resolve_settings(
        (round_.campaign_kind_settings or {}).get(round_.kind)))
    submission = kind.validate(layout, request.form, current_app.config["FREE_TEXT_LIMIT"],
                               settings)
    if not submission.ok:
        return _ballot_page(round_, submission.form, submission.errors, 422)
    try:
        accepted = cast(submission.answers)
    except ballots.Refused as refused:
        if refused.reason == "not_open":
            return _message(NOT_OPEN.get(refused.state, NOT_OPEN[RoundState.CLOSED]), 409)
        return _message(SPENT if refused.reason == "spent" else FULL, 409)
    response = _thanks(round_, accepted.receipt)
    if request.endpoint == "respond.poster":
        _remember_device(response, round_, accepted.receipt)
    return response


def _thanks(round_: RoundView, receipt: str):
    return make_response(respondent_page("respond/thanks.html", round=round_,
                                         receipt=codes.display_receipt(receipt)))


def _refuse_malformed(layout) -> None:
    """Unknown or repeated fields, or a missing page value: 400."""
    allowed = {q.key: q.type for q in layout}
    if not codes.is_nonce(request.form.get("nonce", "")):
        abort(400, "页面已失效，请重新扫码打开测评页面")
    for key in request.form:
        values = request.form.getlist(key)
        if key != "nonce" and key not in allowed:
            abort(400, "提交的内容中含有无法识别的项目")
        if len(values) > 1 and allowed.get(key) != "multi":
            abort(400, "提交的内容中有重复的项目")


def _device_cookie(round_: RoundView) -> str:
    return f"evalsvc_poster_{round_.id}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="evalsvc-poster-device")


def _device_receipt(round_: RoundView) -> str | None:
    """The receipt this device got for this poster round, if it has voted."""
    raw = request.cookies.get(_device_cookie(round_))
    if not raw:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    return data.get("receipt") if data.get("round") == round_.id else None


def _remember_device(response, round_: RoundView, receipt: str) -> None:
    response.set_cookie(_device_cookie(round_),
                        _serializer().dumps({"round": round_.id, "receipt": receipt}),
                        max_age=180 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/")
