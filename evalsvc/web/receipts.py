"""Public receipt pages: check a receipt, read a published receipt list. No login."""
from flask import Blueprint, render_template, request

from evalsvc import ratelimit
from evalsvc.extensions import csrf
from evalsvc.services import codes, receipts
from evalsvc.services.errors import OutOfScope

bp = Blueprint("receipts", __name__)
csrf.exempt(bp)


@bp.route("/receipt", methods=["GET", "POST"])
def check():
    """Type a receipt code; learn whether it was counted, and in which round."""
    typed = request.form.get("code", "") if request.method == "POST" else ""
    client = request.remote_addr or "-"
    if typed and ratelimit.exceeded("receipt", client, "RECEIPT_GUESS_LIMIT", count_it=False):
        return render_template("respond/receipt.html", typed=typed, status=None, code="",
                               error="尝试次数过多，请稍后再试"), 429
    code = codes.normalise_receipt(typed) if typed else None
    status = receipts.lookup(code) if code else None
    if code and status is None:
        ratelimit.exceeded("receipt", client, "RECEIPT_GUESS_LIMIT")
    error = None
    if typed and code is None:
        error = "回执码应为 12 位字母和数字（如 ABCD-EFGH-JKLM），请核对后重新输入"
    elif typed and status is None:
        error = "没有找到这个回执码。请核对输入；如果测评是演练，演练答卷可能已被清除。"
    return render_template("respond/receipt.html", typed=typed, status=status, error=error,
                           code=codes.display_receipt(code) if code else ""), \
        (200 if not error else 404 if code else 422)


@bp.get("/receipts/<int:round_id>")
def published(round_id: int):
    """A closed round's published receipt list: codes only."""
    found = receipts.published_list(round_id)
    if found is None:
        raise OutOfScope(f"receipts of round {round_id}")
    round_, codes_ = found
    return render_template("respond/receipt_list.html", round=round_,
                           codes=[codes.display_receipt(c) for c in codes_])
