"""Fixtures: an app on a fresh database per test (SQLite in tmp_path, or a PostgreSQL schema)."""
import contextlib
import os
import re
import secrets

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from evalsvc import create_app
from evalsvc.extensions import db

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


@contextlib.contextmanager
def fresh_database(directory):
    """An empty database: SQLite in ``directory``, or a PostgreSQL schema of its own
    (selected through the URL's search_path) dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{directory / 'test.sqlite3'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path):
    """A URL to an empty database that lives for one test."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on this test's database, with extra config; the schema is migrated."""
    apps = []

    def build(**config):
        app = create_app(
            {**TEST_CONFIG, "DATABASE_URL": database_url, **config},
            instance_path=str(tmp_path / "instance"),
        )
        with app.app_context():
            if not apps:
                upgrade()
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
    """The demo county loaded; returns a dict of organisation code → id."""
    from evalsvc.models import Organisation
    from evalsvc.services.demo import load_demo

    load_demo()
    return dict(db.session.execute(sa.select(Organisation.code, Organisation.id)).all())


def login(client, username: str, password: str | None = None):
    """Log a client in as a demo account (password defaults to the demo one)."""
    from evalsvc.services.demo import ACCOUNTS

    password = password or next(p for u, p, *_ in ACCOUNTS if u == username)
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def csrf_token(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)
