"""The real-server fixture, shared with the reliability tests."""
from tests.reliability.conftest import live_server  # noqa: F401
