"""One guard for every request: control characters in the path, a query or a form are refused.

PostgreSQL cannot store a NUL in text (the driver raises, which was a 500), and the other C0
controls have no business in a name, a title or an opinion: a spreadsheet or PDF drops or
chokes on them later. Tab, carriage return and newline stay allowed, for multi-line text.
Checking here, before any view runs, covers staff and respondent forms alike, and fields a
view reads without WTForms.
"""
import re

from flask import Flask, abort, request

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character that is refused."""
    return CONTROL.search(text) is not None


def _any_control(fields) -> bool:
    """Whether any name or value of a MultiDict holds a refused control character."""
    return any(has_control(key) or has_control(value)
               for key, value in fields.items(multi=True))
