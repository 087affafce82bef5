"""Fixtures: an app on a fresh, migrated database per test (an SQLite file in tmp_path, or a
PostgreSQL database of its own), copied from a template migrated once per run."""
import collections
import contextlib
import functools
import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
import sqlalchemy.engine.create
import werkzeug.routing.rules
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

import evalsvc.definitions
from evalsvc import create_app
from evalsvc.extensions import db
from tests.databases import Derived, open_databases
from tests.server import LiveServer


def _temporary_files_in_memory() -> None:
    """Tests' files (SQLite databases, instance folders, server logs) are thrown away; where
    the machine has a memory file system and TMPDIR is not set, they go there. SQLite still
    syncs every commit as it does in production; on tmpfs a sync costs next to nothing, and
    it was a tenth of the suite's time on disk."""
    shm = Path("/dev/shm")
    if "TMPDIR" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK):
        os.environ["TMPDIR"] = str(shm)  # inherited by the xdist workers and by servers
        tempfile.tempdir = None


_temporary_files_in_memory()  # before pytest makes its temporary folders, on first use


def _bytecode_kept_outside_the_checkout() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every process (each xdist worker, each server)
    compiled every test module, and pytest rewrote its asserts, anew: four seconds of each
    worker's start. Such a run keeps its bytecode under the temporary folder instead
    (PYTHONPYCACHEPREFIX), still none in the checkout; Python checks each file's source
    before it uses it, so an edited file is compiled again."""
    if sys.dont_write_bytecode and not sys.pycache_prefix:
        prefix = str(Path(tempfile.gettempdir()) / f"evalsvc-pycache-{os.getuid()}")
        sys.pycache_prefix, sys.dont_write_bytecode = prefix, False
        os.environ["PYTHONPYCACHEPREFIX"] = prefix  # the xdist workers and the servers
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_bytecode_kept_outside_the_checkout()

# Tests make many short-lived objects (an app, an engine, sessions per test): with Python's
# default thresholds the cyclic garbage collector ran thousands of times, a seventh of the
# tests' time. Collecting less often costs a few megabytes per worker.
gc.set_threshold(50_000, 20, 20)

PG_URL = os.environ.get("EVALSVC_TEST_DATABASE_URL")

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    # Fast hashing keeps the suite quick; production uses scrypt.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "PUBLIC_URL": "http://evalsvc.test",
}


class CompiledTemplates(jinja2.BytecodeCache):
    """Each test builds an app of its own, and each app's Jinja environment would compile
    every template it renders again. The compiled code is kept here for the whole run
    instead, keyed (by Jinja) on the template's name and a checksum of its source."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def _reuse_url_builders() -> None:
    """Each app compiles a Python function per URL rule to build its URLs (werkzeug's
    ``Rule._compile_builder``, through ``ast`` and ``compile``): a fifth of the time it takes
    to build an app, and the suite builds hundreds. The function depends only on the rule's
    parts and defaults (as its converters write them), and reaches the rule's converters through the rule it is bound to,
    so one compiled function serves every app's copy of the rule."""
    compile_builder = werkzeug.routing.rules.Rule._compile_builder
    built: dict = {}

    def reused(rule, append_unknown: bool = True):
        # Defaults are written into the code by the rule's own converters (an int with
        # fixed_digits writes 1 as 0001), so the key holds them as written.
        written = sorted((name, rule._converters[name].to_url(value) if name in
                          rule._converters else repr(value))
                         for name, value in (rule.defaults or {}).items())
        key = (tuple(rule._trace), repr(written), append_unknown)
        if key not in built:
            built[key] = compile_builder(rule, append_unknown)
        return built[key]

    werkzeug.routing.rules.Rule._compile_builder = reused


_reuse_url_builders()


def _reuse_parsed_rules() -> None:
    """Each app parses each of its URL rules again (werkzeug's ``Rule._parse_rule``, a regular
    expression walked part by part): a third of the time it takes to build an app. What the
    parse yields (the parts the matcher sorts and matches, the rule's trace) depends only on
    the rule's text and which converter class each name stands for; the converters
    themselves belong to the rule's map, so each rule still gets converters of its own,
    made from the arguments the first parse gave them."""
    parse = werkzeug.routing.rules.Rule._parse_rule
    parsed: dict = {}

    def reused(rule, text: str):
        key = (type(rule), text, frozenset(rule.map.converters.items()))
        if key not in parsed:
            made, trace_before = [], len(rule._trace)

            def get_converter(variable, name, args, kwargs):
                made.append((variable, name, args, dict(kwargs)))
                return type(rule).get_converter(rule, variable, name, args, kwargs)

            rule.get_converter = get_converter
            try:
                parts = list(parse(rule, text))
            finally:
                del rule.get_converter
            parsed[key] = (parts, rule._trace[trace_before:], made)
            return iter(parts)
        parts, trace, made = parsed[key]
        rule._trace.extend(trace)
        for variable, name, args, kwargs in made:
            rule._converters[variable] = rule.get_converter(variable, name, args, kwargs)
            rule.arguments.add(variable)
        return iter(parts)

    werkzeug.routing.rules.Rule._parse_rule = reused


_reuse_parsed_rules()


def _share_compiled_sql() -> None:
    """Each test's app has an engine of its own (its own database), and SQLAlchemy keeps the
    SQL it compiled per engine, keyed on the engine's dialect object: every test compiled
    every statement again, a sixth of the suite's time. A production process has one engine
    for its whole life. So engines made alike (same driver, server, options; only the
    database differs) share one dialect and one cache of compiled statements here, as if
    they were that one engine. Each engine still connects through its own pool and events.
    """
    create = sa.engine.create.create_engine
    shared: dict[str, tuple] = {}

    def create_engine(url, **kwargs):
        engine = create(url, **kwargs)
        if engine._compiled_cache is None:  # asked for no cache
            return engine
        u = engine.url
        # Only what configures the dialect and the compiler; an option whose repr differs
        # (an object's address) just means no sharing, never a wrong one.
        key = repr((u.drivername, u.host, u.port, u.username, sorted(u.query.items()),
                    sorted(kwargs.items())))
        if key in shared:
            engine.dialect, engine._compiled_cache = shared[key]
        else:
            engine._compiled_cache = sa.util.LRUCache(5000)

            # Shared once SQLAlchemy has initialized the dialect on its first connection.
            @sa.event.listens_for(engine.pool, "first_connect")
            def share(*_args) -> None:
                shared.setdefault(key, (engine.dialect, engine._compiled_cache))
        return engine

    sa.engine.create.create_engine = create_engine


_share_compiled_sql()


def _reuse_parsed_definitions() -> None:
    """Each app parses and validates every questionnaire file at start-up (a third of
    building an app; the suite builds hundreds). A Definition is immutable (frozen
    dataclasses and tuples) and depends only on the file's name and bytes and the kinds
    it is checked against, so one parse serves every app of the run. A file that fails is
    parsed, and fails, again each time."""
    load = evalsvc.definitions.load_definition
    parsed: dict[tuple, evalsvc.definitions.Definition] = {}

    def load_definition(path: Path, known_kinds: set[str] | None = None):
        key = (str(path), Path(path).read_bytes(),
               None if known_kinds is None else frozenset(known_kinds))
        if key not in parsed:
            parsed[key] = load(path, known_kinds)
        return parsed[key]

    evalsvc.definitions.load_definition = load_definition


_reuse_parsed_definitions()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (fresh ``g`` and database session), as in
    production, even while the test holds a context of its own."""

    def open(self, *args, **kwargs):
        # End the test's own transaction: it sees the request's writes afterwards
        # (SQLite would otherwise keep the test on its old snapshot).
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@contextlib.contextmanager
def _filling(url: str, instance_path: Path) -> Iterator[None]:
    """An app context on the template database at ``url``, its connections closed after."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url}, instance_path=str(instance_path))
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def migrate(url: str, instance_path: Path, with_demo: bool = False) -> None:
    """Run the migrations into the empty database at ``url``; then load the demo county
    (what the ``demo`` fixture provides) if asked."""
    with _filling(url, instance_path):
        upgrade()
        if with_demo:
            from evalsvc.services.demo import load_demo

            load_demo()


def run_demo_rounds(url: str, instance_path: Path) -> None:
    """Run the demo's rounds in the demo county at ``url`` (a copy of the ``demo`` template),
    as ``load_demo(with_rounds=True)`` does after the county: the ``demo_rounds`` fixture."""
    from evalsvc.services.demo_rounds import load_demo_rounds

    with _filling(url, instance_path):
        load_demo_rounds()


def deploy(url: str, instance_path: Path) -> None:
    """What a live server's operator does first, into the empty database at ``url``:
    ``evalsvc init`` and ``evalsvc demo`` (the demo county with its rounds and ballots)."""
    LiveServer(url, instance_path).prepare()


def _templates_folder(tmp_path_factory) -> Path:
    """Where the SQLite templates are built: one folder for all of a run's xdist workers
    (next to their own temporary folders), so each template is built once per run and not
    once per worker. PostgreSQL's templates are databases of each worker's own."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run and not PG_URL:
        folder = tmp_path_factory.getbasetemp().parent / f"templates-{run}"
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("templates")


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Fresh databases for tests: copies of templates migrated once per run
    (``databases.fresh(directory, template)``), or empty ones (``databases.empty(directory)``).
    """
    found = open_databases(PG_URL, _templates_folder(tmp_path_factory),
                           {"migrated": migrate,
                            "demo": functools.partial(migrate, with_demo=True),
                            "demo_rounds": Derived("demo", run_demo_rounds),
                            "deployed": deploy})
    yield found
    found.close()


# Which template a test's database is copied from, by the fixtures it asks for (the first
# found).
TEMPLATE_FIXTURES = (("demo_rounds", "demo_rounds"), ("demo", "demo"), ("demo_database", "demo"))


@pytest.fixture
def database_url(databases, tmp_path, request):
    """A URL to a migrated database that lives for one test (the demo county already
    loaded when the test asks for ``demo`` or ``demo_database``, its rounds run too for
    ``demo_rounds``)."""
    template = next((template for fixture, template in TEMPLATE_FIXTURES
                     if fixture in request.fixturenames), "migrated")
    with databases.fresh(tmp_path, template) as url:
        yield url


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on this test's (migrated) database, with extra config."""
    apps = []

    def build(**config):
        app = create_app(
            {**TEST_CONFIG, "DATABASE_URL": database_url, **config},
            instance_path=str(tmp_path / "instance"),
        )
        app.test_client_class = FreshContextClient
        app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """The app, with an application context pushed for direct service and model calls."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo county (copied in with the database); returns a dict of organisation
    code → id."""
    from evalsvc.models import Organisation

    return dict(db.session.execute(sa.select(Organisation.code, Organisation.id)).all())


@pytest.fixture
def demo_database(database_url):
    """The demo county in this test's database, copied in as for ``demo``, for a test that
    builds its own app (``make_app`` with settings of its own) instead of ``app``."""
    return database_url


@pytest.fixture
def demo_rounds(demo):
    """The demo county after its rounds ran (``load_demo_rounds``: ballots cast, some rounds
    closed today, the office's decisions), copied in with the database as ``demo`` is, not
    run again by each test (a quarter of a CPU-second each); returns ``demo``'s dict."""
    return demo


@pytest.fixture
def live_server(databases, tmp_path, request):
    """A started gunicorn (4 sync workers) on a database of this test's own, set up as
    ``evalsvc init`` and ``evalsvc demo`` do (a copy of the ``deployed`` template).

    Pick another worker count with ``@pytest.mark.parametrize("live_server",
    [{"workers": 2}], indirect=True)``. The server's log is printed at teardown, so a
    failing test shows gunicorn's output (tracebacks included).
    """
    options = getattr(request, "param", None) or {}
    with databases.fresh(tmp_path, "deployed") as database_url:
        with LiveServer(database_url, tmp_path / "instance",
                        workers=options.get("workers", 4)).serving() as server:
            yield server


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than there are CPUs. Much of a test's time is spent
    waiting (on Chromium and gunicorn, on a page's reload, on a server's start, on a crash
    firing): with a worker per CPU a CPU sat idle through those waits. On 2 vCPU shared with
    other work (load average 7-10) the whole suite took 242 s with 2 workers, 175 s with 3
    and 209 s with 4, one run each."""
    return len(os.sched_getaffinity(0)) + 1


MODULE_SECONDS = "evalsvc/module-seconds"  # pytest's cache: each module's last time


BROWSER_MODULES = "tests/browser/"
BROWSER_RUNS = 2  # workers that run browser modules, each keeping one Chromium


def browser_runs(lengths: dict[str, float]) -> dict[str, str]:
    """The browser modules in ``BROWSER_RUNS`` runs of about equal length (the longest module
    first, into the shortest run): module → its run's name. A run is one unit of work for
    xdist, so its modules follow one another on one worker and share its Chromium: spread
    over every worker between other modules, each worker launched Chromium again and again,
    and at times every worker sat waiting on a page while the CPUs idled."""
    runs = [0.0] * BROWSER_RUNS
    named = {}
    for module in sorted((m for m in lengths if m.startswith(BROWSER_MODULES)),
                         key=lambda m: (-lengths[m], m)):
        shortest = runs.index(min(runs))
        runs[shortest] += lengths[module]
        named[module] = f"{BROWSER_MODULES}run-{shortest + 1}"
    return named


def module_lengths(config, modules: collections.Counter, heavy: set[str]) -> dict[str, float]:
    """Each module's length (seconds): its time in the last run that ran it (kept in
    pytest's cache, ``.pytest_cache``); a module never timed counts as long when it starts
    servers or a browser or holds a ``heavy`` test, else by its number of tests."""
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    seconds = cache.get(MODULE_SECONDS, {}) if cache is not None else {}
    return {module: seconds[module] if module in seconds else
            60.0 if module in heavy or module.startswith(BROWSER_MODULES) else 0.1 * count
            for module, count in modules.items()}


def work_units(lengths: dict[str, float]) -> dict[str, str]:
    """Module → the unit of work xdist hands out whole: the module itself, or its browser
    run."""
    runs = browser_runs(lengths)
    return {module: runs.get(module, module) for module in lengths}


def pytest_collection_modifyitems(config, items):
    """The longest units of work run first. xdist hands out whole modules (``--dist
    loadfile``; a browser run of several modules counts as one, ``browser_runs``), with
    ``--no-loadscope-reorder`` so it keeps this order, to whichever worker is free: a long
    module handed out last kept one worker busy while the others had nothing left to do.
    The order within a module stays as collected."""
    modules = collections.Counter(item.nodeid.split("::")[0] for item in items)
    heavy = {item.nodeid.split("::")[0] for item in items
             if any(item.get_closest_marker(mark) for mark in ("server", "browser", "heavy"))}
    lengths = module_lengths(config, modules, heavy)
    units = work_units(lengths)
    unit_length = collections.Counter()
    for module, unit in units.items():
        unit_length[unit] += lengths[module]
    items.sort(key=lambda item: (-unit_length[units[item.nodeid.split("::")[0]]],
                                 units[item.nodeid.split("::")[0]]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with each browser run (``browser_runs``) one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserRunsTogether(LoadFileScheduling):
        units: dict[str, str] = {}

        def schedule(self) -> None:
            if self.collection is None and self.registered_collections:
                # The controller has no markers: lengths from the cache alone (a browser
                # module never timed counts as long here too, as in the workers).
                collected = next(iter(self.registered_collections.values()))
                modules = collections.Counter(nodeid.split("::")[0] for nodeid in collected)
                self.units = work_units(module_lengths(self.config, modules, set()))
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return self.units.get(module, module)

    return BrowserRunsTogether(config, log)


class _ModuleClock:
    """Adds up each module's set-up, call and tear-down times (reported to the process that
    runs the session: the xdist controller) and keeps them in pytest's cache."""

    def __init__(self, config):
        self.config = config
        self.seconds: collections.Counter = collections.Counter()

    def pytest_runtest_logreport(self, report) -> None:
        self.seconds[report.nodeid.split("::")[0]] += report.duration

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)  # None with -p no:cacheprovider
        if cache is not None and self.seconds:
            kept = cache.get(MODULE_SECONDS, {})
            kept.update({module: round(s, 1) for module, s in self.seconds.items()})
            cache.set(MODULE_SECONDS, kept)


def pytest_collection_finish(session) -> None:
    """What a worker imported and collected (every module it tests with, every test module
    and test) lives until it exits: it is frozen, kept out of the collector's view
    (``gc.freeze``, as gunicorn's workers do with what they loaded), so full collections,
    pytest's two at the end of a run among them, walk only what the tests made (a full
    collection of tests/web took 0.58 s instead of 1.1 s in all). Objects made during the
    tests, whose finalisers pytest checks, stay in view."""
    gc.freeze()


def pytest_configure(config):
    """Time the modules in the process that runs the session (not in each xdist worker)."""
    # The plugin's conftest re-exports this module's names, this hook among them: once.
    if not hasattr(config, "workerinput") and \
            not config.pluginmanager.has_plugin("evalsvc-module-clock"):
        config.pluginmanager.register(_ModuleClock(config), "evalsvc-module-clock")
