"""Fixtures for tests that drive Debian's Chromium against a real evalsvc server.

One gunicorn per test module (``server``), one Chromium for a run of browser modules
(``browser``), a fresh browser context per test: a phone (``phone``) or a desk computer (``desk``). Every step can
be photographed with ``shoot``; three photographs also illustrate the docs.

A missing Chromium or axe-core skips these tests with the command that installs it, unless
``EVALSVC_REQUIRE_BROWSER=1`` (set by CI) turns the skip into a failure.
"""
from __future__ import annotations

import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from evalsvc.services.demo import ACCOUNTS
from tests.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
# Debian's headless build of Chromium (package chromium-headless-shell): the same Blink and
# V8 as its `chromium`, without the desktop browser around them, which spent half of the
# browser tests' CPU time. The full browser still runs them where the shell is missing.
CHROMIUM_BUILDS = (Path("/usr/bin/chromium-headless-shell"), Path("/usr/bin/chromium"))
AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "browser"
DOCS = ROOT / "docs"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
    "locale": "zh-CN",
}
DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
TIMEOUT_MS = 15_000  # for any one browser action or wait


def _missing(what: str, how: str) -> None:
    """Skip, or fail when CI demands the browser tests run."""
    if os.environ.get("EVALSVC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} is missing and EVALSVC_REQUIRE_BROWSER=1: {how}", pytrace=False)
    pytest.skip(f"{what} is missing: {how}")


# -- the browser ------------------------------------------------------------------------


class _Chromium:
    """The one Chromium of this process, kept from one browser module to the next."""

    playwright = None  # the started sync_playwright() context manager
    browser = None

    @classmethod
    def get(cls, executable: Path):
        if cls.browser is None:
            from playwright.sync_api import expect, sync_playwright

            expect.set_options(timeout=TIMEOUT_MS)
            cls.playwright = sync_playwright()
            started = cls.playwright.__enter__()
            cls.browser = started.chromium.launch(executable_path=str(executable),
                                                  args=CHROMIUM_ARGS, timeout=60_000)
        return cls.browser

    @classmethod
    def close(cls) -> None:
        if cls.browser is not None:
            browser, playwright = cls.browser, cls.playwright
            cls.browser = cls.playwright = None
            try:
                browser.close()
            finally:
                playwright.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (never a downloaded one), driven by Playwright.

    Launched for the first browser module a process runs and kept while browser modules
    follow one another (a launch cost a second of CPU per module); closed after the last of
    them (``pytest_runtest_teardown`` below), so nothing of Playwright outlives the browser
    tests in a full run. Each test still gets fresh contexts (own cookies and storage).
    """
    chromium = _installed_chromium()
    if chromium is None:
        _missing(f"{CHROMIUM_BUILDS[0]}", "install Debian's headless browser with "
                 "`apt-get install chromium-headless-shell`")
    return _Chromium.get(chromium)


def _installed_chromium() -> Path | None:
    """The first of ``CHROMIUM_BUILDS`` installed here, or None."""
    return next((path for path in CHROMIUM_BUILDS
                 if path.is_file() and os.access(path, os.X_OK)), None)


@pytest.hookimpl(trylast=True)  # after the module's own fixtures (contexts, server) are gone
def pytest_runtest_teardown(item, nextitem):
    """Close the shared Chromium when the next test is not a browser test (or none is)."""
    if nextitem is None or nextitem.get_closest_marker("browser") is None:
        _Chromium.close()


@pytest.fixture(scope="session")
def axe_url():
    """The URL of axe-core's script (installed from the npm registry into
    tests/browser/node_modules), served from this process to the pages that load it.

    Chromium fetches it itself: handed over as text, its 650 KB went through Playwright's
    driver for each check (30 ms of CPU, of the 150 that loading it costs).
    """
    if not AXE_JS.is_file():
        _missing(f"axe-core ({AXE_JS.relative_to(ROOT)})",
                 "install it with `npm ci --prefix tests/browser`")
    script = AXE_JS.read_bytes()

    class Script(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's name for GET)
            if self.path != "/axe.min.js":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(script)))
            self.end_headers()
            self.wfile.write(script)

        def log_message(self, *args) -> None:  # quiet
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script) as served:
        thread = threading.Thread(target=served.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{served.server_address[1]}/axe.min.js"
        served.shutdown()
        thread.join()


def new_context(browser, options: dict, **extra):
    """A fresh browser context (own cookies and storage) with the tests' timeout."""
    context = browser.new_context(**options, **extra)
    context.set_default_timeout(TIMEOUT_MS)
    return context


class Watched:
    """A page whose Content-Security-Policy reports and page errors are collected."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(message.text)


@pytest.fixture
def new_phone(browser):
    """Open phones on demand (each its own context: own cookies, as another person's phone)."""
    contexts, watched = [], []

    def open_phone(**extra):
        context = new_context(browser, PHONE, **extra)
        contexts.append(context)
        page = context.new_page()
        watched.append(Watched(page))
        return page

    yield open_phone
    problems = [p for w in watched for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "the pages broke their own CSP or raised errors:\n" + "\n".join(problems)


@pytest.fixture
def phone(new_phone):
    """A phone: 360×740, touch, a mobile user agent."""
    return new_phone()


@pytest.fixture
def desk(browser):
    """A desk computer's browser for staff pages."""
    context = new_context(browser, DESK)
    page = context.new_page()
    watched = Watched(page)
    yield page
    context.close()
    assert not watched.problems, "\n".join(watched.problems)


def log_in(page, base_url: str, username: str) -> None:
    """Log in through the login form as a demo account."""
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(next(p for u, p, *_ in ACCOUNTS if u == username))
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出").wait_for()


# -- screenshots ------------------------------------------------------------------------


@pytest.fixture
def shoot(request):
    """``shoot(page, step, doc=None)``: save a screenshot into artifacts/browser/.

    In CSS pixels: a phone's screen of 360 px is 360 px wide in the file, not its device
    pixels (720); photographing 4 times the pixels cost 0.2 s of CPU for a long phone page.
    A photograph for the docs (``doc="name"``) keeps the device's pixels, and with
    EVALSVC_UPDATE_DOCS=1 it is also copied to docs/name.png.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page, step: str, *, doc: str | None = None, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{test}--{step}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled",
                        scale="device" if doc else "css")
        if doc and os.environ.get("EVALSVC_UPDATE_DOCS") == "1":
            DOCS.mkdir(exist_ok=True)
            shutil.copyfile(path, DOCS / f"{doc}.png")
        return path

    return take


# -- the server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(browser, databases, tmp_path_factory, request):
    """gunicorn (2 workers) with the demo county and its rounds, shared by a test module.

    Requests ``browser`` first so a missing Chromium skips before any server starts. A
    module's ``SERVER_ENV`` dict adds settings (e.g. ``EVALSVC_LIVE_REFRESH_SECONDS``).
    """
    directory = tmp_path_factory.mktemp("browser-server")
    with databases.fresh(directory, "deployed") as database_url:  # init and demo, as copied
        extra_env = getattr(request.module, "SERVER_ENV", None)
        with LiveServer(database_url, directory / "instance", workers=2,
                        extra_env=extra_env).serving() as live:
            yield live


def new_round(server: LiveServer, org: str, kind: str, *options: str, open_: bool = True) -> int:
    """Create (and open) a round in the review stage through the CLI; its id."""
    round_id = int(server.cli("round", "create", "--org", org, "--kind", kind,
                              "--stage", "review", *options).strip())
    if open_:
        server.cli("round", "open", str(round_id))
    return round_id


def new_rounds(server: LiveServer, plans: dict[str, tuple]) -> dict[str, int]:
    """``new_round`` for each plan (name → arguments)."""
    return {name: new_round(server, *args) for name, args in plans.items()}


def card_urls(server: LiveServer, round_id: int) -> list[str]:
    """The URLs printed on a round's cards (upper-case, as in the QR codes), sorted: the CLI
    lists them in a fresh random order each time."""
    return sorted(server.cli("round", "cards", str(round_id), "--urls").split())


def cards_of(server: LiveServer, rounds: dict[str, int]) -> dict[str, list[str]]:
    """``card_urls`` of several rounds (name → id)."""
    return {name: card_urls(server, round_id) for name, round_id in rounds.items()}
