"""The page of a job (long work run off the request): progress, outcome, its file."""
from flask import (
    Blueprint, current_app, redirect, render_template, request, send_file, url_for,
)
from flask_login import current_user, login_required

from evalsvc.models import JobState
from evalsvc.services import jobs
from evalsvc.web.form_errors import attempt
from evalsvc.web.staff_forms import ConfirmForm

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
REFRESH_SECONDS = 2
STATES = {JobState.QUEUED: "排队中", JobState.RUNNING: "进行中", JobState.DONE: "已完成",
          JobState.FAILED: "失败"}


@bp.before_request
@login_required
def _require_login() -> None:
    """A job's page is its owner's alone (services/jobs.job_of)."""


@bp.get("/")
def index():
    """The user's own recent jobs, newest first."""
    return render_template("jobs/index.html", jobs=jobs.recent(current_user), states=STATES)


@bp.get("/<int:job_id>")
def detail(job_id: int):
    """The job's state; while it is waiting or running the page reloads itself (the
    ``Refresh`` header: no script, so the CSP holds)."""
    job = jobs.job_of(current_user, job_id)
    waiting = job.state in (JobState.QUEUED, JobState.RUNNING)
    paused = request.args.get("refresh") == "off"  # WCAG 2.2.1: a reload one can stop
    html = render_template("jobs/detail.html", job=job, state=STATES[job.state],
                           waiting=waiting, paused=paused,
                           lines=(job.message or "").splitlines(),
                           refresh_seconds=REFRESH_SECONDS, confirm=ConfirmForm(),
                           file_hours=current_app.config["JOB_FILE_HOURS"],
                           embedded=not current_app.config.get("REDIS_URL"))
    response = current_app.make_response(html)
    if waiting and not paused:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@bp.get("/<int:job_id>/file")
def download(job_id: int):
    """The finished job's file, for the user who started it only."""
    path, job = jobs.result_path(current_user, job_id)
    response = send_file(path, mimetype=job.result_mimetype, as_attachment=True,
                         download_name=job.result_name)
    response.headers["Cache-Control"] = "no-store"  # card PDFs carry codes
    return response


@bp.post("/<int:job_id>/retry")
def retry(job_id: int):
    """Submit a failed job again."""
    job = jobs.job_of(current_user, job_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("jobs.detail", job_id=job_id))
    again = []
    attempt(lambda: again.append(jobs.retry(current_user, job)), "已重新提交")
    return redirect(url_for("jobs.detail", job_id=again[0].id if again else job_id))


def started(job):
    """Where a view that handed its work to a job sends the user: the job's page."""
    return redirect(url_for("jobs.detail", job_id=job.id))
