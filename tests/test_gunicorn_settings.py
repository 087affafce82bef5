"""gunicorn.conf.py sizes its workers by the engine the app will really use."""
import gc
import multiprocessing
import runpy

import pytest

from tests.server import PROJECT_ROOT

SETTINGS = str(PROJECT_ROOT / "gunicorn.conf.py")


def workers_for(monkeypatch, instance, config_text=None, env_url=None) -> int:
    if config_text is not None:
        (instance / "config.py").write_text(config_text)
    monkeypatch.setenv("EVALSVC_INSTANCE_PATH", str(instance))
    if env_url is None:
        monkeypatch.delenv("EVALSVC_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("EVALSVC_DATABASE_URL", env_url)
    return runpy.run_path(SETTINGS)["workers"]


@pytest.mark.parametrize("config_text, env_url, per_core", [
    (None, None, 1),  # the embedded default: SQLite in instance/
    ('DATABASE_URL = "postgresql://evalsvc@db/evalsvc"\n', None, 2),  # set in instance/config.py only
    (None, "postgresql+psycopg://evalsvc@db/evalsvc", 2),
    ('DATABASE_URL = "postgresql://evalsvc@db/evalsvc"\n', "sqlite:////tmp/x.sqlite3", 1),  # env wins
])
def test_workers_follow_the_configured_engine(monkeypatch, tmp_path, config_text, env_url,
                                              per_core):
    assert workers_for(monkeypatch, tmp_path, config_text, env_url) \
        == multiprocessing.cpu_count() * per_core


@pytest.mark.parametrize("hook_name, arguments", [
    # After loading the app, each worker freezes its heap: a full collection no longer
    # rescans the app's modules and definitions in the middle of someone's request.
    ("post_worker_init", {"worker": None}),
    # With --preload the master has loaded the app: it freezes it before each fork, so the
    # worker's own collection neither walks it again nor copies the pages it shares.
    ("pre_fork", {"server": None, "worker": None}),
])
def test_the_heap_loaded_at_boot_is_kept_out_of_full_collections(monkeypatch, tmp_path,
                                                                  hook_name, arguments):
    monkeypatch.setenv("EVALSVC_INSTANCE_PATH", str(tmp_path))
    hook = runpy.run_path(SETTINGS)[hook_name]
    gc.unfreeze()  # the suite's own frozen heap (tests/conftest.py), to see the hook freeze
    assert gc.get_freeze_count() == 0
    try:
        hook(**arguments)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.freeze()  # the suite's heap again, frozen
