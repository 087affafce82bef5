"""evalsvc inside the benchmark process: a prepared database and an app bound to it."""
from __future__ import annotations

from contextlib import contextmanager

from bench.databases import Database
from bench.server import PASSWORD_HASH_METHOD, SECRET_KEY, evalsvc_cli, evalsvc_env

PUBLIC_URL = "https://pj.example.gov.cn"  # what a real deployment prints on its cards
OFFICE = ("office", "demo-office-pass")


def prepare(database: Database, public_url: str = PUBLIC_URL) -> dict[str, str]:
    """``evalsvc init`` and ``evalsvc demo`` on the database; returns the CLI environment."""
    env = evalsvc_env(database.url, database.instance, public_url)
    evalsvc_cli(env, "init", cwd=database.instance)
    evalsvc_cli(env, "demo", cwd=database.instance)
    return env


@contextmanager
def app_on(database: Database, public_url: str = PUBLIC_URL, **config):
    """An evalsvc app on ``database`` (production settings unless ``config`` says otherwise);
    its engine is disposed afterwards."""
    from evalsvc import create_app
    from evalsvc.extensions import db

    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": SECRET_KEY,
                      "PUBLIC_URL": public_url, "PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
                      **config}, instance_path=str(database.instance))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def logged_in_client(app, username: str = OFFICE[0], password: str = OFFICE[1]):
    """A test client with a staff session (the app must have WTF_CSRF_ENABLED=False)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: {response.status_code}")
    return client
