"""Printed cards point at the server actually running, and printing says when they cannot."""
from evalsvc import create_app
from tests.conftest import TEST_CONFIG


def _public_url(tmp_path, database_url) -> str:
    settings = {**TEST_CONFIG, "DATABASE_URL": database_url}
    settings.pop("PUBLIC_URL")
    return create_app(settings, instance_path=str(tmp_path / "instance")).config["PUBLIC_URL"]


def test_public_url_follows_the_port_unless_set(monkeypatch, tmp_path, database_url):
    monkeypatch.delenv("EVALSVC_PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "5101")
    assert _public_url(tmp_path, database_url) == "http://127.0.0.1:5101"
    monkeypatch.delenv("PORT")
    assert _public_url(tmp_path, database_url) == "http://127.0.0.1:5000"
    monkeypatch.setenv("PORT", "5101")
    monkeypatch.setenv("EVALSVC_PUBLIC_URL", "https://pj.example.gov.cn")
    assert _public_url(tmp_path, database_url) == "https://pj.example.gov.cn"
