"""Real server processes for the benchmarks: the ``evalsvc`` CLI and gunicorn.

A small copy of the approach of ``tests/server.py`` (the benchmarks do not import from
tests/): every command and every start-up is bounded in time, gunicorn runs in its own
process group, and stopping it signals that group only.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

BIN = Path(sys.executable).parent
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "evalsvc-bench-secret-key-0123456789"
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # quick account creation; production uses scrypt
CLI_TIMEOUT = 300  # seconds for one `evalsvc` command
START_TIMEOUT = 120  # seconds for gunicorn to answer (4 workers booting on a busy 2 vCPU took over 30)
STOP_TIMEOUT = 15  # seconds for a graceful stop before SIGKILL


class ServerError(RuntimeError):
    """A command or a server failed; the message carries its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def evalsvc_env(database_url: str, instance: Path, public_url: str) -> dict[str, str]:
    """The environment of an evalsvc process: a clean EVALSVC_* slate plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env.update({
        "EVALSVC_DATABASE_URL": database_url,
        "EVALSVC_INSTANCE_PATH": str(instance),
        "EVALSVC_SECRET_KEY": SECRET_KEY,
        "EVALSVC_PUBLIC_URL": public_url,
        "EVALSVC_PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def evalsvc_cli(env: dict[str, str], *args: str, cwd: Path | None = None,
                timeout: float = CLI_TIMEOUT) -> str:
    """Run ``evalsvc ARGS…``; its stdout, or ServerError with its output."""
    try:
        done = subprocess.run([str(BIN / "evalsvc"), *args], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"evalsvc {' '.join(args)} took over {timeout} s") from exc
    if done.returncode != 0:
        raise ServerError(f"evalsvc {' '.join(args)} exited {done.returncode}:\n"
                          f"{done.stdout}\n{done.stderr}")
    return done.stdout


def _gunicorn_options() -> list[str]:
    major, minor = (int(p) for p in version("gunicorn").split(".")[:2])
    # Gunicorn 25.1+ opens a per-user control socket; concurrent servers would fight over it.
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


class Gunicorn:
    """``gunicorn -w N -k sync`` serving ``app_spec`` on a free port of 127.0.0.1."""

    def __init__(self, app_spec: str, *, env: dict[str, str] | None = None,
                 cwd: Path = PROJECT_ROOT, workers: int = 2, port: int | None = None,
                 ready_path: str = "/", log_path: Path | None = None):
        self.app_spec, self.workers, self.cwd = app_spec, workers, cwd
        self.env = env if env is not None else dict(os.environ)
        self.port = port or free_port()
        self.ready_path = ready_path
        self.log_path = log_path or Path(cwd) / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        """Start in a new process group; return once it answers ``ready_path``."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-w", str(self.workers), "-k", "sync",
                 "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
                 "--backlog", "2048", *_gunicorn_options(), self.app_spec],
                env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"gunicorn exited at start-up:\n{self.log()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    conn.request("GET", self.ready_path)
                    if conn.getresponse().status < 500:
                        return self
                finally:
                    conn.close()
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The pids of the master's worker processes."""
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) used so far by the current workers."""
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise ServerError("gunicorn survived SIGKILL") from exc

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
