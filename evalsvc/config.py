"""Configuration: defaults here, then ``instance/config.py``, then ``EVALSVC_*`` variables."""
import os
import secrets
from pathlib import Path

from flask import Flask


MIN_SECRET_KEY_BYTES = 32


class WeakSecretKey(RuntimeError):
    """The configured SECRET_KEY is too short to derive card codes from."""


class Defaults:
    """Settings every deployment starts from; nothing secret lives here."""

    # 256 KiB is far more than the largest ballot (a 60-member review with notes).
    MAX_CONTENT_LENGTH = 256 * 1024
    MAX_FORM_PARTS = 2000
    # The member import page's upload (a county roster as XLSX or CSV); the CLI reads up to
    # the import's own 16 MB bound.
    MEMBER_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # No pre-ping (a round trip at every checkout): database.py looks at a pooled PostgreSQL
    # connection's socket instead, and pings one idle for longer than this many seconds.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DATABASE_IDLE_PING_SECONDS = 10
    # WAL survives a process crash with either setting; FULL also survives power loss
    # because every commit is fsynced before the thank-you page goes out.
    SQLITE_SYNCHRONOUS = "FULL"
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    PASSWORD_HASH_METHOD = "scrypt"
    # PUBLIC_URL, the base of the URLs printed on QR cards and posters (e.g.
    # https://pj.example.gov.cn), defaults to this machine on the port being served: see
    # _default_public_url.
    # Longest free-text answer a respondent may give, in characters.
    FREE_TEXT_LIMIT = 500
    # Where per-client rate limits are kept: "memory" (per process) or a redis:// URL
    # (shared by every worker: use it with more than one).
    RATELIMIT_STORAGE = "memory"
    # "count/seconds". Unknown card codes tried by one client (valid scans never count).
    CARD_GUESS_LIMIT = "20/600"
    # Unknown receipt codes tried by one client.
    RECEIPT_GUESS_LIMIT = "30/600"
    # Poster ballots from one address (a hall may share one Wi-Fi address).
    POSTER_IP_LIMIT = "300/600"
    # Failed logins: per account (then it is locked for the window), and per address.
    LOGIN_ACCOUNT_LIMIT = "5/900"
    LOGIN_ADDRESS_LIMIT = "30/900"
    # A staff session ends after this many minutes without a request, and in any case this
    # many hours after login (services/sessions.py).
    SESSION_IDLE_MINUTES = 30
    SESSION_LIFETIME_HOURS = 12
    # Long work runs as a job (services/jobs.py). With a redis:// URL here jobs go on an RQ
    # queue and `evalsvc worker` runs an RQ worker; without one, `evalsvc worker` (started by
    # scripts/run) polls the jobs table.
    REDIS_URL = ""
    JOB_QUEUE = "evalsvc"  # the RQ queue's name
    JOB_POLL_SECONDS = 1.0
    JOB_HEARTBEAT_SECONDS = 15
    # A running job whose worker has not beaten for this long is failed (it may be resubmitted).
    JOB_STALE_SECONDS = 600
    JOB_TIMEOUT_SECONDS = 4 * 3600
    # A finished job's file (a card PDF carries codes) is deleted this many hours after.
    JOB_FILE_HOURS = 24
    # Above these sizes the web hands the work to a job; smaller ones are done in the request.
    JOB_CLOSE_BALLOTS = 20_000        # closing a round with more ballots
    JOB_BULK_BRANCHES = 200           # a bulk action on more branches
    JOB_BATCH_CARDS = 2_000           # a batch card PDF of more cards
    JOB_EXPORT_BRANCHES = 2_000       # the overview or weekly report file over more branches
    JOB_EXPORT_ENTRIES = 50_000       # the audit log export of more entries
    # The live view of open rounds reloads itself this often (seconds).
    LIVE_REFRESH_SECONDS = 60
    # The time zone staff read times and dates in (audit log, "updated at", reports).
    TIMEZONE = "Asia/Shanghai"
    # The day the weekly report is due (ISO weekday: 1 Monday … 7 Sunday; 4 = 每周四上午报):
    # the report's default period is the seven days before the latest such day.
    WEEKLY_REPORT_WEEKDAY = 4
    # A published result's free texts on the public page (still only above the threshold).
    PUBLIC_FREE_TEXT = False
    # The day a brief week (信息简报) ends on: 0 Monday … 3 Thursday … 6 Sunday.
    BRIEF_WEEK_ENDS = 3


def load_config(app: Flask, test_config: dict | None) -> None:
    """Apply the configuration chain in order; later sources win."""
    _read_sources(app)
    if test_config:
        app.config.update(test_config)
    _apply_database_url(app)
    _default_public_url(app)
    _ensure_secret_key(app)


def _read_sources(app: Flask) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="EVALSVC")


def configured_database_url(instance_path: str | None = None) -> str:
    """The database URL the app will use, read through the same chain (instance/config.py,
    then EVALSVC_* variables) without building the app: gunicorn.conf.py picks its worker
    count by engine before any worker exists."""
    probe = Flask("evalsvc", instance_relative_config=True,
                  instance_path=instance_path or os.environ.get("EVALSVC_INSTANCE_PATH"))
    _read_sources(probe)
    _apply_database_url(probe)
    return probe.config["SQLALCHEMY_DATABASE_URI"]


def _default_public_url(app: Flask) -> None:
    """Unless set, cards point at this machine on the port served (``PORT``, as
    ``scripts/run`` uses it; 5000 otherwise). Printing warns that such cards work only here."""
    if not app.config.get("PUBLIC_URL"):
        port = os.environ.get("PORT", "").strip()
        app.config["PUBLIC_URL"] = f"http://127.0.0.1:{port if port.isdigit() else 5000}"


def _apply_database_url(app: Flask) -> None:
    """``DATABASE_URL`` (EVALSVC_DATABASE_URL) selects the engine; SQLite in instance/ by default."""
    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "evalsvc.sqlite3")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def _ensure_secret_key(app: Flask) -> None:
    """Use the configured key, else one generated once into ``instance/secret_key``.

    Outside tests a key shorter than MIN_SECRET_KEY_BYTES is refused: card codes, receipts
    and sessions are derived from it.
    """
    if not app.config.get("SECRET_KEY"):
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            _write_new_key(key_file)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
    key = app.config["SECRET_KEY"]
    length = len(key.encode() if isinstance(key, str) else key)
    if length < MIN_SECRET_KEY_BYTES and not app.config.get("TESTING"):
        raise WeakSecretKey(
            f"SECRET_KEY is {length} bytes long; at least {MIN_SECRET_KEY_BYTES} are required "
            "because card codes, receipts and sessions are derived from it. Unset "
            "EVALSVC_SECRET_KEY to use the key generated in instance/secret_key, or set one "
            "made with: python -c 'import secrets; print(secrets.token_hex(32))'")


def _write_new_key(key_file: Path) -> None:
    """Write a fresh key atomically, so workers starting together agree on one key."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = key_file.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, key_file)  # fails if another worker won the race: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
