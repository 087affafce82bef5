"""``evalsvc worker``: run the jobs (long work handed off by the web, services/jobs.py)."""
import click
from flask import current_app

from evalsvc.extensions import db
from evalsvc.services import job_runner, jobs


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then stop.")
def worker_command(burst: bool) -> None:
    """Run queued jobs: an RQ worker when REDIS_URL is set, else poll the jobs table."""
    sqlite = db.engine.dialect.name == "sqlite"
    # On SQLite this is the one worker, so a job still marked running lost its worker.
    reaped = job_runner.reap_stale(everything=sqlite and not current_app.config.get("REDIS_URL"))
    if reaped:
        click.echo(f"{reaped} interrupted job(s) marked failed", err=True)
    if current_app.config.get("REDIS_URL"):
        from rq import Worker

        queue = jobs.rq_queue()
        db.session.remove()
        db.engine.dispose()  # each job runs in a forked child: share no connection with it
        click.echo(f"RQ worker on queue {queue.name!r}", err=True)
        Worker([queue], connection=queue.connection).work(burst=burst)
        return
    click.echo("local worker polling the jobs table", err=True)
    ran = job_runner.work_locally(burst=burst)
    click.echo(f"{ran} job(s) run", err=True)
