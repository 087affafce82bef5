"""Long work off the request (issue 16 §2): the request returns at once with a job page; a
worker (the local one polling the table, or RQ's) runs it; the page shows the outcome and
the file, to the user who asked only; a failure says why and leaves nothing half done."""
import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Job, JobState, Round, RoundState
from evalsvc.models.base import utcnow
from evalsvc.services import ballots, job_runner, jobs
from tests.helpers import ballot_for, close_on_web, login, new_round

REDIS_URL = "redis://127.0.0.1:6379/0"  # .ci/run starts it


def _job_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/jobs/(\d+)$", response.headers["Location"]).group(1))


def _work(runner) -> str:
    """Run what is queued with ``evalsvc worker --burst`` (the local worker)."""
    done = runner.invoke(args=["worker", "--burst"])
    assert done.exit_code == 0, done.output
    db.session.rollback()  # read what the worker committed
    db.session.expire_all()
    return done.output


def _round_with_ballots(n: int = 3, **extra):
    round_, codes = new_round(**extra)
    for code in codes[:n]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12),
                                 [(k, v, "") for k, v in ballot_for(round_).items()
                                  if k != "nonce"])
    return round_


def _closes(actor: str = "office") -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "round.close", AuditEntry.actor == actor))


def test_a_big_close_returns_at_once_and_its_page_shows_the_outcome(app, client, demo, runner):
    app.config["JOB_CLOSE_BALLOTS"] = 2  # a round of more ballots is closed by a job
    round_ = _round_with_ballots(3)
    round_id = round_.id
    login(client, "office")

    job_id = _job_id(close_on_web(client, round_))

    assert _job_id(close_on_web(client, round_)) == job_id  # a double click: the same job
    assert db.session.get(Round, round_id).state is RoundState.OPEN  # nothing done yet
    waiting = client.get(f"/jobs/{job_id}")
    assert waiting.headers["Refresh"] == "2" and "排队中" in waiting.get_data(as_text=True)
    assert "<script" not in waiting.get_data(as_text=True)
    assert "Refresh" not in client.get(f"/jobs/{job_id}?refresh=off").headers
    assert "1 job(s) run" in _work(runner)
    assert db.session.get(Round, round_id).state is RoundState.CLOSED
    done = client.get(f"/jobs/{job_id}")
    page = done.get_data(as_text=True)
    assert "Refresh" not in done.headers
    assert "已完成" in page and "共收回 3 份" in page
    assert _closes() == 1  # audited as the office, as a close from the page is


def test_a_small_close_stays_in_the_request(app, client, demo):
    round_ = _round_with_ballots(2)
    login(client, "office")
    response = close_on_web(client, round_)
    assert response.headers["Location"].endswith(f"/rounds/{round_.id}")
    assert db.session.get(Round, round_.id).state is RoundState.CLOSED


def test_a_failing_job_says_why_and_leaves_nothing_half_done(app, client, demo, runner,
                                                            monkeypatch):
    app.config["JOB_CLOSE_BALLOTS"] = 0
    round_ = _round_with_ballots(3)
    round_id = round_.id
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))

    from evalsvc.services import seal

    def broken(*_args):
        raise RuntimeError("disk full")
    monkeypatch.setattr(seal, "seal", broken)  # fails after the shuffle and the stored result
    _work(runner)

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "已撤销，数据未作任何改动" in page and "RuntimeError" in page
    stored = db.session.get(Round, round_id)
    assert stored.state is RoundState.OPEN and stored.digest is None
    assert _closes() == 0
    # Submitted again once the fault is gone, it closes the round.
    monkeypatch.undo()
    again = _job_id(client.post(f"/jobs/{job_id}/retry"))
    assert again != job_id
    _work(runner)
    assert db.session.get(Round, round_id).state is RoundState.CLOSED
    assert "已完成" in client.get(f"/jobs/{again}").get_data(as_text=True)


def test_a_failed_export_leaves_no_half_file(app, client, demo, runner, monkeypatch):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "office")
    job_id = _job_id(client.get("/dashboard/export.xlsx"))

    from evalsvc.render import exports

    def half(_sheets, out, **_kw):
        out.write(b"PK\x03\x04 half a workbook")
        raise OSError("no space left on device")
    monkeypatch.setattr(exports, "write_xlsx", half)
    _work(runner)

    job = db.session.get(Job, job_id)
    assert job.state is JobState.FAILED and job.result_file is None
    folder = jobs.job_folder()
    assert not folder.exists() or list(folder.iterdir()) == []
    assert client.get(f"/jobs/{job_id}/file").status_code == 404
    exported = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "export.overview"))
    assert exported == 0


def test_the_file_is_only_for_the_user_who_asked(app, make_app, client, demo, runner):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "office")
    job_id = _job_id(client.get("/dashboard/export.csv"))
    _work(runner)

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "下载 campaign-overview.csv" in page
    assert f'href="/jobs/{job_id}"' in client.get("/jobs/").get_data(as_text=True)
    download = client.get(f"/jobs/{job_id}/file")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert "县委办公室党支部" in download.data.decode("utf-8")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "export.overview", AuditEntry.actor == "office")) == 1
    for other in ("supervisor", "secretary"):
        stranger = app.test_client()
        login(stranger, other)
        assert f'/jobs/{job_id}"' not in stranger.get("/jobs/").get_data(as_text=True)
        assert stranger.get(f"/jobs/{job_id}").status_code == 404
        assert stranger.get(f"/jobs/{job_id}/file").status_code == 404
        assert stranger.post(f"/jobs/{job_id}/retry").status_code == 404
    assert app.test_client().get(f"/jobs/{job_id}/file").status_code == 302  # to login


def test_a_job_page_escapes_free_text(app, client, demo, runner):
    app.config["JOB_CLOSE_BALLOTS"] = 0
    round_ = _round_with_ballots(1, title="<b>整改</b>测评")
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    for url in (f"/jobs/{job_id}", "/jobs/"):
        page = client.get(url).get_data(as_text=True)
        assert "&lt;b&gt;整改&lt;/b&gt;测评" in page and "<b>整改" not in page


def test_a_job_whose_worker_died_ends_failed_not_running(app, client, demo, runner):
    app.config["JOB_CLOSE_BALLOTS"] = 0
    round_ = _round_with_ballots(1)
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    job_runner.claim_next()  # a worker took it, then died: its heartbeat stops
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        heartbeat_at=utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1)))
    db.session.commit()

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)

    assert "任务中断" in page and "重新提交此任务" in page
    assert db.session.get(Round, round_.id).state is RoundState.OPEN


def test_a_starting_worker_fails_what_no_worker_can_still_be_running(app, client, demo,
                                                                    runner):
    """On SQLite the worker is the only one: a job still running has lost its worker. On
    PostgreSQL another worker may be running it: only a stale heartbeat counts."""
    app.config["JOB_CLOSE_BALLOTS"] = 0
    round_ = _round_with_ballots(1)
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    job_runner.claim_next()
    db.session.commit()
    output = _work(runner)
    state = db.session.get(Job, job_id).state
    if db.engine.dialect.name == "sqlite":
        assert "1 interrupted job(s) marked failed" in output and state is JobState.FAILED
    else:
        assert "interrupted" not in output and state is JobState.RUNNING


def test_bulk_actions_over_many_branches_run_as_a_job(app, client, demo, runner):
    app.config["JOB_BULK_BRANCHES"] = 0
    app.config["JOB_BATCH_CARDS"] = 0
    login(client, "office")
    create = {"action": "create", "batch": "1", "under": "", "kind": "satisfaction",
              "stage": "review", "member_cards": "", "masses_cards": "4", "service_cards": "0"}
    created = _job_id(client.post("/rounds/bulk/run", data=create))
    opened = _job_id(client.post("/rounds/bulk/run", data={**create, "action": "open"}))
    _work(runner)
    assert "创建 5 次测评" in client.get(f"/jobs/{created}").get_data(as_text=True)
    assert "开始 5 次测评" in client.get(f"/jobs/{opened}").get_data(as_text=True)
    cards = _job_id(client.post("/rounds/bulk/cards.pdf", data=create))
    _work(runner)
    pdf = client.get(f"/jobs/{cards}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    closed = _job_id(client.post("/rounds/bulk/run", data={**create, "action": "close"}))
    _work(runner)
    assert "结束 5 次测评" in client.get(f"/jobs/{closed}").get_data(as_text=True)
    assert db.session.get(Job, closed).progress == 100
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(
        Round.state == RoundState.CLOSED)) == 5


def test_the_weekly_report_file_runs_as_a_job(app, client, demo, runner):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "supervisor")
    job_id = _job_id(client.get("/reports/weekly.xlsx"))
    _work(runner)
    download = client.get(f"/jobs/{job_id}/file")
    assert download.status_code == 200 and download.data.startswith(b"PK")


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not answering ({exc}): start it as .ci/run does",
                    pytrace=False)
    return client


def test_with_redis_the_job_goes_through_rq(app, client, demo):
    from rq import Queue, SimpleWorker

    connection = _redis()
    app.config.update(REDIS_URL=REDIS_URL, JOB_QUEUE=f"test-{secrets.token_hex(6)}",
                      JOB_CLOSE_BALLOTS=0)
    queue = Queue(app.config["JOB_QUEUE"], connection=connection)
    try:
        round_ = _round_with_ballots(2)
        login(client, "office")
        job_id = _job_id(close_on_web(client, round_))
        assert queue.count == 1
        assert SimpleWorker([queue], connection=connection).work(burst=True)
        db.session.rollback()
        assert db.session.get(Round, round_.id).state is RoundState.CLOSED
        assert "共收回 2 份" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)
        connection.close()


def test_with_redis_down_the_job_says_so(app, client, demo):
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", JOB_CLOSE_BALLOTS=0)
    round_ = _round_with_ballots(1)
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    assert "无法连接任务队列" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert db.session.get(Round, round_.id).state is RoundState.OPEN


def test_a_file_is_deleted_a_day_after_its_job(app, client, demo, runner):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "office")
    job_id = _job_id(client.get("/dashboard/export.csv"))
    _work(runner)
    stored = jobs.job_folder() / db.session.get(Job, job_id).result_file
    assert stored.is_file() and stored.stat().st_mode & 0o077 == 0  # owner-only
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        finished_at=utcnow() - timedelta(hours=app.config["JOB_FILE_HOURS"], minutes=1)))
    db.session.commit()

    assert job_runner.expire_files() == 1

    assert not stored.exists()
    assert client.get(f"/jobs/{job_id}/file").status_code == 404
    assert "文件已在生成 24 小时后从服务器删除" in client.get(f"/jobs/{job_id}").get_data(
        as_text=True)


def test_a_file_no_job_recorded_is_deleted_as_old_files_are(app):
    """A worker killed between renaming its file into place and recording it leaves a file
    no row knows (a card PDF would keep its codes): it goes when it is as old as the rest."""
    import os
    import time

    folder = jobs.job_folder()
    folder.mkdir(parents=True, exist_ok=True)
    orphan, fresh = folder / "7-0123456789abcdef.pdf", folder / "8-fedcba9876543210.pdf"
    orphan.write_bytes(b"%PDF codes"), fresh.write_bytes(b"%PDF codes")
    old = time.time() - app.config["JOB_FILE_HOURS"] * 3600 - 60
    os.utime(orphan, (old, old))

    assert job_runner.expire_files() == 1

    assert not orphan.exists() and fresh.exists()


def test_a_large_audit_export_runs_as_a_job(app, client, demo, runner):
    app.config["JOB_EXPORT_ENTRIES"] = 0
    login(client, "office")
    _round_with_ballots(1)  # its creation and opening are in the log
    job_id = _job_id(client.get("/audit/export.xlsx?action=round"))
    _work(runner)
    download = client.get(f"/jobs/{job_id}/file")
    assert download.status_code == 200 and download.data.startswith(b"PK")
    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "export.audit_log")).one()
    assert entry.actor == "office" and '"action": "round"' in entry.detail


def test_a_bulk_close_failing_half_way_says_what_it_kept(app, client, demo, runner,
                                                         monkeypatch):
    """A bulk close seals round by round: the job names the rounds it closed (they stay
    closed) and the ones left open; submitted again, it closes the rest."""
    from evalsvc.services import closing

    app.config["JOB_BULK_BRANCHES"] = 0
    login(client, "office")
    create = {"action": "create", "batch": "1", "under": "", "kind": "satisfaction",
              "stage": "review", "member_cards": "", "masses_cards": "4", "service_cards": "0"}
    for action in ("create", "open"):
        client.post("/rounds/bulk/run", data={**create, "action": action})
    _work(runner)
    close_one, calls = closing.close_round, []

    def third_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return close_one(*args, **kwargs)
    monkeypatch.setattr(closing, "close_round", third_fails)
    job_id = _job_id(client.post("/rounds/bulk/run", data={**create, "action": "close"}))
    _work(runner)

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "已结束 2 次测评（各自封存，保持结束），其余 3 次" in page
    assert "数据未作任何改动" not in page
    open_rounds = sa.select(sa.func.count()).select_from(Round).where(
        Round.state == RoundState.OPEN)
    assert db.session.scalar(open_rounds) == 3
    monkeypatch.undo()
    _job_id(client.post(f"/jobs/{job_id}/retry"))
    _work(runner)
    assert db.session.scalar(open_rounds) == 0


def test_a_filtered_overview_export_job_exports_what_the_filter_admits(app, client, demo,
                                                                        runner):
    """The filter travels to the job as JSON (numbers, not query strings) and the job reads
    it back: a batch or a 党委 chosen on the dashboard still filters the file."""
    from evalsvc.models import Organisation

    app.config["JOB_EXPORT_BRANCHES"] = 0
    parent = db.session.scalar(sa.select(Organisation.id).where(Organisation.code == "XW05"))
    query = f"parent={parent}"
    login(client, "office")
    job_id = _job_id(client.get(f"/dashboard/export.csv?{query}"))
    _work(runner)
    job = db.session.get(Job, job_id)
    assert job.state is JobState.DONE, job.message
    exported = client.get(f"/jobs/{job_id}/file").data.decode("utf-8")
    app.config["JOB_EXPORT_BRANCHES"] = 10**6
    inline = client.get(f"/dashboard/export.csv?{query}").get_data(as_text=True)
    assert exported == inline and exported.count("\n") > 1  # a header and some branches
    everything = client.get("/dashboard/export.csv").get_data(as_text=True)
    assert everything.count("\n") > exported.count("\n")


def test_a_job_of_an_account_disabled_since_it_was_asked_does_nothing(app, client, demo,
                                                                      runner):
    from evalsvc.models import User

    app.config["JOB_CLOSE_BALLOTS"] = 0
    round_ = _round_with_ballots(2)
    round_id = round_.id
    login(client, "office")
    job_id = _job_id(close_on_web(client, round_))
    db.session.scalar(sa.select(User).where(User.username == "office")).active = False
    db.session.commit()
    _work(runner)
    job = db.session.get(Job, job_id)
    assert job.state is JobState.FAILED and "权限" in job.message
    assert db.session.get(Round, round_id).state is RoundState.OPEN and _closes() == 0


def test_a_weekly_report_job_of_an_account_made_a_secretary_since_makes_no_file(
        app, client, demo, runner):
    from evalsvc.models import Role, User

    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "supervisor")
    job_id = _job_id(client.get("/reports/weekly.xlsx"))
    supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
    supervisor.role, supervisor.branch_id = Role.SECRETARY, demo["XW0101"]
    db.session.commit()
    _work(runner)
    job = db.session.get(Job, job_id)
    assert job.state is JobState.FAILED and job.result_file is None


def test_a_job_the_queue_lost_does_not_hold_the_next_request(app, client, demo, runner):
    """Redis lost a queued job: asking again later is queued anew, not handed the lost job
    (a double click, at once, still gets the same job)."""
    app.config.update(JOB_EXPORT_BRANCHES=0, JOB_STALE_SECONDS=600)
    login(client, "supervisor")
    lost = _job_id(client.get("/reports/weekly.xlsx"))
    assert _job_id(client.get("/reports/weekly.xlsx")) == lost  # a double click
    db.session.execute(sa.update(Job).where(Job.id == lost).values(
        created_at=utcnow() - timedelta(seconds=601)))  # waited past JOB_STALE_SECONDS
    db.session.commit()
    again = _job_id(client.get("/reports/weekly.xlsx"))
    assert again != lost
    _work(runner)  # the local worker runs both (the lost one is still in the table)
    assert client.get(f"/jobs/{again}/file").data.startswith(b"PK")


def _org_id(code: str) -> int:
    from evalsvc.models import Organisation
    return db.session.scalar(sa.select(Organisation.id).where(Organisation.code == code))


def test_an_export_job_is_titled_by_its_filter(app, client, demo):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "office")
    job_id = _job_id(client.get(f"/dashboard/export.xlsx?batch=1&parent={_org_id('XW01')}"
                                "&mark=make_up&q=办公"))
    title = db.session.get(Job, job_id).title
    assert title == "导出总览（XLSX）：第1批 · 县直机关党委 · 补课 · 含“办公”"
    assert title in client.get("/jobs/").get_data(as_text=True)
    # Unfiltered, the title says nothing more.
    assert db.session.get(Job, _job_id(client.get("/dashboard/export.csv"))).title \
        == "导出总览（CSV）"


def test_an_export_of_a_committee_out_of_scope_starts_no_job(app, client, demo):
    app.config["JOB_EXPORT_BRANCHES"] = 0
    login(client, "supervisor")  # sees XW01 and XW02 only
    response = client.get(f"/dashboard/export.xlsx?parent={_org_id('XW05')}")
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    # Within scope, the committee is named.
    job_id = _job_id(client.get(f"/dashboard/export.xlsx?parent={_org_id('XW02')}"))
    assert db.session.get(Job, job_id).title == "导出总览（XLSX）：县教育局党委"
