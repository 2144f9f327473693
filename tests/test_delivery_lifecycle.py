"""Delivery (SPEC section 7): a middleware whose app is dropped releases its senders.

An app factory (``create_app()`` per test, each wrapped with the middleware or Flask's
``ReadMeMetrics``) made one sender thread per app, each holding its middleware's
pipeline for the life of the process: 30 apps, 30 threads. Once nothing references the
middleware, what it accepted is still delivered (to a real collector on loopback) and
its sender threads end: ``threading.active_count()`` comes back down.
"""

from __future__ import annotations

import asyncio
import gc
import io
import threading
import weakref
from typing import Any, Callable

import pytest
from flask import Flask

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.flask_readme import ReadMeMetrics
from tests.support.contract import API_KEY, caller, json_app
from tests.support.delivery import worker_threads
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until

APPS = 12


def _flask_app(config: MetricsApiConfig) -> Any:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> str:
        return "hi"

    ReadMeMetrics(config, app)
    return app


def _flask_request(app: Any) -> None:
    with app.test_client().get("/hello", headers={"X-Api-Key": "k1"}) as response:
        response.get_data()


def _flask_request_unread(app: Any) -> None:
    # A test that looks at the status only: werkzeug's test client leaves the response
    # unread and unclosed; its log is finished when the response is dropped.
    assert app.test_client().get("/hello", headers={"X-Api-Key": "k1"}).status_code == 200


def _wsgi_app(config: MetricsApiConfig) -> Any:
    return MetricsMiddleware(json_app, config)


def _wsgi_request(app: Any) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/hello", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "HTTP_X_API_KEY": "k1",
               "wsgi.input": io.BytesIO(b""), "SERVER_PROTOCOL": "HTTP/1.1"}
    body = app(environ, lambda status, headers, exc_info=None: None)
    try:
        b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()


async def _asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hi"})


def _asgi_app(config: MetricsApiConfig) -> Any:
    return AsgiMetricsMiddleware(_asgi_hello, config)


def _asgi_request(app: Any) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/hello", "raw_path": b"/hello",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"localhost"),
             (b"x-api-key", b"k1")], "client": ("127.0.0.1", 5000),
             "server": ("localhost", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))


def _senders() -> int:
    return len(worker_threads())


def _workers() -> set[threading.Thread]:
    return set(worker_threads())


def _wait_for_one_log(delivery: Any) -> None:
    """Until ``delivery`` has its log (its own stats: the pipeline's would run a log
    still handed over in this thread, not in the one under test)."""
    wait_until(lambda: delivery.stats["captured"] == 1, timeout=20.0)


def _pipeline(app: Any) -> Any:
    return (app.wsgi_app if isinstance(app, Flask) else app).pipeline


@pytest.mark.parametrize(("make", "request_through"), [
    pytest.param(_flask_app, _flask_request, id="flask-extension"),
    pytest.param(_flask_app, _flask_request_unread, id="flask-extension-unread"),
    pytest.param(_wsgi_app, _wsgi_request, id="wsgi-middleware"),
    pytest.param(_asgi_app, _asgi_request, id="asgi-middleware"),
])
def test_dropped_apps_deliver_their_logs_and_release_their_threads(
        collector: Collector, make: Callable[[MetricsApiConfig], Any],
        request_through: Callable[[Any], None]) -> None:
    before = threading.active_count()
    senders_before = _workers()
    started: set[threading.Thread] = set()  # the apps' own senders
    gone: list[weakref.ref[Any]] = []
    for _ in range(APPS):
        # A flush_interval longer than the test waits: each app's log is still queued
        # when the app is dropped, and only the release sends it, within
        # shutdown_timeout of it (each POST within timeout). The bounds are not the
        # point: at a load of 15 to 25 (suite32's run, 27 s a case) the collector had
        # received 11 of 12 logs by the 20 s wait, a release's sends bounded by 5 s and
        # its POSTs by 3 s (the defaults). Here 30 s each, and a 90 s wait (flaky32).
        config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                  grouping_function=caller, buffer_length=10,
                                  flush_interval=60.0, shutdown_timeout=30.0,
                                  timeout=30.0)
        app = make(config)
        request_through(app)
        # The log is queued by the request, or (a response dropped unread) a moment later
        # by the thread that finishes such logs; its sender starts then, and cannot end
        # while the app is held here. (Checked at once after the requests, the unread
        # case found no sender yet about 1 run in 4 under load: 'assert 0 >= 0 + 1'.)
        _wait_for_one_log(_pipeline(app).delivery)
        started |= _workers() - senders_before
        gone.append(weakref.ref(app))
        del app, config
    assert started  # senders ran (one per app before the fix)
    # (A response dropped unread is handed to the thread that finishes such logs, which
    # holds its app until it has queued the log: the apps go a moment later.)
    wait_until(lambda: gc.collect() >= 0 and all(ref() is None for ref in gone),
               timeout=20.0)
    # Every log each app accepted reaches the collector, then the senders end (the
    # watchdog thread and the one for responses dropped unclosed, one each per process,
    # are not one per app).
    assert len(collector.wait_for_logs(APPS, timeout=90.0)) == APPS
    wait_until(lambda: not any(thread.is_alive() for thread in started), timeout=60.0)
    wait_until(lambda: threading.active_count() <= before + 2, timeout=60.0)


@pytest.mark.parametrize(("make", "request_through"), [
    pytest.param(_flask_app, _flask_request, id="flask-extension"),
    pytest.param(_wsgi_app, _wsgi_request, id="wsgi-middleware"),
    pytest.param(_asgi_app, _asgi_request, id="asgi-middleware"),
])
def test_inline_mode_dropped_apps_send_their_partial_batches_then_are_freed(
        collector: Collector, make: Callable[[MetricsApiConfig], Any],
        request_through: Callable[[Any], None]) -> None:
    # Inline mode has no sender: the logs waiting in a dropped app's partial batch went
    # with it (and the exit flush never knew of them). Now the library's thread for
    # responses dropped unclosed sends them, off the finalizer, and lets the delivery go.
    # The bounds are not the point: at load ~22 (CI31) the collector answered a POST in
    # 5.3 s, past timeout 3 s, and the close gave up after shutdown_timeout 5 s (said:
    # "2 logs not delivered"; 4 of 6 logs). Both are 30 s here (flake28).
    deliveries: list[weakref.ref[Any]] = []
    for _ in range(3):
        config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                  grouping_function=caller, buffer_length=10,
                                  flush_interval=60.0, shutdown_timeout=30.0,
                                  timeout=30.0, background_worker_mode=False)
        app = make(config)
        for _ in range(2):
            request_through(app)
        pipeline = _pipeline(app)
        assert pipeline is not None
        deliveries.append(weakref.ref(pipeline.delivery))
        del app, config, pipeline
        gc.collect()
    assert len(collector.wait_for_logs(6, timeout=90.0)) == 6
    wait_until(lambda: (gc.collect(), all(ref() is None for ref in deliveries))[1],
               timeout=60.0)


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_the_apps_of_one_flask_extension_are_freed_with_their_senders(
        collector: Collector, background: bool) -> None:
    """README's Flask quick start: one ``metrics = ReadMeMetrics(config)`` for the module,
    ``metrics.init_app(app)`` in ``create_app()``, called once per test. The extension
    held every app's middleware (and so the app) for the life of the process: 12 apps,
    12 apps alive and 12 sender threads. It holds them weakly now: a dropped app goes,
    its logs are delivered and its sender ends, while the extension lives on."""
    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=caller,
        buffer_length=10, flush_interval=60.0, shutdown_timeout=5.0,
        background_worker_mode=background))

    def create_app() -> Flask:
        app = Flask(__name__)

        @app.get("/hello")
        def hello() -> str:
            return "hi"

        metrics.init_app(app)
        return app

    senders_before = _senders()
    kept = create_app()  # an app still in use keeps its middleware
    _flask_request(kept)
    gone: list[weakref.ref[Any]] = []
    for _ in range(APPS):
        app = create_app()
        _flask_request(app)
        gone.append(weakref.ref(app))
        del app
    # (Bounds on waits for a condition, as the dropped apps' tests above: 20 s was lost
    # under a load of 18 to 35, suite36.)
    wait_until(lambda: gc.collect() >= 0 and all(ref() is None for ref in gone),
               timeout=60.0)
    assert len(collector.wait_for_logs(APPS, timeout=90.0)) >= APPS
    if background:
        wait_until(lambda: _senders() <= senders_before + 1, timeout=60.0)
    # The app in use is still logged and reachable through the extension.
    assert metrics.middlewares == [kept.wsgi_app] and metrics.middleware is kept.wsgi_app
    _flask_request(kept)
    assert metrics.flush(10.0) is True
    assert len(collector.wait_for_logs(APPS + 2, timeout=90.0)) == APPS + 2
    assert metrics.stats["sent"] == 2  # the live app's; the dropped apps' went with them
    metrics.close()


def test_inline_apps_freed_together_each_drain_within_its_own_bound(
        collector: Collector) -> None:
    """Inline apps freed by one collection are drained one after another by the
    library's one thread. Each drain's bound counted from its release: behind three
    POSTs the API took 0.9 s each to answer, the later apps' drains began past their
    2.5 s and gave up on logs they never tried to send (delivery71: 3 to 4 of 6 lost;
    1 of 12 in the test above under a load of 45). Each drain now has its own."""
    collector.replies.extend(Reply(delay=0.9) for _ in range(3))
    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=caller,
        buffer_length=10, flush_interval=60.0, shutdown_timeout=2.5, timeout=10.0,
        background_worker_mode=False))
    gone: list[weakref.ref[Any]] = []
    gc.disable()  # freed together, at the collection below
    try:
        for _ in range(6):
            app = Flask(__name__)
            app.get("/hello")(lambda: "hi")
            metrics.init_app(app)
            _flask_request(app)
            gone.append(weakref.ref(app))
            del app
    finally:
        gc.enable()
    wait_until(lambda: gc.collect() >= 0 and all(ref() is None for ref in gone),
               timeout=60.0)
    assert len(collector.wait_for_logs(6, timeout=60.0)) == 6
    assert not metrics.middlewares
