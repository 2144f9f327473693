"""delivery74 (c): ``manage.py runserver`` under Django's autoreloader, Ctrl-C on a machine
too loaded to begin the child's close within the 0.25 s before the autoreloader's
SIGKILL: the logs it held were lost and nothing was said (blackbox21: 1 run of 13 at a
load of 52 lost 5). Now, at the Ctrl-C itself, the child says in one line how many logs
are not delivered yet, ahead of its close.

Deterministic: the child's exit is held before its close (a non-daemon thread of the
site's, as an app's own work holds it: the interpreter waits for it before ``atexit``),
the child alone gets the SIGINT (the parent none), and once the child said what it had
to say the test SIGKILLs it as the autoreloader would. Before: no line (the test waited
60 s for one). And no line where nothing is held: a real Ctrl-C (SIGINT to the group)
once every log was delivered.

Real parts: runserver with its autoreloader in a subprocess on a free 127.0.0.1 port,
the collector on 127.0.0.1 (holding every answer, or answering at once).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.runserver import children, held_collector, held_env, runserver, serving

pytestmark = pytest.mark.e2e

SETTINGS = """\
import os, threading
from tests.support.e2e_apps import *  # noqa

ROOT_URLCONF = "d74_urls"
if os.environ.get("RUN_MAIN") == "true" and os.environ.get("D74_HOLD_EXIT"):
    # (The app's own work, in a non-daemon thread: the exit waits for it first.)
    threading.Thread(target=threading.Event().wait, args=(300,), daemon=False).start()
"""

URLS = """\
import signal
from django.http import HttpResponse
from django.urls import path
from readme_metrics.delivery import process
from tests.support.e2e_apps import _django_views

def queued(request):  # (not logged: the path ends with /nolog)
    held = sum(obj.stats["queued"] for obj in process.tracked())
    # The autoreloader's main thread looked at the files since the middleware was made
    # (reloader_stop: Django's SIGTERM handler noted there, the Ctrl-C's line first).
    looked = getattr(signal.getsignal(signal.SIGTERM), "_readme_metrics_noting", False)
    return HttpResponse(f"{held} {looked}".encode())

urlpatterns = [*_django_views(), path("queued/nolog", queued)]
"""

DOCS = "http://docs.example"  # (no lookup of the documentation URL: no line of it)
LINE = ("readme_metrics: {n} logs not delivered yet; Ctrl-C: the SIGKILL of Django's "
        "autoreloader, 0.25s after Ctrl-C ends this process (runserver's child) then, "
        "and they are lost with it unless the close sends them first (run runserver "
        "with --noreload to give the close its whole time; calls runserver answers "
        "from now on have no log)")


@pytest.fixture(name="held")
def held_fixture() -> Iterator[Collector]:
    """A collector that reads every POST and answers none (until the test's end)."""
    with held_collector(threading.Event()) as collector:
        yield collector


def _site(tmp_path: Path) -> None:
    (tmp_path / "d74_settings.py").write_text(SETTINGS)
    (tmp_path / "d74_urls.py").write_text(URLS)


def test_ctrl_c_says_the_logs_not_delivered_before_the_kill(
        held: Collector, tmp_path: Path) -> None:
    """5 logs held (flush_interval 600 s, an API answering nothing), the child's close
    held back: at the SIGINT the child says the 5 logs at once; killed then, that line
    is all it said (its close never began)."""
    _site(tmp_path)
    env = held_env(held, tmp_path, "4", DJANGO_SETTINGS_MODULE="d74_settings",
                   README_BASE_LOG_URL=DOCS, D74_HOLD_EXIT="1",
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping")
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        child = children(server.process.pid)
        assert len(child) == 1, child
        server.call([f"n{n}" for n in range(5)])
        wait_until(lambda: requests.get(f"{server.url}/queued/nolog", timeout=30).text
                   == "5 True", timeout=60)
        os.kill(child[0], signal.SIGINT)
        said = server.wait_said("not delivered yet")
        os.kill(child[0], signal.SIGKILL)  # (the autoreloader's, 0.25 s after Ctrl-C)
        server.process.wait(60)
        said = server.said()
    lines = [line for line in said.splitlines() if "readme_metrics" in line]
    assert lines == [LINE.format(n=5)], said


def test_ctrl_c_says_nothing_once_every_log_was_delivered(
        collector: Collector, tmp_path: Path) -> None:
    """A real Ctrl-C (the terminal's: the autoreloader and its child) after every log
    was delivered: no line from the library at all."""
    _site(tmp_path)
    env = held_env(collector, tmp_path, "4", DJANGO_SETTINGS_MODULE="d74_settings",
                   README_BASE_LOG_URL=DOCS, README_FLUSH_INTERVAL="0.2",
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping")
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        server.call([f"n{n}" for n in range(5)])
        assert len(collector.wait_for_logs(5, timeout=60)) == 5
        wait_until(lambda: requests.get(f"{server.url}/queued/nolog", timeout=30).text
                   == "0 True", timeout=60)
        os.killpg(server.process.pid, signal.SIGINT)
        server.process.wait(60)
        said = server.said()
    assert "readme_metrics" not in said, said
    assert len(collector.logs) == 5
