"""6. Start-up: what ``evalsvc --help`` and a worker's boot import, and how long it takes.

Each check runs in a fresh interpreter. Neither the CLI's help nor ``create_app()`` may
import matplotlib or reportlab (they belong to the few requests that draw). The import
time of ``evalsvc`` (and of a whole worker boot) is compared with bare Flask's, best of 5
for each, measured alternately.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from bench.report import Report, ms, ratio
from bench.server import PROJECT_ROOT, SECRET_KEY

SECTION = "6. start-up"
HEAVY = ("matplotlib", "reportlab")
TIMEOUT = 120
REPORT_MODULES = (
    "import json, sys\n"
    "print('@@' + json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {HEAVY})),"
    " file=sys.stderr)\n"
)
HELP = ("import sys\nfrom evalsvc.cli import main\n"
        "try:\n    main(['--help'], prog_name='evalsvc')\nexcept SystemExit:\n    pass\n")
BOOT = "import evalsvc\napp = evalsvc.create_app()\n"
SNIPPETS = {
    "import evalsvc": "import evalsvc",
    "import flask": "import flask",
    "worker boot: import evalsvc; create_app()": BOOT,
    "bare: import flask; Flask(__name__)": "import flask\napp = flask.Flask(__name__)\n",
}


def _env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env.update({"EVALSVC_DATABASE_URL": f"sqlite:///{tmp}/startup.sqlite3",
                "EVALSVC_INSTANCE_PATH": tmp, "EVALSVC_SECRET_KEY": SECRET_KEY})
    return env


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{done.stderr[-2000:]}")
    return done


def _heavy_modules(code: str, env: dict[str, str]) -> list[str]:
    done = _python(code + REPORT_MODULES.replace("{HEAVY}", repr(set(HEAVY))), env)
    line = next(l for l in done.stderr.splitlines() if l.startswith("@@"))
    return json.loads(line[2:])


def _slowest_imports(code: str, env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """The packages whose own modules took longest to import (``python -X importtime``,
    self time summed per top-level package)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _cumulative, name = (part for part in line[len("import time:"):].split("|"))
        package = name.strip().split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(own) / 1e6
    return sorted(by_package.items(), key=lambda item: -item[1])[:top]


def _wall(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    _python(code, env)
    return time.perf_counter() - start


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Check the imports, then time the interpreters."""
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="evalsvc-bench-startup-") as tmp:
        env = _env(tmp)
        for label, code in (("evalsvc --help", HELP), ("worker boot (create_app)", BOOT)):
            heavy = _heavy_modules(code, env)
            report.check(SECTION, f"{label}: heavy imports", ", ".join(heavy) or "none",
                         not heavy, "no matplotlib, no reportlab")
        _wall("pass", env)  # warm the file system cache
        times = {label: [] for label in SNIPPETS}
        for _ in range(repeats):
            for label, code in SNIPPETS.items():
                times[label].append(_wall(code, env))
        empty = min(_wall("pass", env) for _ in range(repeats))
        slowest = _slowest_imports(BOOT, env)
    best = {label: min(values) for label, values in times.items()}
    report.note(f"wall time of `python -c …`, best of {repeats}; an empty interpreter "
                f"takes {ms(empty)} (subtracted for the net ratio)")
    pairs = (("import evalsvc", "import flask"),
             ("worker boot: import evalsvc; create_app()", "bare: import flask; Flask(__name__)"))
    for ours, theirs in pairs:
        report.figure(SECTION, ours, ms(best[ours]),
                      f"{ratio(best[ours], best[theirs])}; net of the interpreter "
                      f"{ratio(best[ours] - empty, best[theirs] - empty).split()[0]}")
        report.figure(SECTION, f"baseline: {theirs}", ms(best[theirs]))
    report.note("import time of a worker boot by package (-X importtime, self times): "
                + ", ".join(f"{name} {ms(seconds)}" for name, seconds in slowest))
