"""Long work off the request: submit a job, run it, say how it went.

A job row is the source of truth (state, progress, outcome, result file, who, when). The
request that asks for long work only inserts the row and returns; a worker runs it:

- with ``REDIS_URL`` set, the job's id is put on an RQ queue and ``evalsvc worker`` runs an
  RQ worker (several machines may run one each);
- without it, ``evalsvc worker`` polls the jobs table (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL; on SQLite one worker, the one ``scripts/run`` starts).

Both call ``job_runner.run(job_id)``, which calls the job's function (services/job_work.py) as the user
who asked. The function's database work is its service's own ``@writes`` transaction, so a
job that fails leaves nothing half done; a file it makes is written beside its target and
renamed into place only when whole. While a job runs, a thread touches its heartbeat; a
job whose heartbeat stopped (its worker died) is marked failed, and may be submitted again.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app, has_app_context

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Job, JobState, User
from evalsvc.models.base import utcnow
from evalsvc.services.errors import Invalid, OutOfScope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    """What a job function hands back: the outcome in Chinese (one line each) and, for a
    file, its download name and type (the file itself went through ``Work.output``)."""

    lines: tuple[str, ...]
    ok: bool = True


class PartlyDone(Exception):
    """Work that commits piece by piece (a bulk close seals each round on its own) failed
    after some pieces: ``message`` says, in Chinese, what was kept and what was not."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Work:
    """What a running job function may touch besides its services: its progress, its file."""

    def __init__(self, job: Job, engine):
        self.job_id, self._engine = job.id, engine
        self.file: tuple[str, str, str] | None = None  # (stored name, download name, type)

    def progress(self, per_cent: int) -> None:
        """Show how far the job got (best effort: call it between transactions)."""
        touch(self._engine, self.job_id, progress=max(0, min(100, int(per_cent))))

    @contextmanager
    def output(self, download_name: str, mimetype: str) -> Iterator[BinaryIO]:
        """A file to write the result into: written beside its target and renamed into
        place only when the block ends without error, so no half file is ever offered."""
        folder = job_folder()
        folder.mkdir(parents=True, exist_ok=True)
        stored = f"{self.job_id}-{secrets.token_hex(8)}{Path(download_name).suffix}"
        target = folder / stored
        tmp = folder / f".{stored}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        self.file = (stored, download_name, mimetype)


JobFunction = Callable[[User, dict, Work], Finished]
_FUNCTIONS: dict[str, JobFunction] = {}


def job_function(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register the function that does one kind of long work."""
    def register(fn: JobFunction) -> JobFunction:
        _FUNCTIONS[kind] = fn
        return fn
    return register


def job_folder() -> Path:
    """Where finished jobs' files are kept (owner-only, like the database)."""
    return Path(current_app.instance_path) / "jobs"


# -- submitting ------------------------------------------------------------------------


def submit(actor: User, kind: str, title: str, params: dict) -> Job:
    """Record the job and hand it to the queue; the caller returns at once. The same
    work asked again by the same user while it runs, or while it has waited less than
    ``JOB_STALE_SECONDS`` (a double click), is the same job; after that it is queued
    again, so a job the queue lost never holds the user's request hostage."""
    if kind not in functions():
        raise KeyError(kind)
    same = db.session.scalar(sa.select(Job).where(
        Job.user_id == actor.id, Job.kind == kind, Job.params == _json(params),
        Job.state.in_([JobState.QUEUED, JobState.RUNNING])).order_by(Job.id.desc()).limit(1))
    if same is not None and not (same.state is JobState.QUEUED and _stale(same.created_at)):
        return same  # a job queued for long may have been lost by Redis: ask again anew
    job = _insert(actor, kind, title, params)
    if current_app.config.get("REDIS_URL"):
        try:
            rq_queue().enqueue(rq_run, job.id, job_id=f"evalsvc-job-{job.id}",
                               job_timeout=current_app.config["JOB_TIMEOUT_SECONDS"])
        except Exception:  # Redis down: say so on the job page instead of waiting forever
            log.exception("could not enqueue job %s", job.id)
            _not_queued(job.id)
    return job


@writes
def _insert(actor: User, kind: str, title: str, params: dict) -> Job:
    job = Job(kind=kind, title=title[:200], params=_json(params),
              user_id=actor.id, state=JobState.QUEUED, progress=0)
    db.session.add(job)
    db.session.flush()
    return job


@writes
def _not_queued(job_id: int) -> None:
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        state=JobState.FAILED, finished_at=utcnow(),
        message="无法连接任务队列（Redis），任务未执行，请稍后重新提交"))


def _json(params: dict) -> str:
    return json.dumps(params, ensure_ascii=False, sort_keys=True)


def retry(actor: User, job: Job) -> Job:
    """Submit a failed job again, as it was asked."""
    if job.state is not JobState.FAILED:
        raise Invalid({"state": "只有失败的任务可以重新提交"})
    return submit(actor, job.kind, job.title, json.loads(job.params))


def rq_queue():
    """The RQ queue on ``REDIS_URL``."""
    from redis import Redis
    from rq import Queue

    return Queue(current_app.config["JOB_QUEUE"],
                 connection=Redis.from_url(current_app.config["REDIS_URL"]))


def rq_run(job_id: int) -> None:
    """What the RQ worker runs: the same ``run`` as the local worker, inside the app
    (``evalsvc worker`` has pushed its context; a bare ``rq worker`` gets one here)."""
    from evalsvc.services.job_runner import run

    if has_app_context():
        run(job_id)
        return
    from evalsvc import create_app

    with create_app().app_context():
        run(job_id)


# -- reading ---------------------------------------------------------------------------


def job_of(user: User, job_id: int) -> Job:
    """The user's own job; anyone else's looks like no job at all. A running job whose
    worker stopped beating is marked failed here too, so its page never spins forever."""
    # an id past the database's integer is no job (not an overflow error)
    job = db.session.get(Job, job_id) if 0 < job_id < 2 ** 31 else None
    if job is None or job.user_id != user.id:
        raise OutOfScope(f"job {job_id}")
    if job.state is JobState.RUNNING and _stale(job.heartbeat_at):
        from evalsvc.services.job_runner import reap_stale

        reap_stale()
        db.session.refresh(job)
    return job


def recent(user: User, limit: int = 50) -> list[Job]:
    """The user's own latest jobs, newest first."""
    return list(db.session.scalars(sa.select(Job).where(Job.user_id == user.id)
                                   .order_by(Job.id.desc()).limit(limit)))


def result_path(user: User, job_id: int) -> tuple[Path, Job]:
    """The finished file of the user's own job (404 for anyone else, or no file)."""
    job = job_of(user, job_id)
    if job.state is not JobState.DONE or not job.result_file:
        raise OutOfScope(f"job {job_id} file")
    path = job_folder() / job.result_file
    if not path.is_file():
        raise OutOfScope(f"job {job_id} file")
    return path, job


def _stale(heartbeat: datetime | None) -> bool:
    if heartbeat is None:
        return True
    if heartbeat.tzinfo is None:  # SQLite hands back naive UTC
        heartbeat = heartbeat.replace(tzinfo=utcnow().tzinfo)
    return utcnow() - heartbeat > timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])


def touch(engine, job_id: int, **values) -> None:
    """Update the running job's row on a connection of its own (the job's session may be
    inside its transaction); on SQLite a long writer may hold it up: skip a beat then."""
    try:
        with engine.begin() as connection:
            connection.execute(sa.update(Job).where(
                Job.id == job_id, Job.state == JobState.RUNNING).values(
                heartbeat_at=utcnow(), **values))
    except sa.exc.OperationalError:
        log.warning("job %s: heartbeat skipped (database busy)", job_id)


def functions() -> dict[str, JobFunction]:
    from evalsvc.services import job_work  # noqa: F401  (registers the job functions)

    return _FUNCTIONS


# -- what counts as long ---------------------------------------------------------------


def is_long(setting: str, size: int) -> bool:
    """True when work of this size goes to a job (``JOB_*`` settings, config.py)."""
    return size > int(current_app.config[setting])


def branches_in_scope(user: User) -> int:
    """How many branches the user's exports would hold."""
    from evalsvc.models import Organisation, OrgType
    from evalsvc.services.scope import orgs_query

    query = orgs_query(user).where(Organisation.type == OrgType.BRANCH).order_by(None)
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
