"""review149: adversarial review of delivery79 (an interrupt's close waits for its POSTs).

One finding: each delivery's interrupt waited its own ``IN_FLIGHT_WITHIN`` in turn.
``process.interrupted`` ends every tracked delivery's close one after the other, and
since delivery79 each waits up to 1 s (plus its settling) for its POSTs in flight: with
three deliveries in a process (three apps, each with its own middleware and key) a
SIGTERM during the exit's close took 3 s, past the 2 s (``SAY_WITHIN``) its handler
gives them before the SIGTERM ends the process: the third delivery's line was never
said, its logs lost unsaid (before delivery79: all three said at once). Now the
deliveries share one wait: the same ``IN_FLIGHT_WITHIN`` from the interrupt for all.

Two: an interrupt that finds a delivery's close not begun yet (an earlier close or exit
hook interrupted, a second Ctrl-C in an ASGI lifespan's flush) waited the full 1 s for
its POSTs in flight whatever was left of its ``shutdown_timeout`` (0.1 s: "1.0s into its
shutdown_timeout of 0.1s"), so an interrupt made the stop longer than none did, and
a kill timed by that bound (gunicorn's graceful timeout less the close's margin) could
come first. Now that wait ends where the bound does.

Real parts: werkzeug's ``run_simple`` in a subprocess serving three WSGI middlewares, a
collector on 127.0.0.1 that reads every POST and holds its answers, real signals.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    said_counts,
)
from tests.support.processes import LINE_WAIT
from tests.support.runserver import CALLER, held_collector, held_env, serving

_APP = """\
import sys

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery import process
from tests.support.e2e_apps import _plain, webob_grouping
from werkzeug.serving import run_simple

_interrupted = process.interrupted


def _said(exc, *args, **kwargs):
    print("interrupt begins", flush=True)
    _interrupted(exc, *args, **kwargs)


process.interrupted = _said
process.before_exit(lambda: print("exit close begins", flush=True))

APPS = {name: MetricsMiddleware(_plain, MetricsApiConfig(grouping_function=webob_grouping))
        for name in ("a", "b", "c")}


def app(environ, start_response):
    head, _, rest = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    if head in APPS:
        environ["PATH_INFO"] = "/" + rest
        return APPS[head](environ, start_response)
    return APPS["a"](environ, start_response)


run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


@pytest.mark.e2e
def test_a_sigterm_says_every_delivery_s_logs_not_only_the_first_two(
        tmp_path: Path) -> None:
    """Three middlewares, 5 calls each; Ctrl-C: the exit's close posts each one's 5
    logs, the collector reads the three POSTs and holds their answers; a process
    manager's SIGTERM then. Every delivery says its 5 logs unknown (sent in full, cut
    unanswered) before the SIGTERM ends the process. Before: the deliveries waited 1 s
    each in turn, the SIGTERM's handler ended the process after 2 s: 2 lines of 3."""
    gate = threading.Event()
    with held_collector(gate) as held:
        env = held_env(held, tmp_path, "120", README_TIMEOUT="120")
        (tmp_path / "app149.py").write_text(_APP)
        with serving(["app149.py", "{port}"], env, tmp_path, "server.log") as served:
            for name in ("a", "b", "c"):
                for n in range(5):
                    response = requests.get(f"{served.url}/{name}/hello",
                                            params={"name": f"{name}{n}"}, timeout=30,
                                            headers=CALLER)
                    assert response.status_code == 200
            served.process.send_signal(signal.SIGINT)
            held.wait_for_logs(15, timeout=LINE_WAIT)  # (read, their answers held)
            served.wait_said("exit close begins")
            served.process.send_signal(signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
    lines = [line for line in said.splitlines() if "closing gave up" in line]
    assert code == -signal.SIGTERM, said  # (ended by that SIGTERM, as bare)
    assert len(lines) == 3, said
    assert all("5 unknown" in line for line in lines), said


def test_an_interrupt_before_the_close_waits_no_longer_than_its_shutdown_timeout(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """A log in a sender's POST the collector read and holds its answer to;
    shutdown_timeout 0.1 s; the close not begun as the interrupt comes (an exit hook
    before it interrupted: ``interrupt_exit`` called as ``process.interrupted`` does).
    The interrupt's wait ends within that bound (the POST cut at it, settled within
    ``SETTLE``): its line says under 1 s into the 0.1 s. Before: "1.0s into its
    shutdown_timeout of 0.1s" (the wait IN_FLIGHT_WITHIN whatever the bound)."""
    gate = threading.Event()
    with held_collector(gate) as held:
        delivery = make_delivery(held.url, buffer_length=1, shutdown_timeout=0.1,
                                 timeout=60.0)
        assert delivery.submit(item("one"))
        held.wait_for_logs(1, timeout=LINE_WAIT)  # (read, its answer held)
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        delivery.interrupt_exit(KeyboardInterrupt())
    stats = delivery.stats
    # (read in full, unanswered: unknown, counted dropped_unknown since delivery80)
    assert stats["dropped_unknown"] == 1 and stats["sent"] == 0 and adds_up(stats), stats
    said = [r.getMessage() for r in caplog.records if "closing gave up" in r.getMessage()]
    assert len(said) == 1, said
    assert said_counts(said[0]) == (0, 1), said
    into = re.search(r"([0-9.]+)s into its shutdown_timeout", said[0])
    assert into is not None and float(into.group(1)) < 1.0, said
