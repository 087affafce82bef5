"""The web layer: blueprints that parse requests, call services and render."""
from flask import Flask, render_template

from evalsvc.services.errors import Forbidden, OutOfScope


def init_app(app: Flask) -> None:
    """Register every blueprint and the error pages."""
    from evalsvc.web import auth, orgs, users

    auth.init_app(app)
    app.register_blueprint(orgs.bp)
    app.register_blueprint(users.bp)
    app.register_error_handler(OutOfScope, _not_found)
    app.register_error_handler(Forbidden, _forbidden)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)


def _not_found(_exc: Exception):
    return render_template("error.html", code=404), 404


def _forbidden(_exc: Exception):
    return render_template("error.html", code=403), 403


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    return render_template("error.html", code=code), code
