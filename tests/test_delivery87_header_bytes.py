"""delivery87 (1): x-documentation-url against a queue bounded by bytes (SPEC 5 and 7).

A response carries x-documentation-url iff its log is (very likely) delivered. The
header is decided as the response starts, before its log reaches the queue, from
``LogQueue.refusing``. Before delivery87 that flag knew only the bound of logs:

- a byte-bound refusal (one 1 MiB log refused while another log was held) set it until
  the next log was accepted: the next small call got no header, its log delivered;
- small logs filling ``max_queue_bytes`` left it False: the first call the bytes then
  refused still got the header (a link to a log that never came, a 404).

Now it says whether one more log the size of the last one accepted would be refused.
The 1 MiB log's own header cannot be known (its size comes after the header): it
keeps the header, and the test asserts nothing of it.

Real parts: the loopback collector (tests/support/fake_api.py), holding every POST until
the test lets them go (nothing settles meanwhile: no timing decides an order), and the
WSGI and ASGI middlewares. The batches wait unencoded until the queue is full
(``buffer_length`` and ``flush_interval`` far off), so ``queued_bytes`` is the logs'
captured bytes when each request starts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any, Callable, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.asgi import http_scope, run
from tests.support.delivery import adds_up
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.polling import wait_until
from tests.support.wsgi import run_wsgi, wsgi_environ

API_KEY = "rdme_delivery87_key"
DOCS = "https://docs.example.com"
HUGE = 1 << 20  # one response body of 1 MiB: its log alone is past max_queue_bytes
SMALL = 10  # the small calls after it


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x" * HUGE if environ["PATH_INFO"] == "/huge" else b"ok"]


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body",
                "body": b"x" * HUGE if scope["path"] == "/huge" else b"ok"})


def _options(collector: Collector, **options: Any) -> MetricsApiConfig:
    return MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, base_log_url=DOCS,
        grouping_function=lambda request: {"api_key": "caller-87"},
        buffer_length=1000, flush_interval=600.0, max_body_bytes=2 * HUGE,
        shutdown_timeout=5.0, timeout=INLINE_TIMEOUT, **options)


class _Wsgi:
    def __init__(self, collector: Collector, **options: Any) -> None:
        self.middleware = MetricsMiddleware(_wsgi_app, _options(collector, **options))

    def serve(self, path: str) -> Optional[str]:
        captured = self.middleware.stats["captured"]
        result = run_wsgi(self.middleware, wsgi_environ(path=path))
        assert result.status == "200 OK"
        wait_until(lambda: self.middleware.stats["captured"] > captured)
        found = result.header("x-documentation-url")
        return found[0] if found else None


class _Asgi:
    def __init__(self, collector: Collector, **options: Any) -> None:
        self.middleware = AsgiMetricsMiddleware(_asgi_app, _options(collector, **options))

    def serve(self, path: str) -> Optional[str]:
        captured = self.middleware.stats["captured"]
        done = asyncio.run(run(self.middleware, http_scope("GET", path), then="disconnect"))
        wait_until(lambda: self.middleware.stats["captured"] > captured)
        found = done.headers.get(b"x-documentation-url")
        return found.decode() if found else None


def _small_nbytes(make: Callable[..., Any], collector: Collector) -> int:
    """The captured bytes of one small call's log (they wait unencoded: nothing due)."""
    served = make(collector)
    try:
        served.serve("/small")
        return int(served.middleware.stats["queued_bytes"])
    finally:
        served.middleware.close()


@pytest.mark.parametrize("make", [_Wsgi, _Asgi], ids=["wsgi", "asgi"])
def test_the_header_follows_the_byte_bound_after_a_huge_log_is_refused(
        make: Callable[..., Any], collector: Collector, caplog: Any) -> None:
    """One small log held, a 1 MiB one refused by the bytes, then 10 small calls of
    which the bytes take the first 6: each small call has the header iff its log is
    delivered. Before: the first small call after the huge one had none (delivered),
    and the 7th had one (refused)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    nbytes = _small_nbytes(make, collector)
    collector.forget()
    gate = threading.Event()
    collector.default = Reply(gate=gate)  # every POST held until the checks are done
    # Room for 7 small logs and a half: the first one, then 6 of the 10.
    served = make(collector, max_queue_bytes=7 * nbytes + nbytes // 2)
    middleware = served.middleware
    try:
        first = served.serve("/small")
        assert first is not None
        served.serve("/huge")
        assert middleware.stats["dropped_queue_full"] == 1  # refused by the bytes
        headers = [served.serve("/small") for _ in range(SMALL)]
        refused = middleware.stats["dropped_queue_full"] - 1
    finally:
        gate.set()
    middleware.flush(10.0)
    middleware.close()
    stats = middleware.stats
    assert adds_up(stats), stats
    delivered = {log["_id"] for log in collector.logs}
    given = [None if header is None else header.rsplit("/", 1)[1] for header in headers]
    # Each small call: the header iff its log was delivered (before: the 1st had none,
    # delivered; the 7th had one, refused).
    assert [log_id is not None for log_id in given] == \
        [log_id is not None and log_id in delivered for log_id in given], headers
    # ... and no small call without it was delivered (the first log aside).
    assert first.rsplit("/", 1)[1] in delivered
    assert len(delivered) - 1 == sum(log_id is not None for log_id in given), headers
    # Both sides of the bound were reached: some small calls taken, some refused.
    assert refused == SMALL - 6 and len(delivered) == 1 + 6, (refused, stats)
    assert sum(log_id is not None for log_id in given) == 6, headers
    assert (stats["sent"], stats["dropped"], stats["dropped_queue_full"]) == \
        (7, 1 + refused, 1 + refused), stats
    # The lines of the drops say the stats' count (the close's, or the queue's own).
    said = [int(found.group(1)) for record in caplog.records
            for found in [re.search(r"stats\['dropped_queue_full'\] is (\d+)",
                                    record.getMessage())] if found]
    assert said and said[-1] == stats["dropped_queue_full"], said
