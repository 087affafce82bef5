"""The built wheel works on its own: installed outside the checkout, it sets up a database
and serves the login page and a phone ballot, with its templates, styles and forms."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from evalsvc import PROJECT_ROOT

TIMEOUT = 300  # seconds for any one step (a build on a busy machine included)
# What a build reads: the same list the source distribution holds (MANIFEST.in and setup.py).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "evalsvc", "templates",
           "static", "forms")

# Runs inside the installed evalsvc, on the database ``evalsvc init`` set up: the installed
# ``demo`` command (through the app's CLI, in this process rather than one more start of the
# interpreter and the app), then where the code came from, a round's card, three pages.
SERVE = """
import json, evalsvc
from evalsvc import create_app
from evalsvc.extensions import db
app = create_app()
runner = app.test_cli_runner()
with app.app_context():
    demo = runner.invoke(args=["demo"])
    assert demo.exit_code == 0 and "demo county loaded" in demo.stdout, demo.output
    round_id = runner.invoke(args=["round", "create", "--org", "XW0101", "--kind",
                                   "satisfaction", "--stage", "review", "--group",
                                   "masses=2"]).stdout.strip()
    runner.invoke(args=["round", "open", round_id])
    card = runner.invoke(args=["round", "cards", round_id, "--urls"]).stdout.split()[0]
    db.session.remove()
client = app.test_client()
pages = {}
paths = {"login": "/login", "ballot": "/" + card.split("/", 3)[3], "css": "/static/phone.css"}
for name, path in paths.items():
    response = client.get(path)
    pages[name] = [response.status_code, response.get_data(as_text=True)]
print(json.dumps({"module": evalsvc.__file__, "template_folder": app.template_folder,
                  "pages": pages}))
"""


def run(*command, **kwargs) -> str:
    """Run a command to completion; its stdout, or a failure showing its output."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False, **kwargs)
    assert done.returncode == 0, \
        f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def copy_sources(directory: Path) -> Path:
    """A copy of what a build reads (no build/ left in the checkout)."""
    source = directory / "source"
    source.mkdir()
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(PROJECT_ROOT / name, source / name)
    return source


def _is_editable(entry: Path) -> bool:
    """True for the metadata folder of an editable install (PEP 610's direct_url.json)."""
    direct_url = entry / "direct_url.json"
    return entry.suffix == ".dist-info" and direct_url.is_file() and \
        json.loads(direct_url.read_text()).get("dir_info", {}).get("editable", False)


def dependencies_only(directory: Path) -> Path:
    """This environment's installed packages, linked into ``directory``, without evalsvc and
    without any editable install (their import hooks would reach into the checkout)."""
    directory.mkdir()
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for entry in site_packages.iterdir():
        if entry.name.startswith("__editable__") or entry.name.split("-")[0] == "evalsvc" \
                or _is_editable(entry):
            continue
        (directory / entry.name).symlink_to(entry)
    return directory


def outside_environment() -> dict[str, str]:
    """This process's environment variables without what would lead the new environment's
    processes back into the checkout or this run: no EVALSVC_ settings, no PYTHONPATH, and
    no PYTHONPYCACHEPREFIX (the suite's bytecode folder, tests/conftest.py). Without the
    prefix, Python uses the bytecode beside the sources: what pip compiled when it installed
    the wheel, and this environment's own for the linked dependencies; under the prefix, the
    dependencies' paths (in this test's temporary folder) were new each run and every
    process compiled them again."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("EVALSVC_") and key not in ("PYTHONPATH",
                                                              "PYTHONPYCACHEPREFIX")}


@pytest.fixture
def installed(tmp_path):
    """A fresh virtual environment outside the checkout with the wheel built from a copy of the
    sources installed in it; the dependencies come from this environment. Returns its bin
    directory."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    purelib = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    deps = dependencies_only(tmp_path / "deps")
    (Path(purelib.strip()) / "evalsvc_test_dependencies.pth").write_text(f"{deps}\n")
    # One pip, this environment's, run by the new environment's Python (as ``pip --python``
    # does, without a second interpreter): it builds the wheel with this environment's
    # setuptools (a test dependency: no download of a build backend) and installs that wheel.
    run(str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", str(copy_sources(tmp_path)), env=outside_environment())
    return venv / "bin"


@pytest.mark.heavy
def test_installed_wheel_serves_the_login_page_and_a_phone_ballot(installed, databases,
                                                                  tmp_path):
    home = tmp_path / "deployment"  # the working directory: nothing of the checkout
    home.mkdir()
    with databases.empty(tmp_path) as url:
        env = outside_environment()
        env.update({"EVALSVC_DATABASE_URL": url, "EVALSVC_INSTANCE_PATH": str(home / "instance"),
                    "EVALSVC_SECRET_KEY": "wheel-test-key-" + "k" * 32,
                    "EVALSVC_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                    "EVALSVC_PUBLIC_URL": "http://evalsvc.test"})
        run(str(installed / "evalsvc"), "init", cwd=home, env=env)  # the packaged migrations
        served = json.loads(run(str(installed / "python"), "-c", SERVE, cwd=home, env=env))

    assert not Path(served["module"]).is_relative_to(PROJECT_ROOT)
    assert not Path(served["template_folder"]).is_relative_to(PROJECT_ROOT)
    (login_status, login), (ballot_status, ballot), (css_status, css) = (
        served["pages"][name] for name in ("login", "ballot", "css"))
    assert login_status == 200 and "用户名" in login and "密码" in login
    assert ballot_status == 200 and "提交" in ballot and "满意" in ballot  # the built-in form
    assert css_status == 200 and css == (PROJECT_ROOT / "static" / "phone.css").read_text()
