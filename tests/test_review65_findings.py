"""review65: an adversarial read of delivery17 (the drain after an outage), findings.

delivery17 releases every batch held for a retry once a probe of an API taken for down
succeeds. Against an API that comes back flapping (one POST answered now and then, the
others 503), each release sent every held batch again at once, each failure counted
against its budget as one of its own attempts: the batches were tried as often as the
API flapped, not at their own backoffs, and dropped within about a minute (none were
before delivery17).

servers9 reads uvicorn's ``response_started`` to tell a start the server refused and
answered nothing to: a second start, refused after the first head went out, was taken
for it.

The Batcher alone with a clock of its own (as test_delivery17_findings): counts of
POSTs and drops, no timed assertions; real servers for servers9 (its test's harness).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery import health as health_module
from readme_metrics.delivery import policy
from readme_metrics.delivery.queue import LogQueue
from tests.support.contract import API_KEY as CONTRACT_API_KEY
from tests.support.delivery import (
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    clocked_batcher,
    fail_attempt,
    put_log,
    take_batch,
)
from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.test_servers9_findings import _served

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(name="mean_jitter")
def mean_jitter_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every backoff and hold is drawn at its mean (half its ceiling)."""
    monkeypatch.setattr(health_module, "backoff_delay",
                        functools.partial(policy.backoff_delay, rand=lambda: 0.5))


def _flapping(seconds: float, every: float, senders: int = 4) -> tuple[LogQueue, int, int]:
    """One log a second for ``seconds`` to an API that answers the first POST of each
    ``every`` seconds and 503 to the others, ``senders`` POSTs in flight at most (each
    answered within the 0.05 s step); then the API is back and everything is sent.
    (queue, logs, dropped during the spell)"""
    now = [100.0]
    queue, batcher = clocked_batcher(now)
    logs = dropped = 0
    answered = -1e9
    while now[0] < 100 + seconds:
        if now[0] >= 100 + logs:
            put_log(batcher, f"log-{logs}")
            logs += 1
        posts = []
        while len(posts) < senders and (batch := take_batch(queue, batcher)) is not None:
            posts.append(batch)
        for batch in posts:
            if now[0] - answered >= every:
                answered = now[0]
                batcher.settle(batch, None)
            else:
                dropped += fail_attempt(batcher, batch)
        now[0] += 0.05
    now[0] += 3600.0  # the API is back, every backoff over
    while (batch := take_batch(queue, batcher)) is not None:
        batcher.settle(batch, None)
    return queue, logs, dropped


@pytest.mark.usefixtures("mean_jitter")
@pytest.mark.parametrize("every", [5.0, 10.0, 20.0])
def test_an_api_back_flapping_for_90_s_at_a_low_rate_loses_no_log(every: float) -> None:
    """One POST answered every 5, 10 or 20 s, the others 503, for 90 s: each answer
    released every held batch, each spent an attempt of its budget, and 3 to 12 logs
    were dropped (none before delivery17). A released batch that fails again goes back
    to the backoff it had: its budget is spent at its own pace, as the docs say."""
    queue, logs, dropped = _flapping(90.0, every)
    stats = queue.stats()
    assert dropped == 0
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (logs, 0, 0)


# -- servers9: a second start the server refuses ------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_second_start_refused_after_the_head_went_out_is_logged_broken_off(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """An app that starts its response twice: the server writes the first head, refuses
    the second (its send raises into the app) and closes the connection, the client
    holding a 200 head with no body. servers9 took the second start for a refused
    first one under uvicorn (its ``response_started`` was set by the first) and logged
    500 with "no answer reached the client". Logged as before servers9: the 200 the
    client got, broken off after 0 bytes."""
    path = "/start-twice"
    got, responses = _served(server, collector, tmp_path, [path])
    response = responses[path]
    assert got[path] == (200, 0)
    assert (response["status"], response["content"]["size"]) == got[path]
    assert "comment" not in response, response
    assert response["content"].get("comment", "").startswith(
        "incomplete: the app's answer broke off after 0 bytes"), response


# -- servers9: under waitress and cheroot the background log waits for close() -----------


class _SlowClose:
    """An app's iterable whose ``close()`` waits for ``release`` (a cleanup that takes
    its time: a database session, a file on a network share)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def __iter__(self) -> Iterator[bytes]:
        yield b"hello"

    def close(self) -> None:
        self.release.wait(10)


def test_a_log_whose_close_has_not_returned_at_the_middlewares_close_is_counted(
        collector: Collector) -> None:
    """Background mode under waitress (its environ key): servers9 queues the log once
    the iterable's close() returned, not at the iteration's end, to see a close() that
    raises. A close() still running when the middleware closes left the log neither
    sent nor counted (captured 0); at 18ad0b3 it was queued at the iteration's end and
    sent by the close. The middleware's close (and flush) now queue it, as it is."""
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> _SlowClose:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _SlowClose(release)

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=CONTRACT_API_KEY, metrics_api=collector.url, background_worker_mode=True,
        buffer_length=1, grouping_function=lambda request: {"api_key": "k", "label": "l"}))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
               "waitress.client_disconnected": lambda: False}
    result = middleware(environ, lambda status, headers, *exc_info: None)
    assert b"".join(result) == b"hello"
    closing = threading.Thread(target=result.close)  # the server's close(), still running
    closing.start()
    try:
        middleware.close()
        stats = middleware.stats
        assert (stats["captured"], stats["sent"]) == (1, 1), stats
        assert len(collector.logs) == 1
    finally:
        release.set()
        closing.join(10)


_EXITS_DURING_CLOSE = '''
import sys, threading
from readme_metrics import MetricsApiConfig, MetricsMiddleware

class SlowClose:
    def __iter__(self):
        yield b"hello"

    def close(self):
        threading.Event().wait(30)  # still running when the process exits

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return SlowClose()

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key=sys.argv[2], metrics_api=sys.argv[1], background_worker_mode=True,
    buffer_length=1, grouping_function=lambda request: {"api_key": "k", "label": "l"}))
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "x",
           "SERVER_PORT": "80", "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
           "waitress.client_disconnected": lambda: False}
result = middleware(environ, lambda status, headers, *exc_info: None)
assert b"".join(result) == b"hello"
threading.Thread(target=result.close, daemon=True).start()
'''


def test_a_log_whose_close_has_not_returned_at_exit_is_sent(collector: Collector) -> None:
    """As above, at the interpreter's exit with no close() of the middleware (a waitress
    worker thread still in the app's close()): the exit queues the log and sends it."""
    done = run_command([sys.executable, "-c", _EXITS_DURING_CLOSE, collector.url,
                        CONTRACT_API_KEY], capture_output=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert [log["_id"] for log in collector.wait_for_logs(1)]
