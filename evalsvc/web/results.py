"""A closed round's results: charts and exports. While a round is open, none of this exists."""
from flask import Blueprint, Response
from flask_login import current_user, login_required

from evalsvc.models import Round
from evalsvc.services import audit, results, scope
from evalsvc.services.errors import OutOfScope
from evalsvc.web.exports import chart_directory, round_response

bp = Blueprint("results", __name__)
MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


def _closed_result(round_id: int):
    round_ = scope.get_scoped(current_user, Round, round_id)
    result = results.result_of(round_)
    if result is None:  # open rounds show participation only
        raise OutOfScope(f"results of round {round_id}")
    return round_, result


@bp.get("/rounds/<int:round_id>/charts/<name>.<fmt>")
def chart(round_id: int, name: str, fmt: str):
    """A chart of a closed round, rendered once and then served from the cache."""
    from evalsvc.render.chart_cache import cached_chart

    round_, result = _closed_result(round_id)
    try:
        data = cached_chart(chart_directory(), result, name, fmt, round_.digest or "unsealed")
    except ValueError:
        raise OutOfScope(f"chart {name}.{fmt}") from None
    audit.record_action(current_user, "round.chart", round_, chart=name, format=fmt)
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/rounds/<int:round_id>/results.<fmt>")
def export(round_id: int, fmt: str):
    """A closed round's results as XLSX (with charts) or CSV."""
    round_, result = _closed_result(round_id)
    response = round_response(round_, result, fmt)
    audit.record_action(current_user, "round.export", round_, format=fmt)
    return response
