"""Fixtures for tests against a real gunicorn process serving evalsvc."""
import pytest

from tests.server import LiveServer


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
        server.stop()
        print(f"----- gunicorn log ({server.log_path}) -----\n{server.log()}")
