"""review115: adversarial review of delivery37 (inline exit, gunicorn's SIGTERM noted).

1. Inline, the app's threads working past the exit's bound (``shutdown_timeout`` from
   the main thread's end): a POST in flight there is cut (delivery37), and the close
   after them has a bound of its own. Its line then said of that POST "closing gave up
   after 0.5s, the next attempt being due past shutdown_timeout ... (1 of them in POSTs
   cut at the close ...)": no attempt was due, and the close cut nothing; the logs were
   cut at the exit's bound, before it began (a real script: a thread of the app's
   serving 10 s, ``shutdown_timeout`` 2 s, an API answering in 0.5 s: 184 of 184 logs
   delivered, that one line about the one cut).
2. In a gunicorn worker the library puts a wrapper around the worker's SIGTERM handler
   (delivery37). An app (or a graceful-shutdown library) comparing
   ``signal.getsignal(signal.SIGTERM)`` to its worker's ``handle_exit`` found it equal
   before, and no longer: gunicorn's handler looked replaced by a stranger's. The
   wrapper now compares (and hashes) as the handler it wraps, and gives its attributes
   (``__func__``, ``__name__``) as that method does; ``is`` never held (a bound method
   is made anew at each access).
3. ``app.wsgi_app = ProxyFix(MetricsMiddleware(app, config))`` (or any middleware of
   the app's between): the loop newcomer26 stopped logging by the hundred, reached
   through another layer: each request recursed until RecursionError and sent 164 logs
   of a 500 to ReadMe, and nothing said why (the check looked only at
   ``app.wsgi_app is middleware``). A RecursionError of the loop is now known by the
   middleware's own calls nested in it; an app's own recursion (a view's) is logged as
   its 500, as before.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery import gunicorn_stop, process
from readme_metrics.delivery.core import Delivery
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server
from tests.support.processes import stop_for_output as _stop
from tests.support.wsgi import ThreadedWSGIServer

ROOT = Path(__file__).resolve().parents[1]


def test_a_post_cut_at_the_exits_bound_is_said_so_by_the_close_after_it(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline, the main thread ended; a thread of the app's serves on: its log's POST,
    never answered, is cut at the exit's bound (``shutdown_timeout`` 0.5 s from the
    main thread's end); a log past it gives the close a bound of its own, which
    delivers it. The close's line says the one log cut where it was: at the exit's
    bound, not "gave up ... the next attempt being due past shutdown_timeout" nor "cut
    at the close"."""
    never = threading.Event()  # (set at the end: the collector's thread answers)
    collector.replies.append(Reply(gate=never))
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.5,
                             background_worker_mode=False)
    try:
        _cut_then_late(delivery, collector, monkeypatch, caplog)
    finally:
        never.set()


def _cut_then_late(delivery: Delivery, collector: Collector,
                   monkeypatch: pytest.MonkeyPatch,
                   caplog: pytest.LogCaptureFixture) -> None:
    delivery.post_waiting()  # (the main thread's end: nothing waits)
    exit_by = delivery._batcher.exit_by
    assert delivery.submit(item("cut"))  # posted inline at once, cut at exit_by
    assert time.monotonic() >= exit_by
    wait_until(lambda: collector.failed or collector.received)
    assert delivery.submit(item("late"))  # past the bound: the close's own
    began = time.monotonic()
    monkeypatch.setattr(process, "exit_began", lambda: began)
    caplog.clear()
    delivery.close()
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 1, stats
    said = [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and "readme_metrics" in r.getMessage()]
    assert said == [  # (in the one wording since delivery81)
        "readme_metrics: 0 logs not delivered, 1 unknown (in POSTs sent in full, cut "
        "unanswered: the Metrics API may have them): in POSTs cut at the exit's bound, "
        "shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0.5s after the main thread "
        "ended, the app's threads serving on past it"], said


SIGNAL_APP = textwrap.dedent("""
    import json, os, signal
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        handler = signal.getsignal(signal.SIGTERM)
        worker = signal.getsignal(signal.SIGUSR1).__self__  # (gunicorn's own, unwrapped)
        seen = {"equal": handler == worker.handle_exit,
                "equal_reflected": worker.handle_exit == handler,
                "same_hash": hash(handler) == hash(worker.handle_exit),
                "func": getattr(handler, "__func__", None) is type(worker).handle_exit,
                "name": getattr(handler, "__name__", None)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_review115_key", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", grouping_function=lambda req: None))
""")


@pytest.mark.e2e
@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_the_workers_sigterm_handler_still_compares_as_gunicorns(
        worker: str, collector: Collector, tmp_path: Path) -> None:
    """Real gunicorn: the app reads its worker's SIGTERM handler, wrapped by the
    library, and finds gunicorn's ``handle_exit`` (equal, same hash, its ``__func__``
    and name), as without the library. Before: not equal, no such attributes."""
    (tmp_path / "signal_app.py").write_text(SIGNAL_APP)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    argv = [sys.executable, "-m", "gunicorn", f"--worker-class={worker}", "--workers=1",
            f"--bind=127.0.0.1:{port}", "signal_app:application"]
    server = start_server(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: answers(url))
        seen = requests.get(url, timeout=10).json()
    finally:
        _, err = _stop(server)  # (exit 0: gunicorn's own handler ran, wrapped)
    assert seen == {"equal": True, "equal_reflected": True, "same_hash": True,
                    "func": True, "name": "handle_exit"}, (seen, err)


def test_the_wrapper_compares_as_the_handler_it_wraps() -> None:
    """Any handler wrapped (an app's own, set before the middleware was built)."""
    def own(signum: int, frame: Any) -> None:
        pass

    noted = gunicorn_stop._Noted(own)
    assert noted == own and own == noted and hash(noted) == hash(own)
    assert noted != (lambda signum, frame: None)
    assert noted.__name__ == "own" and noted.__wrapped__ is own
    assert json.dumps(noted.came) == "null"
    with pytest.raises(AttributeError):
        noted.no_such_attribute  # noqa: B018
    noted(signal.SIGTERM, None)
    assert noted.came is not None


def _config(collector: Collector) -> MetricsApiConfig:
    return MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, base_log_url="https://docs.example",
        grouping_function=lambda request: {"api_key": "owlbert-key"})


def _deep(n: int) -> int:
    return _deep(n + 1)  # an app's own recursion, without end


def _get(app: Any, path: str, count: int = 2) -> list[int]:
    with ThreadedWSGIServer(app) as server:
        return [requests.get(server.url + path, timeout=30).status_code
                for _ in range(count)]


def test_the_loop_through_another_middleware_is_said_once_not_logged_by_the_hundred(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """Flask, ``app.wsgi_app = ProxyFix(MetricsMiddleware(app, config))``: no log for
    the looping calls, one error naming what to write. Before: 164 logs of a 500 for
    one request, nothing said."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = Flask(__name__)
    app.get("/")(lambda: {"hello": "world"})
    middleware = MetricsMiddleware(app, _config(collector))
    app.wsgi_app = ProxyFix(middleware)  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="readme_metrics"):
        answers = _get(app, "/")
        middleware.flush(10)
    assert answers == [500, 500]
    assert collector.logs == [], len(collector.logs)
    said = [r.getMessage() for r in caplog.records if "wsgi_app" in r.getMessage()]
    assert len(said) == 1, [r.getMessage()[:200] for r in caplog.records]
    assert "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)" in said[0], said
    assert "could not start capturing" not in caplog.text


@pytest.mark.parametrize("shape", ["plain", "flask_propagating", "flask_twice"])
def test_an_apps_own_recursion_error_is_logged_as_its_500(
        shape: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """A view recursing without end (the app's own RecursionError, reaching the
    middleware): each call logged as a 500, nothing said of a loop; Flask wrapped twice
    legitimately (two projects, each its own ``wsgi_app`` wrapped) alike."""
    from flask import Flask

    if shape == "plain":
        def plain(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            return [str(_deep(0)).encode()]
        served: Any = MetricsMiddleware(plain, _config(collector))
        layers = [served]
    else:
        served = Flask(__name__)
        served.config["PROPAGATE_EXCEPTIONS"] = True  # (else Flask answers it itself)
        served.get("/")(lambda: {"depth": _deep(0)})
        layers = [MetricsMiddleware(served.wsgi_app, _config(collector))]
        if shape == "flask_twice":
            layers.append(MetricsMiddleware(layers[0], MetricsApiConfig(
                api_key="other-key", metrics_api=collector.url,
                base_log_url="https://docs.example",
                grouping_function=lambda request: {"api_key": "owlbert-key"})))
        served.wsgi_app = layers[-1]  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        assert _get(served, "/") == [500, 500]
        for layer in layers:
            layer.flush(10)
    statuses = [log["request"]["log"]["entries"][0]["response"]["status"]
                for log in collector.logs]
    assert statuses == [500] * (2 * len(layers)), statuses
    assert "wsgi_app" not in caplog.text, caplog.text
