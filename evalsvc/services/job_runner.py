"""Running jobs (services/jobs.py holds the rows, submitting and reading): claim one, run
its function as the user who asked, touch its heartbeat, and end it done or failed, with
the reason in Chinese; fail jobs whose worker died; poll the table when there is no RQ.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Job, JobState, User
from evalsvc.models.base import utcnow
from evalsvc.services.errors import Forbidden, Invalid, OutOfScope
from evalsvc.services.jobs import PartlyDone, Work, functions, job_folder, touch

log = logging.getLogger(__name__)


def run(job_id: int) -> JobState | None:
    """Run one queued job to its end (done or failed); None if it was not queued."""
    job = _claim(job_id)
    return None if job is None else _execute(job)


def _execute(job: Job) -> JobState:
    """Run a job already marked running by this worker."""
    job_id = job.id
    work = Work(job, db.engine)
    with _heartbeat(db.engine, job_id):
        try:
            actor = db.session.get(User, job.user_id)
            if actor is None or not actor.active:  # disabled since: it acts for no one
                raise OutOfScope(f"user {job.user_id}")
            finished = functions()[job.kind](actor, json.loads(job.params), work)
        except Exception as exc:  # every failure ends the job, with its reason in Chinese
            db.session.rollback()
            if not isinstance(exc, (Invalid, OutOfScope, Forbidden)):
                log.exception("job %s (%s) failed", job_id, job.kind)
            return _end(job_id, JobState.FAILED, (why(exc),))
    state = JobState.DONE if finished.ok else JobState.FAILED
    return _end(job_id, state, finished.lines, work.file)


def why(exc: Exception) -> str:
    """A failure in Chinese, and that nothing of it was kept."""
    if isinstance(exc, PartlyDone):  # work committed piece by piece (a bulk close)
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "错误"
        return f"任务中途失败（{cause}）：{exc.message}"
    if isinstance(exc, Invalid):
        reason = "；".join(exc.errors.values())
    elif isinstance(exc, OutOfScope):
        reason = "要处理的对象不存在或不在您的权限范围内"
    elif isinstance(exc, Forbidden):
        reason = "没有权限进行此操作"
    else:
        reason = f"服务器出错（{type(exc).__name__}）"
    return f"任务失败：{reason}。已撤销，数据未作任何改动，可重新提交。"


@writes
def _claim(job_id: int) -> Job | None:
    query = sa.select(Job).where(Job.id == job_id, Job.state == JobState.QUEUED)
    job = db.session.scalars(query.with_for_update()).first()
    if job is None:
        return None
    now = utcnow()
    job.state, job.started_at, job.heartbeat_at = JobState.RUNNING, now, now
    return job


@writes
def _end(job_id: int, state: JobState, lines, file=None) -> JobState:
    job = db.session.get(Job, job_id)
    job.state, job.finished_at = state, utcnow()
    job.message = "\n".join(lines)
    if state is JobState.DONE:
        job.progress = 100
    if file:
        job.result_file, job.result_name, job.result_mimetype = file
    return state


@contextmanager
def _heartbeat(engine, job_id: int) -> Iterator[None]:
    every = float(current_app.config["JOB_HEARTBEAT_SECONDS"])
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            touch(engine, job_id)

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def reap_stale(everything: bool = False) -> int:
    """Fail the running jobs whose worker stopped beating (``everything``: all running
    jobs, as the only worker on SQLite does when it starts). They may be submitted again.
    Looks first, so an idle worker never takes the write lock for nothing."""
    if db.session.scalar(_stale_jobs(everything, sa.select(Job.id)).limit(1)) is None:
        db.session.rollback()  # end the read: SQLite's WAL keeps growing under an old one
        return 0
    return _fail_stale(everything)


def _stale_jobs(everything: bool, query):
    cutoff = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    query = query.where(Job.state == JobState.RUNNING)
    if not everything:
        query = query.where(sa.or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))
    return query


@writes
def _fail_stale(everything: bool) -> int:
    done = db.session.execute(_stale_jobs(everything, sa.update(Job)).values(
        state=JobState.FAILED, finished_at=utcnow(),
        message="任务中断：执行任务的后台进程已停止。已撤销，数据未作任何改动，可重新提交。"))
    return done.rowcount or 0


def expire_files() -> int:
    """Delete the files of jobs finished more than JOB_FILE_HOURS ago (card PDFs carry
    codes: they are not kept on the server longer than it takes to fetch them)."""
    cutoff = utcnow() - timedelta(hours=float(current_app.config["JOB_FILE_HOURS"]))
    old = db.session.execute(sa.select(Job.id, Job.result_file).where(
        Job.result_file.is_not(None), Job.finished_at < cutoff)).all()
    db.session.rollback()
    for _id, name in old:
        (job_folder() / name).unlink(missing_ok=True)
    if old:
        _forget_files([job_id for job_id, _name in old])
    return len(old) + _sweep_orphans(cutoff)


def _sweep_orphans(cutoff) -> int:
    """Files no row will ever expire (a worker killed between renaming its file into place
    and recording it, or a half-written ``.part``) go once they are as old as the rest."""
    folder, swept = job_folder(), 0
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            swept += 1
    return swept


@writes
def _forget_files(ids: list[int]) -> None:
    db.session.execute(sa.update(Job).where(Job.id.in_(ids)).values(result_file=None))


def claim_next() -> int | None:
    """The oldest queued job's id, claimed for this worker (others skip it)."""
    if db.session.scalar(sa.select(Job.id).where(Job.state == JobState.QUEUED).limit(1)) is None:
        db.session.rollback()
        return None
    return _claim_oldest()


@writes
def _claim_oldest() -> int | None:
    query = sa.select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job_id = db.session.scalar(query)
    if job_id is None:
        return None
    now = utcnow()
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        state=JobState.RUNNING, started_at=now, heartbeat_at=now))
    return job_id


def work_locally(burst: bool = False) -> int:
    """The local worker: poll the jobs table and run what is queued, oldest first.
    ``burst`` stops when nothing is queued. Returns how many jobs it ran."""
    poll = float(current_app.config["JOB_POLL_SECONDS"])
    ran, reaped_at = 0, 0.0
    while True:
        if time.monotonic() - reaped_at > float(current_app.config["JOB_HEARTBEAT_SECONDS"]):
            reap_stale()
            expire_files()
            reaped_at = time.monotonic()
        job_id = claim_next()
        if job_id is None:
            if burst:
                return ran
            db.session.remove()
            time.sleep(poll)
            continue
        _execute(db.session.get(Job, job_id))
        ran += 1
        db.session.remove()


