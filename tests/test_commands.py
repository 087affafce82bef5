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
