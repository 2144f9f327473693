"""delivery79: ``manage.py runserver`` under Django's autoreloader, Ctrl-C: the child
says at once what it holds (delivery74), but its close, which sends it, begins only once
the child's main thread reached ``atexit``, and the autoreloader's SIGKILL 0.25 s after
the Ctrl-C may come first (a loaded machine, the app's own threads holding the exit).
Now, at the Ctrl-C, the senders post what waits at once (background mode), before the
close: the close itself is not begun sooner (it ends the delivery, and needs the main
thread: the calls runserver still answers would go unlogged).

Deterministic: the child's main thread is held at its end, before the library's own
hook there (which posts what waits: review114), by a hook of the site's registered after
it (as a thread pool's module imported later registers one), the child alone gets the
SIGINT, and the test waits for the POST (before: none came; the test waited 60 s).

Real parts: runserver with its autoreloader in a subprocess on a free 127.0.0.1 port, a
collector on 127.0.0.1 holding every answer.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.support.polling import wait_until
from tests.support.runserver import children, held_collector, held_env, runserver, serving
from tests.test_delivery74_runserver_ctrl_c import DOCS, SETTINGS

pytestmark = pytest.mark.e2e

URLS = """\
import signal, threading
from django.http import HttpResponse
from django.urls import path
from readme_metrics.delivery import process
from tests.support.e2e_apps import _django_views

def queued(request):  # (not logged: the path ends with /nolog)
    held = sum(obj.stats["queued"] for obj in process.tracked())
    looked = getattr(signal.getsignal(signal.SIGTERM), "_readme_metrics_noting", False)
    return HttpResponse(f"{held} {looked}".encode())

def hold(request):
    # Run first at the main thread's end (last registered), held there for good.
    threading._register_atexit(threading.Event().wait)
    return HttpResponse(b"held")

urlpatterns = [*_django_views(), path("queued/nolog", queued), path("hold/nolog", hold)]
"""


def _site(tmp_path: Path) -> None:
    (tmp_path / "d74_settings.py").write_text(SETTINGS)
    (tmp_path / "d74_urls.py").write_text(URLS)


def test_ctrl_c_posts_what_waits_before_the_close_begins(tmp_path: Path) -> None:
    """5 logs held (flush_interval 600 s), the child's main thread held at its end: at
    the SIGINT the child posts the 5 logs at once, its close never begun."""
    _site(tmp_path)
    with held_collector(threading.Event()) as held:
        env = held_env(held, tmp_path, "4", DJANGO_SETTINGS_MODULE="d74_settings",
                       README_BASE_LOG_URL=DOCS,
                       README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping")
        with serving(runserver(), env, tmp_path, "runserver.log") as server:
            child = children(server.process.pid)
            assert len(child) == 1, child
            server.call([f"n{n}" for n in range(5)])
            wait_until(lambda: requests.get(f"{server.url}/queued/nolog",
                                            timeout=30).text == "5 True", timeout=60)
            assert requests.get(f"{server.url}/hold/nolog", timeout=30).text == "held"
            assert not held.received  # (nothing posted before the Ctrl-C)
            os.kill(child[0], signal.SIGINT)
            server.wait_said("not delivered yet")
            try:
                posted = held.wait_for_logs(5, timeout=60)
            finally:
                os.kill(child[0], signal.SIGKILL)  # (the autoreloader's, after 0.25 s)
                server.process.wait(60)
            said = server.said()
        assert len(posted) == 5 and len(held.received) == 1, said  # (one POST of 5)
