"""review109: an adversarial read of delivery33 and blackbox7.

1. A POST whose bound came while its connection was being made (delivery33's 3b): the
   requests route cut it only once its request was written (``sent=True``), so a POST
   past its bound went to the API in full and was then cut, taken for one the API may
   have read, and sent again: an API that answers at once got its logs twice. The
   direct route cuts it once connected, before a byte goes. Both routes now do.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable

import pytest
import requests
from urllib3.connection import HTTPConnection

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import direct as direct_route
from readme_metrics.delivery import watchdog
from readme_metrics.delivery.transport import Transport
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector

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

    monkeypatch.setattr(watchdog, "cut", cut)
    monkeypatch.setattr(direct_route, "_open", holding(direct_route._open))
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
