"""A real evalsvc server process for tests: ``evalsvc init``/``demo``, the CLI, and gunicorn.

Used by the reliability tests, and meant for browser tests and benchmarks too::

    server = LiveServer(database_url, tmp_path / "instance", workers=4)
    server.prepare()                 # evalsvc init + evalsvc demo
    round_id = server.cli("round", "create", "--org", "XW0101", ...).strip()
    server.start()                   # gunicorn on 127.0.0.1:<free port>, ready to serve
    ...
    server.kill_hard()               # SIGKILL the whole process group (a crash)
    server.restart()
    server.stop()                    # SIGTERM, then SIGKILL if it lingers

The operator commands run in the test's own process (Click's runner, the same commands and
configuration as the console script, whose start-up is tested in tests/cli): starting a Python
process per command cost seconds each. gunicorn is a real process. Everything is bounded in
time: a start-up that hangs fails the test.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

BIN = Path(sys.executable).parent
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the deployment config lives there
SECRET_KEY = "live-server-test-secret-key-0123456789"
# Fast hashing keeps account creation quick; production uses scrypt.
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

START_TIMEOUT = 30  # seconds for gunicorn to answer GET /login
STOP_TIMEOUT = 15  # seconds for a graceful stop before SIGKILL


def _gunicorn_options() -> list[str]:
    """Options that keep concurrent test servers apart."""
    major, minor = (int(p) for p in version("gunicorn").split(".")[:2])
    # Gunicorn 25.1+ opens one control socket per user ($HOME/.gunicorn/gunicorn.ctl):
    # two servers (or a developer's own gunicorn) would fight over it.
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _parsed(value: str):
    """An environment value as Flask's ``from_prefixed_env`` reads it (JSON, else text)."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class ServerError(RuntimeError):
    """The server or a command failed; the message carries its output."""


class LiveServer:
    """One evalsvc deployment: a database, an instance directory and a gunicorn process."""

    def __init__(self, database_url: str, instance_path: Path, *, workers: int = 2,
                 port: int | None = None, extra_env: dict[str, str] | None = None):
        self.database_url = database_url
        self.instance_path = Path(instance_path)
        self.instance_path.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.instance_path / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.app = None  # built for the first command
        self.env = self._environment(extra_env or {})
        # The same settings for the in-process commands (the environment's, without prefix).
        self.config = {key.removeprefix("EVALSVC_"): _parsed(value)
                       for key, value in self.env.items()
                       if key.startswith("EVALSVC_") and key != "EVALSVC_INSTANCE_PATH"}

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        # Start from a clean EVALSVC_* slate so the developer's own settings cannot leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
        env.update({
            "EVALSVC_DATABASE_URL": self.database_url,
            "EVALSVC_INSTANCE_PATH": str(self.instance_path),
            "EVALSVC_SECRET_KEY": SECRET_KEY,
            "EVALSVC_PUBLIC_URL": self.base_url,
            "EVALSVC_PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    # -- the operator CLI ---------------------------------------------------------------

    def cli(self, *args: str) -> str:
        """Run the operator command ``evalsvc ARGS…`` on this deployment; its output, or
        ServerError."""
        from evalsvc import create_app
        from evalsvc.extensions import db

        if self.app is None:
            self.app = create_app(self.config, instance_path=str(self.instance_path))
        with self.app.app_context():  # as the console script runs a command
            result = self.app.test_cli_runner().invoke(args=list(args))
            db.session.remove()
            db.engine.dispose()  # hold no connection while gunicorn serves
        if result.exit_code != 0:
            raise ServerError(f"evalsvc {' '.join(args)} exited {result.exit_code}:\n"
                              f"{result.output}") from result.exception
        return result.stdout

    def prepare(self) -> None:
        """Create the schema and load the demo county."""
        self.cli("init")
        self.cli("demo")

    # -- the server process -------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the gunicorn master is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start gunicorn in its own process group and wait until it answers."""
        if self.running:
            raise ServerError("server already running")
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", str(PROJECT_ROOT / "gunicorn.conf.py"),
                 "-w", str(self.workers), "-k", "sync",
                 "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
                 # Build the app once in the master and fork the workers from it: starting
                 # cost seconds per worker otherwise. create_app opens no connection, so no
                 # worker inherits one.
                 "--preload",
                 *_gunicorn_options(), "evalsvc:create_app()"],
                env=self.env, cwd=self.instance_path, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"gunicorn exited at start-up:\n{self.log()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    conn.request("GET", "/login")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            except OSError:
                pass
            time.sleep(0.05)  # polling interval, not an assertion
        self.kill_hard()
        raise ServerError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop gracefully (SIGTERM); SIGKILL the group if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self.kill_hard()  # also reaps any worker left behind in the group

    def kill_hard(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or an OOM kill would."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise ServerError("gunicorn survived SIGKILL") from exc

    @contextlib.contextmanager
    def serving(self):
        """Started for the ``with`` block, then killed hard (a graceful stop would only cost
        seconds) and its log printed, so a failing test shows gunicorn's output."""
        self.start()
        try:
            yield self
        finally:
            self.kill_hard()
            print(f"----- gunicorn log ({self.log_path}) -----\n{self.log()}")

    def restart(self) -> None:
        """Stop (if running) and start again on the same port, database and instance."""
        self.stop()
        self.start()

    def log(self) -> str:
        """Everything gunicorn and the app wrote to stdout/stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
