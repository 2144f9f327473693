"""An interrupt's close counts what it gives up on exactly (delivery79).

Where the library gives up a close at a SIGTERM or a second Ctrl-C (werkzeug's dev
server, waitress, single-process uvicorn, hypercorn's lifespan flush), it cut its POSTs
in flight at once and said their logs "not delivered" ("... the Metrics API may have
them"), though the API answered them a moment later, or never had a byte of them. Now
the close waits for the POSTs in flight (``IN_FLIGHT_WITHIN``, no POST begun meanwhile)
and counts by what it knows: a POST answered is delivered, one cut before its body went
in full is not delivered, one sent in full and cut unanswered is unknown, said apart.

Real parts: werkzeug's ``run_simple`` and uvicorn in subprocesses, a collector on
127.0.0.1 that reads every POST and holds its answer until the test lets it go (once the
process said its interrupt's wait began, that wait made long enough for any scheduling:
flaky63), real signals; in-process, a listener on 127.0.0.1 that stops reading a POST's
body midway.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    said_counts,
)
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import held_collector, held_env, serving

#: A close whose bound no test reaches: one that ends did so at the interrupt.
LONG = "120"

#: How long the interrupt's wait for its POSTs in flight lasts in the server
#: (``IN_FLIGHT_WITHIN``, 1 s in the library): the test lets the held POST's 202 go once
#: that wait began, and from then to the sender's read of it a loaded machine took more
#: than 1 s (CI109: the test's reading of the line, then the collector's and the
#: sender's turns; said "1 unknown"). What is proved is the same: the close waits for
#: the POST instead of cutting it at once (made 0 here, the test fails so).
WITHIN = 30.0

#: In the server: that wait made ``WITHIN`` (and the SIGTERM handler's time to say,
#: ``SAY_WITHIN``, with it), and the test's sign that it began (``wait_in_flight``, which
#: the interrupt's close alone calls, once its POSTs are no longer cut at once).
_SAY_INTERRUPT = f"""\
from readme_metrics.delivery import batcher_close, closing_interrupt, process
from readme_metrics.delivery import second_interrupt

process.IN_FLIGHT_WITHIN = closing_interrupt.IN_FLIGHT_WITHIN = {WITHIN!r}
second_interrupt.SAY_WITHIN = {WITHIN!r} + 1.0
_wait_in_flight = batcher_close.BatchClosing.wait_in_flight


def _said(self, until, stuck):
    print("the interrupt waits", flush=True)
    _wait_in_flight(self, until, stuck)


batcher_close.BatchClosing.wait_in_flight = _said
process.before_exit(lambda: print("exit close begins", flush=True))
"""

_WERKZEUG = _SAY_INTERRUPT + """
import sys
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app

run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""

_UVICORN = _SAY_INTERRUPT + """
from tests.support.asgi_apps import fastapi_app as app
"""


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["werkzeug", "uvicorn"])
def test_a_post_answered_while_the_interrupt_waits_is_delivered_not_said_lost(
        tmp_path: Path, server: str) -> None:
    """40 calls; Ctrl-C: the close (werkzeug: the exit's; uvicorn: the lifespan's
    flush) posts them, the collector reads the POST and holds its answer; then the stop's
    second signal (werkzeug: a process manager's SIGTERM; uvicorn: a second Ctrl-C),
    and once the interrupt's close began, the collector answers 202. The 40 logs are
    delivered: no line says any not delivered. Before: "closing gave up at ...: 40 logs
    not delivered (40 of them in POSTs cut at the close, unanswered: the Metrics API may
    have them)", the POST cut at once, while the collector had all 40."""
    gate = threading.Event()
    with held_collector(gate) as held:
        # werkzeug: the 40 posted by a sender as the 40th comes (a batch of 40), not by
        # the exit's close from the main thread, whose POST the SIGTERM's handler, there,
        # holds: counted unknown, rightly (review149: 2 runs of 6 so, this test flaky).
        extra = {"README_BUFFER_LENGTH": "40"} if server == "werkzeug" else {}
        env = held_env(held, tmp_path, LONG, README_TIMEOUT=LONG, **extra)
        if server == "werkzeug":
            (tmp_path / "app79.py").write_text(_WERKZEUG)
            args, second = ["app79.py", "{port}"], signal.SIGTERM
        else:
            (tmp_path / "app79.py").write_text(_UVICORN)
            args = ["-m", "uvicorn", "--host=127.0.0.1", "--port={port}",
                    "--no-access-log", "app79:app"]
            second = signal.SIGINT
        with serving(args, env, tmp_path, "server.log") as served:
            served.call([f"n{n}" for n in range(40)])
            served.process.send_signal(signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)  # (read, its answer held)
            if server == "werkzeug":
                served.wait_said("exit close begins")
            served.process.send_signal(second)
            served.wait_said("the interrupt waits")
            gate.set()  # the API answers now, as the close waits for it
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert len(held.logs) == 40, said
    assert "not delivered" not in said and "unknown" not in said, said
    if server == "werkzeug":
        assert code == -signal.SIGTERM, said  # (then ended by that SIGTERM, as bare)


class _StopsReading:
    """A Metrics API on 127.0.0.1 that reads a POST's head and the first bytes of its
    body, then reads no more (its receive buffer kept small): the client's send blocks
    midway. ``began`` is set once it stopped reading."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.began = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        self._conns.append(conn)
        got = b""
        while b"\r\n\r\n" not in got or len(got) < 100_000:
            chunk = conn.recv(65536)
            if not chunk:
                return
            got += chunk
        self.began.set()

    def close(self) -> None:
        for conn in [self._sock, *self._conns]:
            conn.close()


def _interrupt_once_closing(delivery: Any) -> None:
    """A Ctrl-C to the main thread once ``delivery``'s close began (it waits then)."""
    wait_until(lambda: delivery._batcher.closed, timeout=LINE_WAIT)
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_a_post_cut_before_its_body_went_in_full_is_not_delivered_not_unknown(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """One log of 12 MB in a sender's POST the API stops reading after 100 KB; a Ctrl-C
    in ``close()``: the close waits for that POST, which cannot end, cuts it,
    and says "1 log not delivered", not that the API may have it (it never had the whole
    request). Before: "1 log not delivered (1 of them in POSTs cut at the close,
    unanswered: the Metrics API may have them)"."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's KeyboardInterrupt here")
    api = _StopsReading()
    try:
        delivery = make_delivery(
            api.url, lambda pending: {"_id": "big", "pad": "x" * 12_000_000},
            buffer_length=1, shutdown_timeout=60.0, timeout=60.0,
            max_queue_bytes=100_000_000)
        assert delivery.submit(item("big"))
        # A sender thread's POST, stuck midway; the Ctrl-C once close() waits for it.
        assert api.began.wait(LINE_WAIT)
        threading.Thread(target=_interrupt_once_closing, args=(delivery,),
                         daemon=True).start()
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        with pytest.raises(KeyboardInterrupt):
            delivery.close()
    finally:
        api.close()
    stats = delivery.stats
    assert stats["dropped_shutdown"] == 1 and adds_up(stats), stats
    said = [r.getMessage() for r in caplog.records if "closing gave up" in r.getMessage()]
    assert len(said) == 1, said
    assert said_counts(said[0]) == (1, 0), said
    assert "may have" not in said[0], said
