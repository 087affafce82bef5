"""公示: an organisation's public page, without login. Unknown and withdrawn tokens get the
same bare 404."""
from flask import Blueprint, abort, render_template

from evalsvc.services import public_pages
from evalsvc.services.today import today

bp = Blueprint("public", __name__)


@bp.get("/g/<token>")
def page(token: str):
    """The approved plan with each item's progress, and the published results."""
    shown = public_pages.view(token) if len(token) <= 32 else None
    if shown is None:
        abort(404)
    return render_template("public/page.html", view=shown, today=today())
