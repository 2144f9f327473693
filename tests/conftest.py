from __future__ import annotations

import gzip
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, settings

from readme_metrics import MetricsApiConfig, MetricsMiddleware, _env
from readme_metrics.cli.collector import LocalCollector
from readme_metrics.har import inflation_budget
from tests.support import bytecode, reaper, schedule, unwaited, worker_crash
from tests.support.contract import API_KEY, DOCS, caller, inline_options, json_app
from tests.support.fake_api import Collector, inline_timeout
from tests.support.key_site import Site
from tests.support.transports import assert_key_not_logged, clear_proxy_and_bundle

# hypothesis for the whole suite: no deadline per example and no too_slow health check
# (both measure time: a busy CI machine would fail them on the clock, not on the code);
# a failure prints the blob that reproduces it. A test's own @settings still wins.
# The suite draws the same examples on every run (derandomize: each test's from its own
# fixed seed), so a run passes or fails on the code, never on the day's draw; set
# HYPOTHESIS_PROFILE=explore to draw new examples each run (and keep a database of the
# failing ones) while working on a reader of hostile input (docs/TESTING.md).
settings.register_profile("suite", deadline=None, print_blob=True, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", parent=settings.get_profile("suite"),
                          derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


#: What the run's subprocesses import from this checkout (tests/support/bytecode.py).
_IMPORTED_BY_CHILDREN = (Path(__file__).resolve().parent.parent / "readme_metrics",
                         Path(__file__).resolve().parent / "__init__.py",
                         Path(__file__).resolve().parent / "support")


def pytest_configure(config: pytest.Config) -> None:
    if worker_crash.in_a_worker(config):
        worker_crash.keep_stderr()
        worker_crash.dump_stacks_at_sigterm()
    else:  # once per run, before any worker starts: its servers read no source twice,
        bytecode.write(_IMPORTED_BY_CHILDREN)  # and its workers rewrite no test module
        bytecode.write_rewritten(config, Path(__file__).resolve().parent)


@pytest.hookimpl(trylast=True)  # after -k and -m deselected: the shares xdist hands out
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker: the long modules first in each worker's share
    (tests/support/schedule.py), the same order in every worker."""
    if worker_crash.in_a_worker(config):
        workers = int(config.workerinput["workercount"])  # type: ignore[attr-defined]
        items[:] = schedule.order(items, workers)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if worker_crash.in_a_worker(item.config):  # (a test before may have reset SIGTERM)
        worker_crash.dump_stacks_at_sigterm()


#: How each crashed worker ended, by its id (tests/support/worker_crash.py).
_ENDED: dict[str, str] = {}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """A worker that went down says how it ended (CI32 said only "Not properly
    terminated"): on a line of its own, and in its crashed test's report."""
    if error is None:
        return
    name = getattr(getattr(node, "gateway", None), "id", "?")
    _ENDED[name] = worker_crash.how_it_ended(node)
    reporter = node.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"[{name}] went down ({error}): {_ENDED[name]}")


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    name = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "?")
    if name in _ENDED:
        report.longrepr = f"{report.longrepr} ({_ENDED[name]})"


class _GzipClock:
    """gzip's ``time`` in the tests: a gzip written with no ``mtime`` holds the clock's
    second in its header, so its bytes and base64 change every second, and a test
    reading that base64 passed or failed with the clock (a ``+`` in a query is a space;
    tests/support/zip_bodies.STAMP pins zips so for the same reason)."""

    @staticmethod
    def time() -> float:
        return 1767323046.0


@pytest.fixture(scope="session", autouse=True)
def _gzip_clock() -> Iterator[None]:
    clock = gzip.time  # type: ignore[attr-defined]
    gzip.time = _GzipClock  # type: ignore[attr-defined]
    yield
    gzip.time = clock  # type: ignore[attr-defined]


@pytest.fixture(scope="session", autouse=True)
def _reaper_log(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What this test process's watcher ends is said in its pytest base folder
    (tests/support/reaper.py)."""
    reaper.LOG[0] = str(tmp_path_factory.getbasetemp() / "reaper.log")


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_unwaited() -> Iterator[None]:
    """Each test process ends its session with no child a test left unwaited
    (tests/support/unwaited.py): one collected while it still ran, or one still
    running that nothing waits for, fails the session's last teardown, naming the test
    that made it and where. (Before, each was a "ResourceWarning: subprocess N is still
    running" at best, printed past the last test by no one knew which.)"""
    unwaited.watch()
    yield
    left = unwaited.left()
    assert left == [], "children left unwaited by the tests:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def _working_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the tests' working folders (in pytest's base folder, removed with it)."""
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, _working_folders: Path) -> None:
    """No README_* variable or stray .env from the machine leaks into a test: each starts
    in an empty working folder of its own. Made by ``mkdtemp`` in one session folder, not
    by ``tmp_path_factory.mktemp``: that lists pytest's base folder to number the new
    one, so each test read every folder the tests before it had made, about 15 s of CPU
    per xdist worker of a full run (speed7)."""
    for name in list(os.environ):
        if name.startswith("README_") or name in ("CORS_ALLOWED", "REQUEST_ID_HEADER",
                                                    "LOG_TOKENS"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tempfile.mkdtemp(dir=_working_folders))
    # The .env file is read once per process: each test starts as a fresh process would.
    _env.reset()
    # The zip inflation budget is the process's: each test starts with it full (hostile31).
    inflation_budget.BUDGET.refill()


@pytest.fixture
def transport_guards(monkeypatch: pytest.MonkeyPatch,
                     caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """For the transport tests: no proxy or CA bundle from the machine, and the API key in
    no log record of the test (logging at DEBUG)."""
    clear_proxy_and_bundle(monkeypatch)
    caplog.set_level(logging.DEBUG)
    yield
    assert_key_not_logged(caplog.get_records("call"))


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_collector() -> Iterator[Collector]:
    """One collector for a module's tests, for the servers a module fixture keeps
    running across them (tests/test_asgi_left.py's ``served``): each test finds its own
    logs (by a trace of its own), not all of them."""
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kept_collector(module_collector: Collector) -> Collector:
    """:func:`module_collector` with what the tests before this one received forgotten:
    for a test whose server a module fixture keeps (tests/test_half_close_late.py's
    ``half_served``), that counts its logs and waits for all of them. Such a count takes
    any other test's log that lands after the forgetting; a test that tags its requests
    (tests/support/trace_share.py, tests/test_e2e_servers.py's ``share_of``) reads only
    its own."""
    module_collector.forget()
    return module_collector


@pytest.fixture
def local(tmp_path) -> Iterator[LocalCollector]:
    """``readme-metrics collect`` in-process (as the demo embeds it), silent, on a free
    port of 127.0.0.1 (tests/test_odds13_findings.py has its own, with short limits)."""
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "c.har")
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, collector: Collector) -> Iterator[Site]:
    """A :class:`~tests.support.key_site.Site` (the key-leak tests' app, whose caller's
    key the test chooses) through the WSGI and then the ASGI middleware, on ``collector``."""
    made = Site(request.param, collector)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def inline_wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """``inline_wrap(app, **options)``: MetricsMiddleware sending each log to ``collector`` at once
    (inline, batches of 1; see tests.support.contract); closed after the test."""
    made: list[MetricsMiddleware] = []

    def make(app: Any, **options: Any) -> MetricsMiddleware:
        middleware = MetricsMiddleware(app, MetricsApiConfig(
            api_key=API_KEY, metrics_api=collector.url, **inline_options(options)))
        made.append(middleware)
        return middleware

    yield make
    for middleware in made:
        middleware.close()


@pytest.fixture
def background_wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """``background_wrap(app=json_app, **options)``: MetricsMiddleware in background mode
    (the default) sending to ``collector``; closed after the test. Inline, a POST has
    ``INLINE_TIMEOUT`` for its answer unless the test sets ``timeout`` (flaky61)."""
    made: list[MetricsMiddleware] = []

    def build(app: Any = json_app, **options: Any) -> MetricsMiddleware:
        options.setdefault("api_key", API_KEY)
        options.setdefault("grouping_function", caller)
        options.setdefault("metrics_api", collector.url)
        options.setdefault("base_log_url", DOCS)
        options.setdefault("shutdown_timeout", 2.0)
        inline_timeout(options)
        middleware = MetricsMiddleware(app, MetricsApiConfig(**options))
        made.append(middleware)
        return middleware

    yield build
    for middleware in made:
        middleware.close()
