"""evalsvc: anonymous, QR-linked questionnaires for party-organisation campaigns."""
import os
from pathlib import Path

from flask import Flask

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# A wheel carries copies of the checkout's top-level templates/, static/ and forms/ here
# (see setup.py); an editable install or a bare checkout reads the top-level folders.
BUNDLED_DIR = PACKAGE_DIR / "bundled"


def shipped(folder: str) -> Path:
    """One of the folders evalsvc ships (``templates``, ``static``, ``forms``): the copy
    inside the installed package, else the checkout's own."""
    bundled = BUNDLED_DIR / folder
    return bundled if bundled.is_dir() else PROJECT_ROOT / folder


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the application in short named steps."""
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("EVALSVC_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder=str(shipped("templates")),
        static_folder=str(shipped("static")),
    )
    from evalsvc import config

    config.load_config(app, test_config)
    register_extensions(app)
    register_questionnaires(app)
    register_blueprints(app)
    register_security(app)
    register_templating(app)
    register_commands(app)
    register_logging(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, login and CSRF to the app."""
    from evalsvc import database, ratelimit
    from evalsvc.services import day_totals, traces
    from evalsvc.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    database.init_app(app)
    traces.init_app(app)
    day_totals.init_app(app)
    ratelimit.init_app(app)
    migrate.init_app(
        app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)


def register_questionnaires(app: Flask) -> None:
    """Load and validate the questionnaire definitions in ``forms/``."""
    from evalsvc import questionnaires

    questionnaires.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the web layer."""
    from evalsvc import web

    web.init_app(app)


def register_security(app: Flask) -> None:
    """Security headers on every response; trust a reverse proxy only when told to."""
    from evalsvc.web import headers

    headers.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES", 0))
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def register_templating(app: Flask) -> None:
    """Template filters and the glossary of Chinese labels."""
    from evalsvc import glossary

    glossary.init_app(app)


def register_logging(app: Flask) -> None:
    """Logs never carry a card code."""
    from evalsvc import logs

    logs.init_app(app)


def register_commands(app: Flask) -> None:
    """Operator commands under ``evalsvc`` / ``flask``."""
    from evalsvc import cli

    cli.init_app(app)
