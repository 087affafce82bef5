"""The job worker as deployed (deploy/evalsvc-worker.service, README "Deployment"): its
command, run as a process of its own on this test's database, runs a job the web queued,
through RQ on the real Redis (a forked child per job) and through the jobs table."""
from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from flask import current_app

from evalsvc.extensions import db
from evalsvc.models import Job, JobState, Round, RoundState
from tests.helpers import close_on_web, login
from tests.server import PROJECT_ROOT
from tests.web.test_jobs import REDIS_URL, _job_id, _redis, _round_with_ballots

UNIT = PROJECT_ROOT / "deploy" / "evalsvc-worker.service"


def _exec_start() -> list[str]:
    line = next(l for l in UNIT.read_text().splitlines() if l.startswith("ExecStart="))
    return line.removeprefix("ExecStart=").split()


def test_the_unit_runs_evalsvc_worker():
    command = _exec_start()
    assert Path(command[0]).name == "evalsvc" and command[1:] == ["worker"]


@pytest.mark.parametrize("queue", ["rq", "table"])
def test_the_units_command_runs_a_queued_job(app, client, demo, queue):
    settings = {"JOB_CLOSE_BALLOTS": 0}
    if queue == "rq":
        redis = _redis()
        settings.update(REDIS_URL=REDIS_URL, JOB_QUEUE=f"test-{secrets.token_hex(6)}")
    app.config.update(settings)
    round_ = _round_with_ballots(2)
    round_id = round_.id
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    db.session.commit()

    # The unit's command, from this environment's install, with the --burst that ends it.
    binary = Path(sys.executable).parent / Path(_exec_start()[0]).name
    env = {"PATH": "/usr/bin:/bin", "EVALSVC_TESTING": "true",
           "EVALSVC_SECRET_KEY": current_app.config["SECRET_KEY"],
           "EVALSVC_DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"],
           "EVALSVC_INSTANCE_PATH": current_app.instance_path,
           **{f"EVALSVC_{k}": str(v) for k, v in settings.items()}}
    try:
        done = subprocess.run([str(binary), "worker", "--burst"], env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        if queue == "rq":
            from rq import Queue

            Queue(settings["JOB_QUEUE"], connection=redis).delete(delete_jobs=True)
            redis.close()
    assert done.returncode == 0, done.stderr
    assert ("RQ worker" if queue == "rq" else "local worker") in done.stderr
    db.session.rollback()
    assert db.session.get(Job, job_id).state is JobState.DONE, done.stderr
    assert db.session.get(Round, round_id).state is RoundState.CLOSED
    assert re.search(r"共收回 2 份", client.get(f"/jobs/{job_id}").get_data(as_text=True))
