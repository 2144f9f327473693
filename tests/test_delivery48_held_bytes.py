"""delivery48 (SPEC 7: "Memory stays bounded when ReadMe is down, slow or refusing"; a POST
"up to a documented cap in logs and bytes"): the queue's byte bound and the POST's 2 MiB
cap counted captured bytes, while a batch once encoded is held (for its retries, in
flight) as its JSON: 2.8 times its captured bytes for a small GET, 6 times for a body of
control characters, about 19 times for a Cookie header of tiny cookies (each value sent
as its 100-character mask, a contract of SPEC 2). With the API unreachable and
``max_queue_bytes`` at 4 MiB, 68.6 MB of JSON was held (cpu23); a POST at the cap ~40 MB.

Now everything held counts by its real size (JSON once encoded), no batch is encoded past
the room left or past 2 MiB of JSON (the logs past it wait as a batch of their own), and
the bound holds within one log's JSON. Against a real collector on 127.0.0.1 that refuses
(503) or stalls, then answers: every log not counted as dropped is delivered, in POSTs of
at most 2 MiB (or one log). Failed before the fix: 4 of 4 (the JSON held 10 to 17 times
the bound; POSTs of up to 10 MB).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.delivery.policy import MAX_POST_BYTES
from tests.support.contract import json_app
from tests.support.fake_api import PATIENCE, Collector, Reply
from tests.support.polling import wait_until
from tests.support.wsgi import run_wsgi, wsgi_environ

BOUND = 1024 * 1024
#: 8 KB of tiny cookies (1,379 of them), each value logged as its 100-character mask.
COOKIE = ";".join(f"{i:x}=1" for i in range(1600))[:8000]
#: A body of control characters: each byte a 6-character \u00XX in the JSON.
CONTROL = bytes(range(1, 32)) * 600


def _cookie_heavy(n: int) -> dict[str, Any]:
    return wsgi_environ(path=f"/c/{n}", headers={"Cookie": COOKIE})


def _control_body(n: int) -> dict[str, Any]:
    return wsgi_environ("POST", f"/b/{n}", headers={"Content-Type": "text/plain"},
                        body=CONTROL)


def _held(middleware: MetricsMiddleware) -> tuple[int, int]:
    """(the bytes the delivery holds, measured: the logs waiting by their captured bytes,
    each batch by its JSON once encoded; its own count, stats['queued_bytes'])."""
    queue = middleware.pipeline.delivery._queue  # type: ignore[attr-defined]
    with queue.lock:
        waiting = sum(item.nbytes for item in queue.items)
        batches = sum(len(batch.body) if batch.body is not None else batch.nbytes
                      for batch in (*queue.in_flight, *queue.retries))
        return waiting + batches, queue.queued_bytes


def _log_size(log: dict[str, Any]) -> int:
    return len(json.dumps(log, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.fixture(params=["refusing-503", "stalling"])
def down(request: pytest.FixtureRequest, collector: Collector) -> Iterator[Callable[[], None]]:
    """The collector refuses (503) or stalls (no answer until the test lets it), then
    answers again when the returned function is called."""
    gate = threading.Event()
    collector.default = (Reply(status=503) if request.param == "refusing-503"
                         else Reply(gate=gate))

    def back() -> None:
        collector.default = Reply()
        gate.set()

    try:
        yield back
    finally:
        gate.set()


@pytest.mark.parametrize("environ", [_cookie_heavy, _control_body],
                         ids=["cookie-heavy", "control-characters"])
def test_what_is_held_stays_within_the_byte_bound_and_is_delivered_after(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware],
        down: Callable[[], None], environ: Callable[[int], dict[str, Any]]) -> None:
    middleware = background_wrap(json_app, max_queue_bytes=BOUND, buffer_length=10,
                                 flush_interval=0.05, timeout=1.0, shutdown_timeout=5.0)
    peaks = [0]
    stop = threading.Event()

    def sample() -> None:  # what is held, through the filling and the delivery after
        while not stop.wait(0.002):
            held, counted = _held(middleware)
            peaks[0] = max(peaks[0], held)
            peaks.append(held - counted)  # (its count covers it all: <= 0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for n in range(300):
            run_wsgi(middleware, environ(n))
        # The senders took what they could and hold it (encoded) for a retry: full.
        wait_until(lambda: middleware.stats["dropped_queue_full"] > 0, PATIENCE)
        down()
        assert middleware.flush(PATIENCE) in (True, False)  # (False: some were dropped)
    finally:
        stop.set()
        sampler.join()
    peak, uncounted = peaks[0], max(peaks[1:])
    stats = middleware.stats
    assert stats["queued"] == 0, stats
    logs = collector.wait_for_logs(stats["captured"] - stats["dropped"])
    assert len(logs) == stats["sent"] == 300 - stats["dropped"], stats
    urls = {log["request"]["log"]["entries"][0]["request"]["url"] for log in logs}
    assert len(urls) == len(logs)  # none twice
    one_log = max(map(_log_size, logs))
    assert peak <= BOUND + one_log + 1024, (peak, BOUND, one_log)
    assert uncounted <= 1024, uncounted  # stats['queued_bytes'] counts what is held
    for post in collector.received:
        if post.path.endswith("/request") and post.body:
            assert len(post.body) <= MAX_POST_BYTES or len(post.json()) == 1, len(post.body)
