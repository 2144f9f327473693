"""review149: adversarial review of delivery79 (an interrupt's close waits for its POSTs).

One finding: each delivery's interrupt waited its own ``IN_FLIGHT_WITHIN`` in turn.
``process.interrupted`` ends every tracked delivery's close one after the other, and
since delivery79 each waits up to 1 s (plus its settling) for its POSTs in flight: with
three deliveries in a process (three apps, each with its own middleware and key) a
SIGTERM during the exit's close took 3 s, past the 2 s (``SAY_WITHIN``) its handler
gives them before the SIGTERM ends the process: the third delivery's line was never
said, its logs lost unsaid (before delivery79: all three said at once). Now the
deliveries share one wait: the same ``IN_FLIGHT_WITHIN`` from the interrupt for all.

Real parts: werkzeug's ``run_simple`` in a subprocess serving three WSGI middlewares, a
collector on 127.0.0.1 that reads every POST and holds its answers, real signals.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
import requests

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
