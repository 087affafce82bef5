"""The app factory and the configuration chain."""
import stat

import pytest

from evalsvc import create_app
from evalsvc.config import WeakSecretKey


def test_defaults_use_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALSVC_DATABASE_URL", raising=False)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/evalsvc.sqlite3"


def test_secret_key_is_generated_once_into_instance(tmp_path):
    first = create_app(instance_path=str(tmp_path))
    second = create_app(instance_path=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_short_secret_key_is_refused_outside_tests(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALSVC_SECRET_KEY", "k" * 31)
    with pytest.raises(WeakSecretKey, match="31 bytes long; at least 32"):
        create_app(instance_path=str(tmp_path))
    with pytest.raises(WeakSecretKey):
        create_app({"SECRET_KEY": "短密钥" * 3}, instance_path=str(tmp_path))  # 27 bytes
    assert create_app({"SECRET_KEY": "k" * 31, "TESTING": True},
                      instance_path=str(tmp_path)).config["SECRET_KEY"] == "k" * 31
    monkeypatch.setenv("EVALSVC_SECRET_KEY", "k" * 32)
    assert create_app(instance_path=str(tmp_path)).config["SECRET_KEY"] == "k" * 32


def test_secret_keys_differ_between_instances(tmp_path):
    a = create_app(instance_path=str(tmp_path / "a"))
    b = create_app(instance_path=str(tmp_path / "b"))
    assert a.config["SECRET_KEY"] != b.config["SECRET_KEY"]


def test_instance_file_overrides_defaults_and_env_overrides_instance(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        'PUBLIC_URL = "https://from-instance.example"\nFREE_TEXT_LIMIT = 300\n'
    )
    app = create_app(instance_path=str(tmp_path))
    assert app.config["PUBLIC_URL"] == "https://from-instance.example"
    assert app.config["FREE_TEXT_LIMIT"] == 300
    monkeypatch.setenv("EVALSVC_PUBLIC_URL", "https://from-env.example")
    monkeypatch.setenv("EVALSVC_FREE_TEXT_LIMIT", "200")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["PUBLIC_URL"] == "https://from-env.example"
    assert app.config["FREE_TEXT_LIMIT"] == 200


def test_database_url_from_environment_selects_postgresql_driver(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALSVC_DATABASE_URL", "postgresql://u@db.example/evalsvc")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/evalsvc"


def test_secret_key_from_environment_is_used_and_not_written(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALSVC_SECRET_KEY", "k" * 40)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(app):
    from evalsvc.extensions import db

    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_every_response_carries_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
