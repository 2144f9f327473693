"""delivery86: the lines of logs the Metrics API may have, and a recount a close skipped.

1. (b) A 401/403's pause, a proxy's refusal and a TLS failure no retry heals, of a
   batch a POST of which went in full unanswered before (the server read it and
   closed the connection: the API may have it) counted it ``dropped_unknown`` (the
   pause; the others ``dropped_proxy``, ``dropped_tls``) but their lines said nothing
   of it. Now each is ``dropped_unknown`` and says "N unknown (in POSTs sent in full,
   cut unanswered: the Metrics API may have them), counted dropped_unknown", the one
   wording of every stop line, its N the stats'.
2. (c) A close giving a batch up after its sender, back from its POST with the answer,
   had looked at the batch and before it settled it: the settle found no log to count,
   and the 202 was lost on them (``dropped_unknown`` for good). The order is forced
   with an event in the attempt's ``_apply`` (the test's hook), not with sleeps.

Real parts: the loopback collector (tests/support/fake_api.py), a second one standing for
the proxy, a TLS server on 127.0.0.1 with a CA made for the test.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.delivery import Delivery
from tests.support.closing_lines import closing_lines, said_as_counted, senders_back
from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,
    item,
    make_delivery_fixture,
    through_proxy,
)
from tests.support.fake_api import Collector, Reply
from tests.support.paused_retry import paused_with_a_retry_waiting
from tests.support.polling import SERVE_POLL, wait_until
from tests.support.processes import LINE_WAIT
from tests.support.raw_requests import read_request
from tests.support.tls import Certificates, make_certificates, server_context
from tests.support.watchdog_points import GUARD, ROUTES

#: The one wording of the logs the Metrics API may have (post_progress.UNKNOWN).
UNKNOWN = (r"(\d+) unknown \(in POSTs sent in full, cut unanswered: the Metrics API may "
           r"have them\), counted dropped_unknown")


def _said(caplog: Any, level: int, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == level and needle in r.getMessage()]


def _unknown_said(line: str) -> int:
    found = re.search(UNKNOWN, line)
    assert found is not None, line
    return int(found.group(1))


def _stats(delivery: Delivery) -> dict[str, int]:
    stats = delivery.stats
    assert adds_up(stats), stats
    return stats


@ROUTES
def test_a_pause_says_the_refused_batch_the_api_may_have(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        direct: bool) -> None:
    """1. A log's POST read in full and closed unanswered, its retry answered 401: the
    pause's one error says its log unknown, as counted (before: nothing of it)."""
    collector.replies.extend([Reply(drop=True), Reply(status=401)])
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=1, backoff_base=0.05,
                             direct=direct)
    assert delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1, timeout=LINE_WAIT)
    stats = _stats(delivery)
    (line,) = _said(caplog, logging.ERROR, "refused the API key")
    assert _unknown_said(line) == stats["dropped_unknown"] == 1, (line, stats)
    assert stats["dropped_auth"] == 0, stats


def test_a_pause_says_the_retries_it_drops_the_api_may_have(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """1. Log ``a``'s POST read in full and closed unanswered, its retry due in 30 s;
    log ``b``'s POST answered 401: the pause drops ``b`` (``auth``) and ``a``
    (``unknown``), its error says the one (before: nothing)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    stats = _stats(paused_with_a_retry_waiting(make_delivery, collector))
    (line,) = _said(caplog, logging.ERROR, "refused the API key")
    assert _unknown_said(line) == stats["dropped_unknown"] == 1, (line, stats)
    assert stats["dropped_auth"] == 1, stats


def test_a_proxys_refusal_says_the_batch_the_api_may_have(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """1. Through a proxy (a second collector on 127.0.0.1): the POST read in full and
    closed unanswered, its retry refused by the proxy's own 407. Before: counted
    ``dropped_proxy``, its error saying nothing of the first POST; now
    ``dropped_unknown``, said so in the one wording."""
    proxy = Collector().start()
    try:
        proxy.replies.extend([Reply(drop=True), Reply(status=407)])
        through_proxy(monkeypatch, proxy.url)
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        delivery = make_delivery(collector.url, buffer_length=1, backoff_base=0.05)
        assert delivery.submit(item("a"))
        wait_until(lambda: delivery.stats["dropped"] == 1
                   and _said(caplog, logging.ERROR, "no log can be posted"),
                   timeout=LINE_WAIT)
        stats = _stats(delivery)
        (line,) = _said(caplog, logging.ERROR, "no log can be posted")
        assert _unknown_said(line) == stats["dropped_unknown"] == 1, (line, stats)
        assert stats["dropped_proxy"] == 0 and collector.received == [], stats
    finally:
        proxy.stop()


@pytest.fixture
def read_then_plain(tmp_path: Path) -> Iterator[tuple[str, Certificates]]:
    """An https:// URL (``localhost``, its CA made for the test) of a server on
    127.0.0.1 whose first connection completes TLS, reads the POST in full and closes
    unanswered, and whose next ones answer plain HTTP (a TLS failure no retry heals,
    ``WRONG_VERSION_NUMBER``); and the certificates."""
    certificates = make_certificates(tmp_path)
    context = server_context(certificates)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(SERVE_POLL)
    stop = threading.Event()

    def serve() -> None:
        first = True
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:  # (the poll's timeout)
                continue
            conn.settimeout(GUARD)
            with conn:
                try:
                    if first:
                        first = False
                        with context.wrap_socket(conn, server_side=True) as tls:
                            read_request(tls)
                    else:
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, name="d86-read-then-plain", daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.getsockname()[1]}", certificates
    finally:
        stop.set()
        thread.join(GUARD)
        server.close()


@ROUTES
def test_a_tls_drop_says_the_batch_the_api_may_have(
        make_delivery: MakeDelivery, caplog: Any, monkeypatch: pytest.MonkeyPatch,
        read_then_plain: tuple[str, Certificates], direct: bool) -> None:
    """1. The POST read in full over TLS and closed unanswered; its retry meets a
    server speaking plain HTTP (no retry heals that). Before: ``dropped_tls`` 1, its
    warning saying nothing of the first POST; now ``dropped_unknown``, said so."""
    url, certificates = read_then_plain
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = make_delivery(url, buffer_length=1, backoff_base=0.05, direct=direct)
    assert delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1
               and _said(caplog, logging.WARNING, "retrying cannot help"),
               timeout=LINE_WAIT)
    stats = _stats(delivery)
    (line,) = _said(caplog, logging.WARNING, "retrying cannot help")
    assert "WRONG_VERSION_NUMBER" in line, line
    assert _unknown_said(line) == stats["dropped_unknown"] == 1, (line, stats)
    assert stats["dropped_tls"] == 0, stats


@ROUTES
def test_a_close_giving_the_batch_up_as_its_answer_is_applied_recounts_it(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        direct: bool) -> None:
    """2. One log's POST answered 202; its sender, back and past its look at the batch,
    is held before it settles it (the hook); ``close()`` (0.3 s) waits for it to its
    end, then gives the batch up ("1 unknown", as counted then); the sender goes on.
    Before: its settle found no log, ``dropped_unknown`` 1 for good; now ``sent`` 1
    (recounted after the close's line, as an answer later than the close is)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=1, shutdown_timeout=0.3,
                             direct=direct)
    attempt = delivery._attempt
    real = attempt._apply
    at, go = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        at.set()
        go.wait(GUARD)
        return real(*args, **kwargs)

    attempt._apply = held  # type: ignore[method-assign]
    try:
        assert delivery.submit(item("a"))
        assert at.wait(GUARD)
        delivery.close()
        closed = _stats(delivery)
    finally:
        go.set()
    said_as_counted(closing_lines(caplog), closed)
    assert closed["dropped_unknown"] == 1, closed
    final = senders_back(delivery)
    assert (final["sent"], final["dropped"], final["queued"]) == (1, 0, 0), final
