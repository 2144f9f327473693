"""flaky63: the runserver-family servers (tests/support/runserver.py's ``held_env``) bound
their POSTs at 30 s, not 3 s.

A POST unanswered within ``timeout`` is sent again (SPEC 7, at-least-once: the API may
have read it); in background mode the first one past ``timeout`` is spared twice it
(``Stretch``: 6 s at 3 s) before it is cut and sent again. A test of this family holds
the exit's POST while it reads what the server said, and counts the POSTs the API read
(delivery79's runserver Ctrl-C: one POST of 5): a loaded machine slowing the test past
6 s had the POST sent twice. The hold here is 7 s (what a loaded machine can do; not a
synchronisation): past the 6 s, well within what 30 s spares. Failed before
(``assert 2 == 1``).
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from tests.support.processes import LINE_WAIT
from tests.support.runserver import held_collector, held_env, serving

#: Past the spared wait of a 3 s ``timeout`` (2 x 3 s), well within 30 s.
LATE = 7.0

_APP = """\
import sys

from werkzeug.serving import run_simple

from tests.support.e2e_apps import plain_app

run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""


def test_the_late_hold_is_past_a_3s_timeout_s_spared_wait_and_within_held_env_s(
        tmp_path: Path) -> None:
    with held_collector(threading.Event()) as held:
        timeout = float(held_env(held, tmp_path, "4")["README_TIMEOUT"])
    assert 2 * 3.0 < LATE < timeout


@pytest.mark.e2e
def test_the_exit_s_post_held_past_6s_is_read_once(tmp_path: Path) -> None:
    """werkzeug's ``run_simple`` under ``held_env`` (``shutdown_timeout`` 30 s), 3
    calls, Ctrl-C: the exit's close posts their 3 logs in one POST, the API holds its
    answer 7 s, then answers 202. The API read one POST, the process ended with no line
    of logs lost."""
    gate = threading.Event()
    with held_collector(gate) as held:
        env = held_env(held, tmp_path, "30")
        (tmp_path / "app63.py").write_text(_APP)
        with serving(["app63.py", "{port}"], env, tmp_path, "server.log") as served:
            served.call([f"n{n}" for n in range(3)])
            served.process.send_signal(signal.SIGINT)
            held.wait_for_logs(3, timeout=LINE_WAIT)  # (read, its answer held)
            time.sleep(LATE)  # (the test slowed by a loaded machine)
            gate.set()
            served.process.wait(LINE_WAIT)
            said = served.said()
        assert len(held.received) == 1, said
    assert len(held.logs) == 3 and "not delivered" not in said, said
