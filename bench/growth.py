"""7. Growth: the campaign's pages and exports at 500, 5,000 and 50,000 branches (PostgreSQL).

The campaign (``bench/growth_data.py``) is built at the first size and grown to the next
ones. At each size, each page is fetched through Flask's test client, logged in as the
office (or the supervisor, whose scope is the first 市: every branch up to 5,000, a tenth
of 50,000), in a process of its own that the benchmark ends when one request takes longer
than ``REQUEST_CAP`` (TIMEOUT); a page that answers with an error is a FAIL, and the
benchmark goes on. Per page: the median of 3 (a page whose first request took over
``SLOW`` seconds is fetched once), its SQL statements, its size, and the peak memory
growth of that process during the request. ``evalsvc export campaign --xlsx`` runs in a
fresh process, its peak memory growth measured like ``bench/exports.py`` does.

Floors: at the largest size each page takes at most 3 × its time at the smallest; each
export grows peak memory by at most 200 MiB.

    python -m bench.growth page DATABASE_URL INSTANCE USER PASSWORD PATH   (one page)
    python -m bench.growth export DATABASE_URL INSTANCE OUT                (the export)
    python -m bench.growth build SIZE [SIZE…]                               (kept data)

``build`` grows the campaign to each SIZE in turn in a PostgreSQL schema that is **kept**
(not dropped), and prints the database URL and instance directory of it, so a page can be
profiled again and again on data built once; drop the schema by hand afterwards
(``DROP SCHEMA bench_xxx CASCADE``). ``BENCH_GROWTH_KEEP=1`` keeps the schema of a full
``scripts/bench --only growth`` run the same way (at its largest size).
"""
from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from bench.report import Report, mib
from bench.server import SECRET_KEY

SECTION = "7. growth"
SIZES = (500, 5_000, 50_000)
QUICK_SIZES = (100, 1_000, 5_000)
REPEATS = 3
SLOW = 30.0  # seconds: a page this slow is fetched once, not three times
REQUEST_CAP = 120.0  # seconds for one request (or one export) before it is ended
START_CAP = 60.0  # seconds for a page process to load the app and log in
MAX_RATIO = 3.0
MAX_GROWTH = 200 * 2**20


# ---------------------------------------------------------------------------------------
# In the page process


def fetch(client, path: str, app=None):
    """GET ``path`` as a user would get it; if it answers with a background job (a 202,
    or a redirect to a job page), run what is pending and follow the job to its file.
    Returns the final response. (Adapt here when exports become jobs.)"""
    response = client.get(path)
    deadline = time.monotonic() + REQUEST_CAP
    while (response.status_code == 202 or (response.status_code in (302, 303) and
                                            "/jobs/" in response.headers.get("Location", ""))):
        if time.monotonic() > deadline:
            break
        _run_pending_jobs(app)
        location = response.headers.get("Location") or path
        response = client.get(location)
        if response.status_code == 200 and response.mimetype == "text/html" and \
                "/jobs/" in location:
            link = _job_file_link(response.get_data(as_text=True))
            if link is None:
                time.sleep(0.2)
                response = client.get(location)
                if response.mimetype == "text/html" and \
                        _job_file_link(response.get_data(as_text=True)) is None:
                    continue
                link = _job_file_link(response.get_data(as_text=True))
            response = client.get(link)
    return response


def _run_pending_jobs(app) -> None:
    """Run the queued jobs in this process, as ``evalsvc worker --burst`` does without
    Redis, so an export that answers with a job page is timed to its finished file."""
    from evalsvc.services import job_runner

    with app.app_context():
        job_runner.work_locally(burst=True)


def _job_file_link(html: str) -> str | None:
    import re

    match = re.search(r'href="([^"]*/jobs/[^"]*/(?:file|download)[^"]*)"', html)
    return match.group(1) if match else None


def _page_worker(url: str, instance: str, username: str, password: str, path: str) -> int:
    """Fetch ``path`` up to REPEATS times; one JSON line per request, flushed at once."""
    import sqlalchemy as sa

    from bench.memory import reset_peak, status
    from evalsvc import create_app
    from evalsvc.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
                      "WTF_CSRF_ENABLED": False}, instance_path=instance)
    client = app.test_client()
    login = client.post("/login", data={"username": username, "password": password})
    if login.status_code != 302:
        print(json.dumps({"error": f"login as {username}: {login.status_code}"}), flush=True)
        return 1
    with app.app_context():
        engine = db.engine
    from evalsvc.heap import settle

    settle()  # as a gunicorn worker does once it has loaded the app (gunicorn.conf.py)
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *_a: statements.append(1))
    print(json.dumps({"ready": True}), flush=True)
    for n in range(REPEATS):
        statements.clear()
        rss = status("VmRSS")
        reset_peak()
        start = time.perf_counter()
        response = fetch(client, path, app)
        seconds = time.perf_counter() - start
        body = response.get_data()
        print(json.dumps({"seconds": seconds, "status": response.status_code,
                          "bytes": len(body), "statements": len(statements),
                          "growth": status("VmHWM") - rss,
                          "tail": body[-300:].decode("utf-8", "replace")
                          if response.status_code >= 400 else ""}), flush=True)
        if response.status_code >= 400 or (n == 0 and seconds > SLOW):
            break
    return 0


def _export_worker(url: str, instance: str, out: str) -> int:
    """``evalsvc export campaign --xlsx OUT`` in this fresh process, through the CLI's own
    code; prints time and peak memory growth as JSON."""
    from bench.memory import reset_peak, status
    from evalsvc import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}, instance_path=instance)
    runner = app.test_cli_runner()
    __import__("openpyxl.cell.cell")  # importing the library is not the export's growth
    __import__("evalsvc.render.exports")
    __import__("evalsvc.render.overview")
    rss = status("VmRSS")
    exact = reset_peak()
    start = time.perf_counter()
    with app.app_context():  # as the ``evalsvc`` command (a FlaskGroup) runs its commands
        result = export_campaign_xlsx(runner, out)
    seconds = time.perf_counter() - start
    why = ""
    if result.exception is not None and result.exit_code:
        import traceback

        why = "".join(traceback.format_exception(result.exception))[-1500:]
    print(json.dumps({"seconds": seconds, "growth": status("VmHWM") - rss, "exact": exact,
                      "exit": result.exit_code, "output": (result.output + why)[-1500:],
                      "bytes": os.path.getsize(out) if os.path.exists(out) else 0}))
    return 0


def export_campaign_xlsx(runner, out: str):
    """The campaign XLSX export as the operator runs it (adapt here if it becomes a job)."""
    return runner.invoke(args=["export", "campaign", "--xlsx", out])


# ---------------------------------------------------------------------------------------
# In the benchmark process


def _run_page(database, user: tuple[str, str], path: str) -> dict:
    """One page in its own process; every request capped. Returns the figures, or
    {"error": …} / {"timeout": True, …}."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.growth", "page", database.url, str(database.instance),
         user[0], user[1], path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in process.stdout] + [lines.put(None)],
                     daemon=True).start()
    errors: list[str] = []
    threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True).start()
    runs = []
    cap = START_CAP
    try:
        while True:
            try:
                line = lines.get(timeout=cap)
            except queue.Empty:
                return {"timeout": True, "runs": runs}
            if line is None:
                break
            got = json.loads(line)
            if "error" in got:
                return got
            if got.get("ready"):
                cap = REQUEST_CAP
                continue
            runs.append(got)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    if not runs:
        return {"error": f"no answer: {''.join(errors)[-800:]}"}
    return {"runs": runs}


def _run_export(database) -> dict:
    out = database.workdir / "campaign.xlsx"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.growth", "export", database.url,
             str(database.instance), str(out)], capture_output=True, text=True,
            timeout=REQUEST_CAP * 5, check=False,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except subprocess.TimeoutExpired:
        return {"timeout": True}
    if done.returncode != 0 or not done.stdout.strip():
        return {"error": done.stderr[-800:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def pages(growth) -> list[tuple[str, tuple[str, str], str]]:
    """(label, user, path) of the timed pages."""
    from bench.growth_data import OFFICE, SUPERVISOR

    return [("office dashboard (first page)", OFFICE, "/dashboard"),
            ("live view", OFFICE, "/live"),
            ("rounds list /rounds", OFFICE, "/rounds"),
            ("org tree /", OFFICE, "/"),
            ("supervisor dashboard", SUPERVISOR, "/dashboard"),
            ("weekly report page", OFFICE, "/reports/weekly"),
            ("weekly report XLSX", OFFICE, "/reports/weekly.xlsx"),
            ("weekly report PDF", OFFICE, "/reports/weekly.pdf"),
            ("a branch page", OFFICE, f"/orgs/{growth.templates[2].org_id}")]


def _measure(report: Report, section: str, growth, size: int, found: dict) -> None:
    for label, user, path in pages(growth):
        got = _run_page(growth.database, user, path)
        runs = got.get("runs", [])
        if got.get("timeout"):
            found[label] = None
            report.figure(section, label, "TIMEOUT", f"> {REQUEST_CAP:.0f} s for one request",
                          verdict="FAIL")
            continue
        if "error" in got or any(r["status"] >= 400 for r in runs):
            found[label] = None
            bad = next((r for r in runs if r["status"] >= 400), {})
            why = got.get("error") or f"HTTP {bad.get('status')}"
            report.figure(section, label, "FAIL", why.splitlines()[-1][:60] if why else "",
                          verdict="FAIL")
            continue
        seconds = statistics.median(r["seconds"] for r in runs)
        found[label] = seconds
        last = runs[-1]
        report.figure(section, label, f"{seconds:.2f} s",
                      f"{last['statements']} SQL, {last['bytes'] / 1e6:.2f} MB",
                      f"peak RSS +{mib(max(r['growth'] for r in runs))}"
                      + ("" if len(runs) == REPEATS else f" ({len(runs)} run)"))
    got = _run_export(growth.database)
    label = "export campaign --xlsx"
    if got.get("timeout"):
        found[label] = None
        report.figure(section, label, "TIMEOUT", f"> {REQUEST_CAP * 5:.0f} s", verdict="FAIL")
    elif "error" in got or got.get("exit"):
        found[label] = None
        report.figure(section, label, "FAIL", (got.get("error") or got.get("output", ""))
                      .strip().splitlines()[-1][:60] if (got.get("error") or got.get("output"))
                      else "", verdict="FAIL")
    else:
        found[label] = got["seconds"]
        report.check(section, f"{label}: peak RSS +", mib(got["growth"]),
                     got["growth"] <= MAX_GROWTH, f"≤ {MAX_GROWTH // 2**20} MiB",
                     f"{got['seconds']:.1f} s, {got['bytes'] / 1e6:.2f} MB file")


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Grow the campaign size by size on PostgreSQL and time its pages at each."""
    import signal

    if "postgres" not in kinds:
        report.note("growth runs on PostgreSQL only: skipped", SECTION)
        return
    # Ended from outside (SIGTERM): unwind, so the schema and scratch files are dropped.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        _run(report, quick)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(report: Report, quick: bool) -> None:
    from bench import growth_data

    sizes = QUICK_SIZES if quick else SIZES
    report.note("left out of the data (no timed page or export reads them): answers, "
                "receipts and spent cards of closed rounds; ballots rows are kept (pages "
                "count them)", SECTION)
    by_size: dict[int, dict] = {}
    keep = os.environ.get("BENCH_GROWTH_KEEP", "") not in ("", "0")
    with _campaign(keep) as growth:
        if keep:
            report.note(f"kept (BENCH_GROWTH_KEEP): {growth.database.url} instance "
                        f"{growth.database.instance}", SECTION)
        for size in sizes:
            seconds = growth_data.grow(growth, size)
            section = f"{SECTION} / {size:,} branches"
            supervised = min(size, growth_data.BRANCHES_PER_CITY)
            if size == sizes[0]:
                report.figure(section, "generation: the 6 template branches",
                              f"{growth.steps[0][1]:.0f} s",
                              "through the services (create, open, cast, close, decide)")
            report.figure(section, "generation (grow to this size)", f"{seconds:.0f} s",
                          f"database {growth_data.database_bytes(growth) / 2**20:.0f} MiB",
                          f"supervisor scope {supervised:,} branches")
            by_size[size] = {}
            _measure(report, section, growth, size, by_size[size])
    _ratios(report, sizes, by_size)


@contextmanager
def _campaign(keep: bool):
    """A PostgreSQL schema (dropped afterwards unless ``keep``), initialised, with an app on
    it and the template branches built: the ``Growth`` to grow."""
    from bench.databases import fresh_database
    from bench.inproc import PUBLIC_URL, app_on
    from bench.server import evalsvc_cli, evalsvc_env
    from bench import growth_data

    with fresh_database("postgres", keep=keep) as database:
        env = evalsvc_env(database.url, database.instance, PUBLIC_URL)
        evalsvc_cli(env, "init", cwd=database.instance)
        with app_on(database, WTF_CSRF_ENABLED=False) as app:
            yield growth_data.start(database, app)


def _ratios(report: Report, sizes, by_size) -> None:
    small, large = sizes[0], sizes[-1]
    section = f"{SECTION} / {large:,} vs {small:,}"
    for label, base in by_size[small].items():
        if label.startswith("export"):
            continue
        top = by_size[large].get(label)
        if base is None or top is None:
            report.figure(section, label, "—" if top is None else f"{top:.2f} s",
                          "no time at one size", f"≤ {MAX_RATIO:.0f}× at {small:,}",
                          verdict="FAIL")
            continue
        report.check(section, label, f"{top / base:.1f}×", top <= MAX_RATIO * base,
                     f"≤ {MAX_RATIO:.0f}× at {small:,}", f"{base:.2f} s → {top:.2f} s")


def build(sizes: list[int]) -> int:
    """Grow a kept campaign to each size; print where it is (see the module's docstring)."""
    from bench import growth_data

    with _campaign(keep=True) as growth:
        for size in sizes:
            seconds = growth_data.grow(growth, size)
            print(f"{size:,} branches in {seconds:.0f} s", flush=True)
        print(f"url {growth.database.url}\ninstance {growth.database.instance}\n"
              f"branch page /orgs/{growth.templates[2].org_id}")
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "build":
        return build([int(n) for n in argv[2:]])
    if argv[1] == "page":
        return _page_worker(*argv[2:7])
    if argv[1] == "export":
        return _export_worker(*argv[2:5])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
