"""blackbox14: every call shows up, under frameworks and servers less walked, and against a
Metrics API that misbehaves.

The sweeps (benchmarks/blackbox14_frameworks.py: Pyramid, Falcon WSGI and ASGI, Bottle,
plain WSGI, Starlette, Django's ASGI handler, under waitress, gunicorn sync, gthread and
gevent, uvicorn, hypercorn and daphne, 2,000 calls at 300/s each, API at 250 ms;
benchmarks/blackbox14_collector.py: an API that fails with 500, 429, a reset, a hang, a
byte-by-byte answer, a closed port) found served == delivered + said in every run. These
pin it, short: each framework/server pair serves 100 calls (one a 1 MB upload, one a
streamed answer) and is stopped with SIGTERM; each log is there once, with its method,
URL and query, status, bodies as the client sent and read them, the caller's key hashed.
Then an API that fails a few POSTs (500, 429 with Retry-After, a reset mid-answer) and
recovers has every log once; an API that never answers, or a port where nothing listens,
has the exit say how many logs it did not deliver, within the stop's bound, the queue's
bound holding (``README_MAX_QUEUE_SIZE``).

Real parts: the servers in subprocesses on free 127.0.0.1 ports, the collector on
127.0.0.1 (tests/support/fake_api.py), the apps of tests/support/blackbox14_apps.py and
blackbox14_django.py wrapped as README says.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.blackbox14_run import (
    RUNS,
    argv,
    check_entries,
    load,
    names_in,
    said_in,
    wait_up,
)
from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, end_stragglers, start_server

ROOT = Path(__file__).resolve().parents[1]
#: Calls a served run makes (suite50: 100, was 200; the API's misbehaving tests' queue
#: holds 50, so the stop still has more to say than the queue holds). The stop in the
#: middle of the load keeps its 400 (:data:`STOPPED_CALLS`): its SIGTERM must meet calls
#: still coming.
CALLS = 100
STOPPED_CALLS = 400
NEEDS = ("pyramid", "falcon", "bottle", "django", "starlette", "waitress", "gunicorn",
         "uvicorn", "hypercorn", "daphne", "gevent")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(any(importlib.util.find_spec(n) is None for n in NEEDS),
                       reason="the frameworks and servers of blackbox14 are needed"),
]


class Served:
    """A server of one app (RUNS' name), the collector it posts to, and its output."""

    def __init__(self, run: str, collector_url: str, tmp: Path, **env: str) -> None:
        server, target = RUNS[run]
        port = free_port()
        self.log = tmp / "server.log"
        environ = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
                   "README_API_KEY": "rdme_bb14_key", "README_METRICS_SERVER": collector_url,
                   "PYTHONPATH": str(ROOT), "BB14_APP": target.rsplit(":", 1)[1],
                   "BB14_SIGTERM": "1" if server == "waitress" else "0", **env}
        with open(self.log, "wb") as sink:
            self.process = start_server(argv(server, target, port), cwd=str(ROOT),
                                        env=environ, stdout=sink, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        try:
            wait_up(self.base, self.process)
        except RuntimeError as error:
            end_stragglers(self.process)
            raise AssertionError(self.output()) from error

    def stop(self) -> int:
        """SIGTERM, as ``kill`` and ``docker stop`` do; the server's exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(LINE_WAIT)
        finally:
            end_stragglers(self.process)

    def said(self) -> int:
        return said_in(self.log.read_text(errors="replace"))[0]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector().start()
    yield c
    c.stop()


@pytest.mark.parametrize("run", ["pyramid-waitress", "falcon-asgi-hypercorn", "bottle-gthread",
                                 "plain-gevent", "django-daphne", "starlette-uvicorn"])
def test_every_call_is_logged_once_and_right(run: str, collector: Collector,
                                             tmp_path: Path) -> None:
    served = Served(run, collector.url, tmp_path)
    try:
        got = load(served.base, CALLS, rate=2000, clients=4)
    finally:
        served.stop()
    assert got["served"] == CALLS, (got, served.output())
    names = names_in(collector)
    assert len(names) == CALLS and max(names.values()) == 1, (len(names), served.output())
    assert served.said() == 0, served.output()
    entries = [e for log in collector.logs for e in log["request"]["log"]["entries"]]
    assert check_entries(entries, got, CALLS) == []
    groups = {log["group"]["id"] for log in collector.logs}
    assert len(groups) == 1 and next(iter(groups)).startswith("sha512-")
    assert "owlbert" not in next(iter(groups))


@pytest.mark.parametrize("failing", [
    pytest.param(Reply(500, b'{"error": "boom"}'), id="500"),
    pytest.param(Reply(429, b"{}", headers={"Retry-After": "1"}), id="429-retry-after"),
    pytest.param(Reply(partial=b"HTTP/1.1 202 Acc"), id="reset-mid-answer"),
])
def test_an_api_that_fails_then_recovers_gets_every_log_once(
        failing: Reply, collector: Collector, tmp_path: Path) -> None:
    collector.replies.append(failing)
    served = Served("plain-gthread", collector.url, tmp_path)
    try:
        got = load(served.base, CALLS, rate=2000, clients=4)
        wait_until(lambda: len(names_in(collector)) >= CALLS)
    finally:
        rc = served.stop()
    assert rc == 0 and got["served"] == CALLS
    assert len(collector.failed) == 1
    names = names_in(collector)
    assert len(names) == CALLS and max(names.values()) == 1, served.output()
    assert served.said() == 0, served.output()


@pytest.mark.parametrize("api", ["never-answers", "nothing-listens"])
def test_an_api_that_never_takes_the_logs_has_the_stop_say_each_one(
        api: str, collector: Collector, tmp_path: Path) -> None:
    collector.default = Reply(hang=120)
    url = collector.url if api == "never-answers" else f"http://127.0.0.1:{free_port()}"
    served = Served("plain-gthread", url, tmp_path, README_MAX_QUEUE_SIZE="50",
                    README_SHUTDOWN_TIMEOUT="1")
    try:
        got = load(served.base, CALLS, rate=2000, clients=4)
    finally:
        rc = served.stop()
    assert rc == 0 and got["served"] == CALLS
    assert names_in(collector) == {}
    # The queue's bound held (the rest dropped, and said), and the stop said what it held.
    assert "the delivery queue is full" in served.output()
    assert served.said() == CALLS, served.output()


@pytest.mark.parametrize("run", ["plain-gevent", "falcon-asgi-uvicorn-w2",
                                 "django-hypercorn-w2"])
def test_a_stop_in_the_middle_of_the_load_loses_no_call_served(
        run: str, collector: Collector, tmp_path: Path) -> None:
    """SIGTERM while the calls go on: every call a client read whole is logged, once (the
    rest were refused, or cut by the server at its stop)."""
    served = Served(run, collector.url, tmp_path)
    halfway = threading.Event()

    def stop_halfway() -> None:
        if halfway.wait(LINE_WAIT):
            served.process.send_signal(signal.SIGTERM)

    stopper = threading.Thread(target=stop_halfway)
    stopper.start()
    try:
        got = load(served.base, STOPPED_CALLS, rate=1000, clients=4, halfway=halfway)
    finally:
        halfway.set()
        stopper.join()
        rc = served.stop()
    assert rc in (0, -signal.SIGTERM) and got["served"] >= STOPPED_CALLS // 2, got["failed"]
    names = names_in(collector)
    assert got["names"] <= set(names) and max(names.values()) == 1, served.output()
    # Logged and not read whole by the client: the calls the server cut at its stop (a
    # few: hypercorn's logged 499; a 500 Django answered as hypercorn shut it down).
    assert len(names) - len(got["names"]) <= 8, served.output()
    assert served.said() == 0, served.output()
