"""The main suite's fixtures (``app``, ``client``, ``demo``, … on SQLite or PostgreSQL),
so the plugin is tested inside a real evalsvc exactly as the core kinds are."""
from tests.conftest import *  # noqa: F401,F403  (fixtures: app, client, demo, make_app, …)
