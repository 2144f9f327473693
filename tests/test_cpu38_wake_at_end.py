"""cpu38: under a gunicorn sync worker (one request at a time) the sender is woken for a
batch at the request's end, once gunicorn has written the answer and closes it, not in
the request (readme_metrics/delivery/wake_at_end.py); under gthread as before.

A real gunicorn (one worker) serves the wrapped app behind an outer layer that marks the
request's phase: ``calling`` (the middleware's call, before the app), ``app`` (the app
and the middleware after it, the list answer's log queued there), ``iterating``
(gunicorn reading the answer: a streamed answer's log is queued at its end), ``closing``
(gunicorn's ``close()`` after the answer is written). The queue's wakes are counted in
the worker by a shim around the real ``LastParked.notify`` of the queue's condition,
each with the phase it came in; /wakes answers them. Counts, not times. The real
collector gets every log (flushed through /flush).
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.ports import free_port
from tests.test_e2e_servers import GUNICORN, ROOT, serve

pytestmark = pytest.mark.e2e

BATCH = 10

APP = textwrap.dedent("""
    import json, os
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.delivery.last_parked import LastParked

    phase = ["idle"]
    wakes = []

    def inner(environ, start_response):
        phase[0] = "app"
        path = environ["PATH_INFO"]
        if path == "/boom":
            raise RuntimeError("boom")
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", "2")])
        if path == "/stream":
            return (chunk for chunk in (b"o", b"k"))
        return [b"ok"]

    middleware = MetricsMiddleware(inner, MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=BATCH_SIZE, flush_interval=600,
        grouping_function=lambda request: {"api_key": "k"}))

    real_notify = LastParked.notify

    def counted_notify(self, n=1):
        if self is middleware.pipeline.delivery._queue.wake:
            wakes.append(phase[0])
        return real_notify(self, n)

    LastParked.notify = counted_notify

    class Outer:
        def __init__(self, result):
            self.result = result

        def __iter__(self):
            phase[0] = "iterating"
            for chunk in self.result:
                yield chunk

        def close(self):
            phase[0] = "closing"
            try:
                close = getattr(self.result, "close", None)
                if close is not None:
                    close()
            finally:
                phase[0] = "idle"

    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path in ("/wakes", "/flush"):
            if path == "/flush":
                middleware.flush(30)
            body = json.dumps(wakes).encode()
            del wakes[:]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        phase[0] = "calling"
        return Outer(middleware(environ, start_response))
""").replace("BATCH_SIZE", str(BATCH))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A sync and a gthread gunicorn serving :data:`APP`, one collector for both."""
    directory = tmp_path_factory.mktemp("cpu38")
    Path(directory, "wake_app.py").write_text(APP)
    collector = Collector().start()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}  # (background mode, the options above)
    env.update(METRICS_URL=collector.url, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(directory), str(ROOT)]))
    argv = {"sync": ["--worker-class=sync"],
            "gthread": ["--worker-class=gthread", "--threads=4"]}
    try:
        with serve_both(argv, env, directory) as urls:
            yield {"urls": urls, "collector": collector}
    finally:
        collector.stop()


class serve_both:  # noqa: N801 - a context manager, used as a function
    """Both servers running until the block ends."""

    def __init__(self, argv: dict[str, list[str]], env: dict[str, str],
                 directory: Path) -> None:
        self.contexts = {}
        for kind, options in argv.items():
            port = free_port()
            command = [sys.executable, *GUNICORN, *options, f"--bind=127.0.0.1:{port}",
                       "wake_app:application"]
            self.contexts[kind] = serve(command, env, directory, port)

    def __enter__(self) -> dict[str, str]:
        return {kind: context.__enter__() for kind, context in self.contexts.items()}

    def __exit__(self, *exc: Any) -> None:
        for context in self.contexts.values():
            context.__exit__(*exc)


def _wakes(url: str, paths: list[str]) -> list[str]:
    """Flush (the queue empty, the sender idle), GET ``paths`` one after another, and
    the queue's wakes in the worker meanwhile, with the phase of each."""
    requests.get(f"{url}/flush", timeout=60).raise_for_status()
    for path in paths:
        requests.get(url + path, timeout=30)
    return requests.get(f"{url}/wakes", timeout=30).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("path", "before"), [
    pytest.param("/list", "app", id="list-answer"),
    pytest.param("/stream", "iterating", id="streamed-answer"),
])
def test_a_sync_worker_wakes_the_sender_as_the_answer_closes(
        served: dict[str, Any], path: str, before: str) -> None:
    # Before cpu38 the batch's wake came in the request: in the app's call for a list
    # ("app"), at the streamed answer's end ("iterating"), before gunicorn closed it.
    wakes = _wakes(served["urls"]["sync"], [path] * BATCH)
    assert wakes == ["closing"], f"not {before!r} any more: {wakes}"


def test_a_raise_owes_the_wake_to_the_next_request(served: dict[str, Any]) -> None:
    # The app raised at the batch's last log: gunicorn answers its own 500 and calls no
    # close(): the wake is given as the next request begins (before: in the app's call).
    wakes = _wakes(served["urls"]["sync"], ["/list"] * (BATCH - 1) + ["/boom", "/list"])
    assert wakes == ["calling"]


def test_gthread_wakes_as_before(served: dict[str, Any]) -> None:
    # Several requests at once under gthread: woken when the batch is there, as before.
    wakes = _wakes(served["urls"]["gthread"], ["/list"] * BATCH)
    assert wakes == ["app"]


def test_every_log_delivered(served: dict[str, Any]) -> None:
    collector: Collector = served["collector"]
    paths = ["/list?t=all"] * 12 + ["/stream?t=all"] * 12 + ["/boom?t=all"]
    for url in served["urls"].values():
        _wakes(url, paths)
        requests.get(f"{url}/flush", timeout=60).raise_for_status()
    logs = [log["request"]["log"]["entries"][0] for log in collector.logs]
    tagged = [entry for entry in logs if entry["request"]["url"].endswith("?t=all")]
    assert len(tagged) == 2 * len(paths)
    statuses = sorted(entry["response"]["status"] for entry in tagged)
    assert statuses == [200] * 48 + [500] * 2


def _queue(max_size: int) -> Any:
    """A queue owing its wakes to the request's end, one sender counted idle, its wakes
    counted."""
    from readme_metrics.delivery.queue import LogQueue

    queue = LogQueue(batch_size=2, interval=0.0, max_size=max_size, max_bytes=1 << 20)
    queue.at_end = True
    queue.idle = 1
    woken: list[int] = []
    real = queue.wake.notify
    queue.wake.notify = lambda n=1: (woken.append(n), real(n))[1]  # type: ignore[method-assign]
    queue.woken = woken
    return queue


def test_the_wake_is_owed_once_and_a_full_queue_wakes_at_once() -> None:
    queue = _queue(max_size=3)
    with queue.lock:
        assert queue.put_locked(object(), 1) and queue.put_locked(object(), 1)
    assert (queue.owed, queue.woken) == (True, [])  # a batch's worth: owed
    queue.wake_owed()
    queue.wake_owed()  # given once
    assert (queue.owed, queue.woken) == (False, [1])
    with queue.lock:
        assert queue.put_locked(object(), 1)  # full now (max_size 3): at once
    assert (queue.owed, queue.woken) == (False, [1, 1])
