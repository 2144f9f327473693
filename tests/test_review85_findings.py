"""review85: an adversarial look at delivery23's checks (``delivery/checks.py``) on real
sockets.

- close() while a check's GET connects to a host that drops the SYN (the API's host
  down behind a firewall, its backlog full): the readme-metrics-check thread outlived
  close() by the rest of the connect's 1 s bound (0.55 s, 2 of 2 runs), as the cut
  (``DirectPoster.end_check``) shut down no socket while a TCP connect ran; and a check
  whose GET had not yet begun as close() cut went on whole.
- after an outage's early probe was spent the checker thread still started after each
  attempt, to find no check wanted and end.
"""

from __future__ import annotations

import socket
import threading
from typing import Optional

import pytest

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import checks
from readme_metrics.delivery.checks import CHECK_NAME, Checker
from readme_metrics.delivery.transport import Transport
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.test_delivery20_findings import _down_with_a_probe_in_flight


def _syn_dropping() -> Optional[tuple[int, list[socket.socket]]]:
    """A listener on 127.0.0.1 whose backlog is full (connections never accepted), so
    the kernel drops every further SYN: a host that never answers a connect. None (the
    test skips) where a connect there is not left unanswered."""
    held: list[socket.socket] = []
    try:
        listener = socket.socket()
        held.append(listener)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(2):  # (one fills a backlog of 0 on Linux; a second for margin)
            filler = socket.socket()
            held.append(filler)
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        probe = socket.socket()
        held.append(probe)
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", port))
        except (TimeoutError, socket.timeout):
            return port, held
    except OSError:
        pass
    for sock in held:
        sock.close()
    return None


def test_close_while_a_check_connects_to_a_host_dropping_the_syn_ends_the_checker(
        make_delivery: MakeDelivery) -> None:
    """The API's host drops every SYN: three POSTs fail to connect (taken for down),
    then a probe connects for ``timeout`` and a check goes, its GET connecting too.
    close() as it does: the checker thread has ended when close() returns (before: it
    went on until the connect's bound, as nothing cut a socket still connecting), and
    every log is counted."""
    found = _syn_dropping()
    if found is None:
        pytest.skip("no 127.0.0.1 listener that leaves a connect unanswered here")
    port, held = found
    try:
        delivery = make_delivery(f"http://127.0.0.1:{port}", buffer_length=1, timeout=2.0,
                                 shutdown_timeout=0.3)
        for n in range(5):
            assert delivery.submit(item(f"log-{n}"))
        wait_until(lambda: delivery._checker._asking, timeout=60.0)
        delivery.close()
        assert not any(t.name == CHECK_NAME for t in threading.enumerate())
        assert adds_up(delivery.stats), delivery.stats
    finally:
        for sock in held:
            sock.close()


def test_a_check_ended_before_its_get_began_sends_none() -> None:
    """close() cuts the check in flight (``end_check``) as the checker thread is about
    to ask (``_asking`` set, its GET not yet begun): that GET went on whole, up to its
    1 s bound past close(). Now no GET goes once ended: the host, which answers, is
    not asked."""
    collector = Collector().start()
    try:
        transport = Transport(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                               grouping_function=lambda req: None))
        assert transport.route == "direct"
        try:
            assert transport.answers(1.0) is True  # the host answers a check
            asked = len(collector.gets)
            transport.end_check()
            assert transport.answers(1.0) is False
            assert len(collector.gets) == asked
        finally:
            transport.close()
    finally:
        collector.stop()


def test_no_checker_thread_starts_once_the_early_probe_is_spent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The outage's one early probe went (``early_spent``): no check is wanted until the
    API answers. Each sender's call after an attempt still started the checker thread,
    which found that at its first look and ended: one thread start per attempt for
    the rest of the outage. Now none starts; once the API answers and is taken for down
    again, one does."""
    now = [100.0]
    queue, batcher = _down_with_a_probe_in_flight(now)
    now[0] += 1.0  # the probe in flight has waited the check's bound
    batcher.health.early_spent = True
    started: list[str] = []
    real = checks.threading.Thread

    class Counted(real):  # type: ignore[misc,valid-type]
        def start(self) -> None:
            started.append(self.name)
            super().start()

    monkeypatch.setattr(checks.threading, "Thread", Counted)
    checker = Checker(batcher, lambda seconds: False, lambda: None, timeout=3.0)
    for _ in range(3):
        checker.wanted()
        thread = checker._thread
        if thread is not None:
            thread.join(5.0)
    assert started == [] and queue.in_flight
    batcher.health.early_spent = False  # (as in a new outage)
    checker.wanted()
    checker.stop(0.0)
    assert started == [CHECK_NAME]
