"""review71: exit15's requests at exit, adversarially (deterministic interleavings).

1. A request whose app call returned just before the exit looked (between the in-call
   set's discard and its Response's registration as in flight) was in neither of the
   exit's snapshots: not logged, not counted (stats captured 1, sent 0, dropped 0), though
   the server never sent its answer. Now the Response is registered before the request
   leaves the in-call set, and the exit looks at the in-call set first: it is found.
2. The Django adapter did not see a request still inside the view at exit (exit15 left
   it): lost without a word. Its sync chain now keeps the request in the same in-call
   set until its log is queued or its response registered in flight: counted dropped
   ("shutdown") while the grouping function has not answered, logged as unanswered once
   it has (the answer still inside the middleware), as the WSGI middleware's.
3. The exit marked a request unanswered on the live capture, then made the record it
   queued: the app's thread finishing start_response meanwhile set the status, headers
   and comment again, and the log said 200 with the app's headers for an answer that
   never went out. The mark is now made on the record itself.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.processes import end_stragglers, read_line, run_command, start_server
from tests.test_e2e_servers import server_env
from tests.test_exit14_findings import _connect, _get, _stopped

# What each child starts with: its stats printed after the library's exit hook (registered
# before it: atexit runs the last registered first), the exit's INFO line shown, and the
# WSGI request its thread makes.
_PRELUDE = """\
import atexit, logging, sys, threading

def _report():
    print("stats", dict(stats_of().stats), file=sys.stderr, flush=True)

atexit.register(_report)
logging.basicConfig(format="%(message)s")
logging.getLogger("readme_metrics").setLevel(logging.INFO)

from readme_metrics import MetricsApiConfig

CONFIG = MetricsApiConfig(grouping_function=lambda request: {"api_key": "caller-1"},
                          shutdown_timeout=5)
ENVIRON = {"REQUEST_METHOD": "GET", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
           "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1"}
"""

# The app's thread stops right after the middleware discards the request from unclosed's
# in-call set (its hook ``returned``, as the WSGI middleware imported it) and waits there
# for good, as a thread the machine does not schedule again before the exit; the main
# thread then exits (atexit: unclosed's exit hook, then delivery's flush).
_GAP = _PRELUDE + """\
from readme_metrics import MetricsMiddleware
import readme_metrics.capture.wsgi as wsgi_capture

HOOK = sys.argv[1]
gap = threading.Event()
original = getattr(wsgi_capture, HOOK)

def hooked(capture):
    original(capture)
    gap.set()
    threading.Event().wait()  # descheduled here until the process ends

setattr(wsgi_capture, HOOK, hooked)

def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"answer"])  # an iterable the server has not read yet

app = MetricsMiddleware(inner, CONFIG)
stats_of = lambda: app
threading.Thread(target=app, args=(dict(ENVIRON, PATH_INFO="/gap"),
                                   lambda status, headers, exc_info=None: None),
                 daemon=True).start()
assert gap.wait(60)
sys.exit(0)
"""


def _run(tmp_path: Path, collector: Collector, script: str, *args: str
         ) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "review71_child.py"
    path.write_text(script)
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="100", README_FLUSH_INTERVAL="600")
    result = run_command([sys.executable, str(path), *args], timeout=120, env=env,
                         capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def _stats(err: str) -> dict[str, int]:
    found = re.findall(r"^stats (\{.*\})$", err, re.M)
    assert len(found) == 1, err
    stats: dict[str, int] = ast.literal_eval(found[0])
    return stats


def test_an_exit_right_after_the_app_call_returned_finds_the_request(
        tmp_path: Path, collector: Collector) -> None:
    """The exit comes just as the request leaves unclosed's in-call set, its answer not
    sent yet. Before: in neither set the exit looked at (the in-flight one first, then
    the in-call one; the Response registered only after the discard): captured 1, sent 0,
    dropped 0, nothing said. Now: logged as far as it went (nothing of the body), marked
    incomplete, and said."""
    err = _run(tmp_path, collector, _GAP, "returned").stderr
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (1, 1, 0), stats
    logs = collector.wait_for_logs(1)
    entry: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["url"].endswith("/gap"), entry
    assert entry["response"]["status"] == 200, entry
    assert entry["response"]["content"]["size"] == 0, entry
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 logged as far as it went, marked incomplete") in err, err


_DJANGO_PROJECT = """\
import os, signal, sys, threading, time

from django.http import HttpResponse
from django.urls import path

from readme_metrics import MetricsApiConfig

if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # README's troubleshooting

SECRET_KEY = "review71"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "review71_project"
INSTALLED_APPS = []
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}, shutdown_timeout=5)


def ready(request):
    return HttpResponse(b"ok")


def computing(request):  # still inside the view at exit
    print("entered", flush=True)
    time.sleep(600)
    return HttpResponse(b"computed")


urlpatterns = [path("ready", ready), path("computing", computing)]
"""


@pytest.mark.e2e
def test_a_request_inside_a_django_view_at_exit_is_counted_dropped(
        tmp_path: Path, collector: Collector) -> None:
    """runserver (SIGTERM made an exit, README's line in settings.py) stopped while a
    view computes: the grouping function, which Django's middleware asks once the view
    returned, was never asked, and is not at exit (it is the app's code). Before: lost
    without a word (the WSGI middleware's exit15 counted it, Django's did not see it).
    Now: counted dropped ("shutdown"), and the exit's warning says so."""
    (tmp_path / "review71_project.py").write_text(_DJANGO_PROJECT)
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="review71_project",
                     README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="100",
                     README_FLUSH_INTERVAL="600")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    process = start_server([sys.executable, "-m", "django", "runserver",
                            f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
                           cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with _connect(port, process) as ready, _connect(port, process) as in_view:
            _get(ready, "/ready")
            assert ready.recv(4096).startswith(b"HTTP/1.1 200")
            _get(in_view, "/computing")
            assert process.stdout is not None
            for _ in range(20):  # runserver's own lines first
                line = read_line(process.stdout, about="/computing")
                assert line, "the server ended"
                if line.strip() == "entered":
                    break
            _, err = _stopped(process, signal.SIGTERM, 60)
    finally:
        end_stragglers(process)
    assert process.returncode == 0, err
    logs = collector.wait_for_logs(1)
    assert [log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]
            for log in logs] == ["ready"], err
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 not delivered (the grouping function not asked yet: "
            "counted in dropped_shutdown)") in err, err


# Django's middleware, its grouping function answered, held just before it queues the
# log (its _complete): the main thread exits meanwhile (as _GAP).
_DJANGO_HELD = _PRELUDE + """\
import django
from django.conf import settings

settings.configure(
    SECRET_KEY="review71", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, INSTALLED_APPS=[],
    MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"], README_METRICS_CONFIG=CONFIG)
django.setup()

from django.http import HttpResponse
from django.test import Client
from django.urls import path

import readme_metrics.django as django_metrics

urlpatterns = [path("held", lambda request: HttpResponse(b"answer"))]
held = threading.Event()
_pipeline = None
stats_of = lambda: _pipeline

def complete(self, capture, response, group, cut=None):
    global _pipeline
    _pipeline = self.pipeline
    held.set()
    threading.Event().wait()  # descheduled here until the process ends

django_metrics.MetricsMiddleware._complete = complete
threading.Thread(target=lambda: Client().get("/held"), daemon=True).start()
assert held.wait(60)
sys.exit(0)
"""


def test_a_django_request_held_after_its_grouping_function_is_logged_unanswered(
        tmp_path: Path, collector: Collector) -> None:
    """The view returned and the grouping function answered, the log not queued yet when
    the process exits: logged as unanswered (nothing reached the server, let alone the
    client), as the WSGI middleware's request after start_response. Before: lost without
    a word (captured 0, sent 0)."""
    err = _run(tmp_path, collector, _DJANGO_HELD).stderr
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (1, 1, 0), stats
    logs = collector.wait_for_logs(1)
    entry: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["url"].endswith("/held"), entry
    assert entry["response"]["status"] == 500, entry
    assert entry["response"]["comment"] == (
        "no answer reached the client: the server exited while the app was still "
        "computing its answer and closed the connection"), entry
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 logged as unanswered (the app was still computing it)"
            ) in err, err


# The app's thread inside start_response (the grouping function answered, the server's
# start_response not returned yet) while the exit marks the request unanswered: the exit's
# record of it (Pending) is made only once the app's thread has finished start_response.
_MARKED = _PRELUDE + """\
from readme_metrics import MetricsMiddleware
import readme_metrics.capture.wsgi_cut as wsgi_cut  # (where the exit's record is made)

in_start, go, done = threading.Event(), threading.Event(), threading.Event()
exiting = False

class Held(wsgi_cut.Pending):
    __slots__ = ()

    def __init__(self, *args):
        if exiting:  # the exit's record: the app's thread goes on first
            go.set()
            assert done.wait(60)
        super().__init__(*args)

wsgi_cut.Pending = Held

def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    done.set()
    threading.Event().wait()  # still computing at exit

def server_start_response(status, headers, exc_info=None):
    in_start.set()
    assert go.wait(60)
    return lambda data: None

app = MetricsMiddleware(inner, CONFIG)
stats_of = lambda: app
threading.Thread(target=app, args=(dict(ENVIRON, PATH_INFO="/marked"),
                                   server_start_response), daemon=True).start()
assert in_start.wait(60)
exiting = True
sys.exit(0)
"""


def test_start_response_finishing_while_the_exit_marks_the_request_unanswered(
        tmp_path: Path, collector: Collector) -> None:
    """The exit marks a request unanswered (no_answer on the live capture) while the
    app's thread finishes start_response, which sets the status, headers and comment
    again: the record the exit queued, made after that, said 200 with the app's headers
    and no comment, though nothing reached the client. Now the no-answer is applied to
    the queued record itself, after it is made: 500, its comment saying why."""
    err = _run(tmp_path, collector, _MARKED).stderr
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (1, 1, 0), stats
    logs = collector.wait_for_logs(1)
    response: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 500, response
    assert response["comment"] == (
        "no answer reached the client: the server exited while the app was still "
        "computing its answer and closed the connection; the app answered 200"), response
    assert response["content"]["size"] == 0, response
