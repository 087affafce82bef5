"""gunicorn settings for evalsvc: `gunicorn -c gunicorn.conf.py 'evalsvc:create_app()'`.

Sync workers, one per core (SQLite gains nothing from more); the access log keeps no card
code: its request line is redacted by evalsvc's logger class.
"""
import multiprocessing

bind = "127.0.0.1:8000"
workers = multiprocessing.cpu_count()
worker_class = "sync"
timeout = 30
accesslog = "-"
logger_class = "evalsvc.logs.RedactingGunicornLogger"
