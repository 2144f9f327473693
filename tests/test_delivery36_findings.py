"""uWSGI's options that skip Python's exit in its workers (delivery36, a black-box round).

A uWSGI worker's logs that no batch or timer sent yet go at its exit: the library's
``atexit`` hook posts them. uWSGI runs Python's ``atexit`` from ``Py_Finalize``, in its
python plugin's exit, after calling ``uwsgi.atexit`` if the app set one. Two of its options
skip that:

- ``--skip-atexit-teardown`` (what uWSGI suggests for a quick shutdown) calls
  ``uwsgi.atexit`` and skips ``Py_Finalize``: the library's hook never ran, and every log a
  worker held at its stop, its reload or its recycling (``--max-requests``) was lost
  without a line (pyuwsgi 2.0.30: 0 of 5 delivered at a stop, 0 of 3 at a recycling).
  Now the library's exit runs from ``uwsgi.atexit`` too there (an app's own is still
  called after it).
- ``--skip-atexit`` ends a worker that is stopped or recycled with ``_exit()``, no Python
  code at all: what it holds is lost and nothing can send it. That was silent; now the
  library says so once, as the middleware is made, with the fix.

Real uWSGI (the pyuwsgi wheel of the test extra), a real collector on 127.0.0.1.
"""

from __future__ import annotations

import re
import time
from functools import partial
from pathlib import Path

import pytest
import requests

from readme_metrics.delivery.uwsgi_exit import SKIP_ATEXIT
from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_recycled import recycling, settled
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.uwsgi_run import APP as _APP
from tests.support.uwsgi_run import NO_UWSGI, paths, stopped, uwsgi
from tests.test_e2e_servers import server_env

pytestmark = pytest.mark.e2e
@NO_UWSGI
def test_skip_atexit_teardown_a_stopped_worker_sends_what_it_holds(
        tmp_path: Path, collector: Collector) -> None:
    with uwsgi(tmp_path, collector, "--skip-atexit-teardown") as (process, base, output):
        served = [f"t{i}" for i in range(5)]
        for path in served:
            assert requests.get(f"{base}/{path}", timeout=LINE_WAIT).status_code == 200
        assert collector.logs == []  # held: 5 of a batch of 10, no timer
        assert stopped(process) == 0
    assert sorted(paths(collector)) == served, output.read_text(errors="replace")


@NO_UWSGI
def test_skip_atexit_teardown_a_recycled_worker_sends_what_it_holds(
        tmp_path: Path, collector: Collector) -> None:
    """``--max-requests=3``: a worker ends after 3 requests (and its first second:
    ``--min-worker-lifetime``, 10 s by default), while the server serves on; its logs
    arrive then, each once, and the next worker's at the stop."""
    with uwsgi(tmp_path, collector, "--skip-atexit-teardown", "--max-requests=3",
               "--min-worker-lifetime=1") as (process, base, output):
        served: dict[str, str] = {}  # path -> the pid of the worker that served it

        def serve() -> bool:
            """One more request; True once a new worker served it."""
            path = f"m{len(served)}"
            answer = requests.get(f"{base}/{path}", timeout=LINE_WAIT)
            assert answer.status_code == 200
            served[path] = answer.text
            return len(set(served.values())) > 1

        wait_until(lambda: serve() or time.sleep(0.1), timeout=60)
        first = served["m0"]
        gone = sorted(path for path, pid in served.items() if pid == first)
        collector.wait_for_logs(len(gone))
        assert sorted(paths(collector)) == gone, output.read_text(errors="replace")
        assert stopped(process) == 0
    assert sorted(paths(collector)) == sorted(served), output.read_text(errors="replace")


@NO_UWSGI
def test_an_apps_own_uwsgi_atexit_still_runs(tmp_path: Path, collector: Collector) -> None:
    """The app set ``uwsgi.atexit`` before the middleware was made: it still runs, after
    the logs went."""
    marker = tmp_path / "app_atexit_ran"
    app = _APP.replace(
        "from readme_metrics import",
        f"import uwsgi\nuwsgi.atexit = lambda: open({str(marker)!r}, 'w').close()\n"
        "from readme_metrics import")
    with uwsgi(tmp_path, collector, "--skip-atexit-teardown", app=app) as (process, base,
                                                                          output):
        assert requests.get(f"{base}/a0", timeout=LINE_WAIT).status_code == 200
        # The stop of a worker that has ended its request (uWSGI's request line written):
        # one still in it (CI39: the client had its answer before uWSGI's end of the
        # request) is tests/test_flake30_findings.py's.
        wait_until(lambda: "GET /a0 =>" in output.read_text(errors="replace"),
                   timeout=LINE_WAIT)
        assert stopped(process) == 0
    assert paths(collector) == ["a0"], output.read_text(errors="replace")
    assert marker.exists(), output.read_text(errors="replace")


@NO_UWSGI
def test_skip_atexit_is_said_once_with_the_fix(tmp_path: Path,
                                              collector: Collector) -> None:
    """Nothing can send what a worker holds as it ``_exit()``s: said, once."""
    with uwsgi(tmp_path, collector, "--skip-atexit", "--processes=2") as (process, base,
                                                                          output):
        for i in range(3):
            assert requests.get(f"{base}/s{i}", timeout=LINE_WAIT).status_code == 200
        assert stopped(process) == 0
    said = [line for line in output.read_text(errors="replace").splitlines()
            if SKIP_ATEXIT in line]
    assert len(said) == 1, output.read_text(errors="replace")
    assert "--skip-atexit-teardown" in said[0]
    assert "rdme" not in said[0] and server_env(collector)["README_API_KEY"] not in said[0]


@NO_UWSGI
def test_without_those_options_nothing_is_said(tmp_path: Path, collector: Collector) -> None:
    with uwsgi(tmp_path, collector) as (process, base, output):
        assert requests.get(f"{base}/n0", timeout=LINE_WAIT).status_code == 200
        assert stopped(process) == 0
    assert paths(collector) == ["n0"]
    assert "uWSGI runs with" not in output.read_text(errors="replace")


@NO_UWSGI
def test_a_close_ends_before_uwsgis_mercy_kill_and_says_what_it_lost(
        tmp_path: Path, collector: Collector) -> None:
    """``--worker-reload-mercy=3``: uWSGI's master SIGKILLs a worker still ending 3 s
    after it told it to (its "NO MERCY" line). The API fails every POST at the stop and
    ``shutdown_timeout`` is 10 s: the close was killed midway and nothing said the 4 logs
    it held were lost. Now it ends before the kill and says so, naming the option.

    The master notes the stop in whole seconds of the clock and checks the mercy once a
    second, before it reaps: a worker that ended in the mercy's last second is "NO
    MERCY"-killed as a zombie all the same when the stop came late in a second (flaky39:
    the close gave up 2.1 s into the mercy, the worker ended at once, the master's line
    0.9 s later). The stop is sent there, and the close ends a cycle before the mercy."""
    collector.default = Reply(status=503, body=b"down")
    with uwsgi(tmp_path, collector, "--worker-reload-mercy=3",
               shutdown_timeout="10") as (process, base, output):
        for i in range(4):
            assert requests.get(f"{base}/k{i}", timeout=LINE_WAIT).status_code == 200
        late_in_a_second()
        assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert "NO MERCY" not in said, said
    assert "uWSGI's --worker-reload-mercy of 3s" in said, said
    within = re.findall(r"4 logs to send within ([\d.]+)s", said)
    assert len(within) == 1 and float(within[0]) <= 3 - 1, said  # (a cycle before)
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [4], said
    assert collector.logs == []


def late_in_a_second(phase: float = 0.99) -> None:
    """Returns ``phase`` of a second of the clock (``time.time()``) into it, or just
    after: where uWSGI's whole-second mercy has the least left of its last second."""
    while time.time() % 1 < phase:
        time.sleep(max(0.0, phase - time.time() % 1) / 2)


#: gunicorn's first worker boots 3 s late (as under load, importing the app), its
#: heartbeat kept (the master's --timeout of 3 s counts from the fork): a readiness probe
#: that gave up after 2 s and asked again had two of its requests served, and the worker
#: recycled after the first GET ("1 log not delivered": it flaked twice under load).
FIRST_LATE = 3


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_a_gunicorn_worker_recycled_by_max_requests_ends_before_its_timeout(
        worker: str, tmp_path: Path, collector: Collector) -> None:
    """``--max-requests=3``: the worker leaves its loop after 3 requests, and its master,
    which is not stopping, aborts it ``--timeout`` (3 s) after its last heartbeat
    (WORKER TIMEOUT: SIGABRT, a SystemExit in the close). With the API failing and
    ``shutdown_timeout`` 10 s, the close was aborted midway: its logs lost, and only
    Python's "Exception ignored in atexit callback" traceback said anything. Now the
    close ends before, and says what it gave up on (``--graceful-timeout`` is 30 s: no
    bound at a recycling, where the master sends no SIGTERM)."""
    with recycling(tmp_path, collector, _APP, worker, timeout=3,
                   first_late=FIRST_LATE) as (base, output):
        # Exactly 3 requests, each sent once: the first one's client may not wait for a
        # worker still booting. (OPTIONS is skipped: no log, but one of the 3.)
        assert requests.options(f"{base}/nolog", timeout=LINE_WAIT).status_code == 200
        for i in range(2):
            assert requests.get(f"{base}/g{i}", timeout=LINE_WAIT).status_code == 200
        wait_until(partial(settled, output), timeout=60)
        said = output.read_text(errors="replace")
    assert "[CRITICAL] WORKER TIMEOUT" not in said and "Exception ignored" not in said, said
    assert "gunicorn's --timeout of 3s" in said, said
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [2], said
