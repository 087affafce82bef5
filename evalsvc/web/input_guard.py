"""One guard for every request: control characters in the path, a query or a form are refused.

A NUL reaching PostgreSQL was a 500 (see ``evalsvc.control_characters`` for what is refused
and why). Checking here, before any view runs, covers staff and respondent forms alike, and
fields a view reads without WTForms.
"""
from flask import Flask, abort, request

from evalsvc.control_characters import has_control

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
REFUSED = "提交的内容含有不可见的控制字符（如 NUL），请删除后重新提交"


def init_app(app: Flask) -> None:
    """Check every request before its view (and before the blueprints' own checks)."""
    app.before_request(refuse_control_characters)


def refuse_control_characters() -> None:
    """Abort with 400 when the path, a query parameter or a form field (name or value)
    holds a control character other than tab, CR and LF."""
    if has_control(request.path) or _any_control(request.args):
        abort(400, REFUSED)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in FORM_TYPES:
        # Keep the raw body: the respondent pages check its UTF-8 after this hook, and the
        # form is then parsed from this cached copy (bounded by MAX_CONTENT_LENGTH).
        request.get_data(cache=True)
        if _any_control(request.form):
            abort(400, REFUSED)


def _any_control(fields) -> bool:
    """Whether any name or value of a MultiDict holds a refused control character."""
    return any(has_control(key) or has_control(value)
               for key, value in fields.items(multi=True))
