"""review109: an adversarial read of delivery33 and blackbox7.

1. A POST whose bound came while its connection was being made (delivery33's 3b): the
   requests route cut it only once its request was written (``sent=True``), so a POST
   past its bound went to the API in full and was then cut, taken for one the API may
   have read, and sent again: an API that answers at once got its logs twice. The
   direct route cuts it once connected, before a byte goes. Both routes now do.
2. The queue-full drops no line said yet were said by every flush() (blackbox7), past the
   once-a-minute limit of the other queue-full lines: a serverless app calling flush() at
   the end of each invocation (as the README says), the API down, logged one warning per
   invocation. A plain flush says them at most once a minute now; the close, and the
   ASGI lifespan's flush at shutdown (no close follows under uvicorn's SIGTERM), say all.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
from typing import Any, Callable

import pytest
import requests
from urllib3.connection import HTTPConnection

from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import direct as direct_route
from readme_metrics.delivery import direct_connect, watchdog
from readme_metrics.delivery.transport import Transport
from tests.support.capture_wrap import wrapping
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector, Reply
from tests.support.watchdog_points import patch_cut

#: A guard against a hang, not a synchronisation: every wait below is ended by an event.
GUARD = 60.0

ROUTES = pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])


def connect_held_until_cut(monkeypatch: pytest.MonkeyPatch, first_only: bool = False
                           ) -> threading.Event:
    """Each route's connect (the first one only, if ``first_only``) waits until the
    watchdog cut its POST (which finds no socket to shut down), then connects; returns
    the event set at that cut."""
    cut_done = threading.Event()
    real_cut = watchdog.cut
    held = [0]

    def cut(connection: Any) -> bool:
        try:
            return real_cut(connection)
        finally:
            cut_done.set()

    def holding(call: Callable[..., Any]) -> Callable[..., Any]:
        def connect(*args: Any, **kwargs: Any) -> Any:
            held[0] += 1
            if held[0] == 1 or not first_only:
                assert cut_done.wait(GUARD)
            return call(*args, **kwargs)
        return connect

    patch_cut(monkeypatch, cut)
    monkeypatch.setattr(direct_connect, "open_socket", holding(direct_route._open))
    monkeypatch.setattr(HTTPConnection, "connect", holding(HTTPConnection.connect))
    return cut_done


@ROUTES
def test_a_post_cut_while_it_connects_writes_nothing(
        monkeypatch: pytest.MonkeyPatch, direct: bool) -> None:
    """The API is a listening socket (it accepts once the POST is over and reads what
    came). Before, on the requests route: the whole POST was written after its bound had
    fired, then the connection was shut down and the POST taken for one the API may
    have read (a read timeout, sent again). Now nothing is written, and the error is a
    connect timeout, as on the direct route."""
    connect_held_until_cut(monkeypatch)
    with socket.create_server(("127.0.0.1", 0)) as api:
        api.settimeout(GUARD)
        config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda request: None,
                                  metrics_api=f"http://127.0.0.1:{api.getsockname()[1]}")
        transport = Transport(config, direct=direct)
        try:
            with pytest.raises(requests.Timeout) as raised:
                transport.post_logs(b"[]", 0.3, new_stretch(0.3))
        finally:
            transport.close()
        conn, _ = api.accept()
        with conn:
            got = b""
            while chunk := conn.recv(65536):
                got += chunk
    assert got == b"", got[:60]
    assert isinstance(raised.value, requests.ConnectTimeout), repr(raised.value)


@ROUTES
def test_a_post_cut_while_it_connects_reaches_the_api_once(
        make_delivery: MakeDelivery, collector: Collector,
        monkeypatch: pytest.MonkeyPatch, direct: bool) -> None:
    """The first POST's connect outlasts its bound (held until the watchdog cut it); the
    API answers at once. Its batch goes again: the API must get its log once. Before,
    on the requests route, it got it twice (the first POST written past its bound)."""
    connect_held_until_cut(monkeypatch, first_only=True)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.3, direct=direct)
    assert delivery.submit(item("log-0"))
    assert delivery.flush(GUARD)
    delivery.close()
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["retries"]) == (1, 1), stats
    assert [log["_id"] for log in collector.logs] == ["log-0"]


#: The count each queue-full line says: the first warning's total, then the runs said.
QUEUE_FULL = re.compile(r"new logs are dropped \((\d+) so far\)|(\d+) logs? dropped (?:while "
                        r"it was full|as the delivery queue was full)")


def queue_full_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    """(first warning's total, run said) of each queue-full line, in order."""
    found = (QUEUE_FULL.search(record.getMessage()) for record in caplog.records
             if record.levelno == logging.WARNING)
    return [(int(m.group(1) or 0), int(m.group(2) or 0)) for m in found if m]


def test_flush_after_each_request_says_the_drops_once_a_minute(
        make_delivery: MakeDelivery, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """Serverless: one request, then flush(), 20 times, the API failing (503), the queue
    of 2 logs full. Before: 17 queue-full warnings (one per flush). Now: the first one,
    and one flush's count; the close says the rest, every drop said once."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    collector.default = Reply(status=503)
    delivery = make_delivery(collector.url, max_attempts=100, background_worker_mode=False,
                             max_queue_size=2, buffer_length=1, timeout=1.0)
    for n in range(20):
        delivery.submit(item(f"call-{n}"))
        delivery.flush(0.05)
    dropped = delivery.stats["dropped_queue_full"]
    assert dropped >= 10, delivery.stats
    assert len(queue_full_lines(caplog)) == 2, queue_full_lines(caplog)
    delivery.close()
    said = [run for _, run in queue_full_lines(caplog)]
    assert len(said) == 3 and sum(said) == dropped, (said, dropped)


def test_the_lifespans_flush_at_shutdown_says_every_drop(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """A plain flush() said a first run of drops; a second run within the minute is left
    to the ASGI lifespan's flush at shutdown (uvicorn ends on SIGTERM with no close
    after it): said there, every drop once, before any close."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    collector.default = Reply(status=503)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    server = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Any:
        return next(server)

    async def send(message: Any) -> None:
        pass

    with wrapping(collector, MetricsMiddleware, max_queue_size=1, timeout=1.0,
                  shutdown_timeout=0.2) as wrap:
        wrapped = wrap(app)
        delivery = wrapped.pipeline.delivery
        for n in range(3):
            delivery.submit(item(f"first-{n}"))
        wrapped.flush(0.0)  # says the first run
        for n in range(3):
            delivery.submit(item(f"second-{n}"))
        wrapped.flush(0.0)  # within the minute: not said here
        assert len(queue_full_lines(caplog)) == 2, queue_full_lines(caplog)
        asyncio.run(wrapped({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
        said = [run for _, run in queue_full_lines(caplog)]
        assert len(said) == 3, said
        assert sum(said) == delivery.stats["dropped_queue_full"], (said, delivery.stats)
