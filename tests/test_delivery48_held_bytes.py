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
at most 2 MiB (or one log). Failed before the fix: 4 of 4 (the delivery held 5.5 to
21.5 MB at a 1 MiB bound; POSTs of up to 21.5 MB). The hypothesis test is of the encoder's
new bounds (``Sender.encode_upto``, which did not exist).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsMiddleware
from readme_metrics.delivery.policy import MAX_POST_BYTES
from readme_metrics.delivery.sender import Sender
from tests.support.contract import json_app
from tests.support.fake_api import PATIENCE, Collector, Reply
from tests.support.polling import wait_until
from tests.support.transports import API_KEY, make_transport
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


class _Item:
    """A captured log as the queue holds it: its captured size, and what it builds to."""

    def __init__(self, nbytes: int, text: str, fails: bool) -> None:
        self.nbytes, self.text, self.fails = nbytes, text, fails


def _build(item: _Item) -> dict[str, Any]:
    if item.fails:
        raise ValueError("cannot be built")
    return {"t": item.text}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.builds(_Item, st.integers(0, 400), st.text(max_size=300),
                                st.integers(0, 9).map(lambda n: n == 0)),
                      max_size=30),
       limit=st.integers(2, 3000), room=st.integers(-500, 3000))
def test_encoding_stops_at_the_post_cap_and_the_room_left(
        items: list[_Item], limit: int, room: int) -> None:
    """Sender.encode_upto with random logs (some that cannot be built), caps and room: the
    array is the first ``used`` items' logs in order, at most ``limit`` bytes and ``room``
    plus their captured bytes, unless it holds one log only; nothing is used past a log
    that did not fit."""
    failed: list[_Item] = []
    sender = Sender(make_transport("http://127.0.0.1:9"), _build, API_KEY)
    body, used = sender.encode_upto(items, lambda exc, item: failed.append(item), limit,
                                    room)
    taken = items[:used]
    built = [item for item in taken if not item.fails]
    assert failed == [item for item in taken if item.fails]
    if body is None:
        assert not built
        assert used == len(items)
        return
    logs = json.loads(bytes(body))
    assert logs == [{"t": item.text} for item in built]
    if len(logs) > 1:
        assert len(body) <= limit
        assert len(body) <= room + sum(item.nbytes for item in taken)
    if used < len(items):  # the next log would not have fitted
        nxt = items[used]
        assert not nxt.fails
        grown = len(body) + len(json.dumps(
            {"t": nxt.text}, separators=(",", ":"), ensure_ascii=False).encode()) + 1
        assert grown > limit or grown > room + sum(i.nbytes for i in items[:used + 1])
