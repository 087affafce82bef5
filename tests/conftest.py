"""Fixtures: an app on a fresh, migrated database per test (an SQLite file in tmp_path, or a
PostgreSQL database of its own), copied from a template migrated once per run."""
import functools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from evalsvc import create_app
from evalsvc.extensions import db
from tests.databases import open_databases
from tests.server import LiveServer

PG_URL = os.environ.get("EVALSVC_TEST_DATABASE_URL")

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    # Fast hashing keeps the suite quick; production uses scrypt.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "PUBLIC_URL": "http://evalsvc.test",
}


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (fresh ``g`` and database session), as in
    production, even while the test holds a context of its own."""

    def open(self, *args, **kwargs):
        # End the test's own transaction: it sees the request's writes afterwards
        # (SQLite would otherwise keep the test on its old snapshot).
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def migrate(url: str, instance_path: Path, with_demo: bool = False) -> None:
    """Run the migrations into the empty database at ``url``; then load the demo county
    (what the ``demo`` fixture provides) if asked."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url}, instance_path=str(instance_path))
    with app.app_context():
        upgrade()
        if with_demo:
            from evalsvc.services.demo import load_demo

            load_demo()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Fresh databases for tests: copies of templates migrated once per run
    (``databases.fresh(directory, template)``), or empty ones (``databases.empty(directory)``).
    """
    found = open_databases(PG_URL, tmp_path_factory.mktemp("templates"),
                           {"migrated": migrate,
                            "demo": functools.partial(migrate, with_demo=True)})
    yield found
    found.close()


@pytest.fixture
def database_url(databases, tmp_path, request):
    """A URL to a migrated database that lives for one test (the demo county already
    loaded when the test asks for ``demo``)."""
    template = "demo" if "demo" in request.fixturenames else "migrated"
    with databases.fresh(tmp_path, template) as url:
        yield url


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on this test's (migrated) database, with extra config."""
    apps = []

    def build(**config):
        app = create_app(
            {**TEST_CONFIG, "DATABASE_URL": database_url, **config},
            instance_path=str(tmp_path / "instance"),
        )
        app.test_client_class = FreshContextClient
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """The app, with an application context pushed for direct service and model calls."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo county (copied in with the database); returns a dict of organisation
    code → id."""
    from evalsvc.models import Organisation

    return dict(db.session.execute(sa.select(Organisation.code, Organisation.id)).all())


@pytest.fixture
def live_server(database_url, tmp_path, request):
    """A started gunicorn (4 sync workers) on this test's database, with the demo loaded.

    Pick another worker count with ``@pytest.mark.parametrize("live_server",
    [{"workers": 2}], indirect=True)``. The server's log is printed at teardown, so a
    failing test shows gunicorn's output (tracebacks included).
    """
    options = getattr(request, "param", None) or {}
    server = LiveServer(database_url, tmp_path / "instance", workers=options.get("workers", 4))
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.kill_hard()  # the test is over: a graceful stop would only cost seconds
        print(f"----- gunicorn log ({server.log_path}) -----\n{server.log()}")
