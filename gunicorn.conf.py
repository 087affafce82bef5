"""gunicorn settings for evalsvc: `gunicorn -c gunicorn.conf.py 'evalsvc:create_app()'`.

Sync workers: one per core on SQLite (its writers share one lock: more workers only queue
for it), two per core on PostgreSQL (a worker waits for the database server on every ballot,
and another one uses the core meanwhile; bench/RESULTS.md, the hall rush). The engine is read
as the app reads it (instance/config.py, then EVALSVC_DATABASE_URL); set ``-w`` to override. The access log keeps no card code: its
request line is redacted by evalsvc's logger class.
"""
import multiprocessing

from evalsvc.config import configured_database_url

bind = "127.0.0.1:8000"
_ON_POSTGRESQL = configured_database_url().startswith("postgresql")
workers = multiprocessing.cpu_count() * (2 if _ON_POSTGRESQL else 1)
worker_class = "sync"
timeout = 30
accesslog = "-"
logger_class = "evalsvc.logs.RedactingGunicornLogger"


def pre_fork(server, worker) -> None:
    """In the master, right before each worker is forked: freeze what it holds (with
    ``--preload``, the whole app), so a worker's full collection neither walks the inherited
    heap again nor writes to it (a collection touches every object's header: each page the
    worker shares with the master would be copied into it)."""
    import gc

    gc.freeze()


def post_worker_init(worker) -> None:
    """Once the worker has loaded the app: keep what it loaded out of full collections."""
    from evalsvc.heap import settle

    settle()
