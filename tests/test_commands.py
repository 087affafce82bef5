"""The two commands: ``scripts/test`` installs what the browser tests need when npm is there
(else says exactly how), and CI installs a CJK font so its screenshots show Chinese."""
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checkout(tmp_path: Path) -> Path:
    """A copy of the parts of a fresh clone the command reads (no node_modules)."""
    (tmp_path / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "browser-deps", tmp_path / "scripts")
    (tmp_path / "tests" / "browser").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tests" / "browser" / name, tmp_path / "tests" / "browser")
    return tmp_path


def _bin(tmp_path: Path, npm: bool) -> Path:
    """A PATH holding the few tools the script uses, and a stand-in npm when asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cat", "dirname", "mkdir", "touch"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    if npm:
        fake = bin_dir / "npm"
        fake.write_text('#!/bin/bash\necho "$@" > "$NPM_LOG"\n'
                        'mkdir -p tests/browser/node_modules/axe-core\n'
                        'touch tests/browser/node_modules/axe-core/axe.min.js\n')
        fake.chmod(0o755)
    return bin_dir


def _run(checkout: Path, bin_dir: Path, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/bash", str(checkout / "scripts" / "browser-deps")],
                          env={"PATH": str(bin_dir), "NPM_LOG": str(log)},
                          capture_output=True, text=True, timeout=30)


def test_scripts_test_installs_axe_core_when_npm_is_there(tmp_path):
    checkout = _checkout(tmp_path / "clone")
    log = tmp_path / "npm.log"
    done = _run(checkout, _bin(tmp_path, npm=True), log)
    assert done.returncode == 0
    assert "ci" in log.read_text() and "--prefix tests/browser" in log.read_text()
    assert (checkout / "tests/browser/node_modules/axe-core/axe.min.js").is_file()
    assert "browser-deps" in (ROOT / "scripts" / "test").read_text()


def test_scripts_test_says_exactly_how_without_npm(tmp_path):
    checkout = _checkout(tmp_path / "clone")
    done = _run(checkout, _bin(tmp_path, npm=False), tmp_path / "npm.log")
    assert done.returncode == 0  # the rest of the suite still runs
    assert "sudo apt-get install npm" in done.stderr
    assert "npm ci --prefix tests/browser" in done.stderr


def test_ci_installs_a_cjk_font_for_screenshots():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "fc-list :lang=zh" in ci and "fonts-wqy-microhei" in ci


def _run_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout with scripts/run and an installed-looking .venv whose ``evalsvc`` only
    logs what it was asked: the worker waits until it is stopped, the server returns."""
    checkout = tmp_path / "clone"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run", checkout / "scripts")
    venv = checkout / ".venv" / "bin"
    venv.mkdir(parents=True)
    log = tmp_path / "evalsvc.log"
    (venv / "python").write_text("#!/bin/bash\nexit 0\n")
    (venv / "evalsvc").write_text(
        '#!/bin/bash\necho "$*" >> "$EVALSVC_LOG"\n'
        'if [ "$1" = worker ]; then\n'
        '  trap \'echo "worker stopped" >> "$EVALSVC_LOG"; exit 0\' TERM\n'
        '  echo started > "$EVALSVC_LOG.worker"\n'
        '  while :; do sleep 0.05; done\n'
        'fi\n'
        'if [ "$1" = run ]; then\n'  # serve until the worker is up, then stop
        '  for _ in $(seq 200); do [ -f "$EVALSVC_LOG.worker" ] && exit 0; sleep 0.05; done\n'
        '  exit 1\n'
        'fi\n')
    for tool in (venv / "python", venv / "evalsvc"):
        tool.chmod(0o755)
    return checkout, log


def test_scripts_run_starts_the_job_worker_and_stops_it_with_the_server(tmp_path):
    checkout, log = _run_checkout(tmp_path)
    done = subprocess.run(["/bin/bash", str(checkout / "scripts" / "run")],
                          env={**os.environ, "EVALSVC_LOG": str(log), "PORT": "5123"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[:2] == ["init", "demo"]
    assert "worker" in calls and "run --host 127.0.0.1 --port 5123" in calls
    assert calls[-1] == "worker stopped"  # no worker outlives the server
