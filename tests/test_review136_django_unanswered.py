"""review136: Django's middleware logged the server's 500 for a signal's raise that got
the client no answer at all.

delivery50 logs a signal handler's raise in the Django middleware (runserver
--nothreading, wsgiref, gunicorn's sync worker: each answers its 500) as the server's
500. Under werkzeug's server without threads (``run_simple(threaded=False)``,
django-extensions' ``runserver_plus``, whose default it is) the app runs in the main
thread too, but werkzeug catches ``Exception`` only: a Ctrl-C's KeyboardInterrupt in the
view closes the connection with nothing sent and stops the server. The WSGI middleware
logs that as no answer (``wsgi_failures.unanswered_at``: 500 with the comment saying no
answer reached the client); Django's logged a plain 500, as if the client had one. Now
both ask the same question.

A real werkzeug server in a process of its own, Django's handler, the collector; the
view sends its own process SIGINT (Python's handler raises there).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server
from tests.test_e2e_servers import server_env

pytestmark = pytest.mark.e2e

SCRIPT = '''
import os
import signal
import sys
import time

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

from readme_metrics import MetricsApiConfig


def ctrl_c(request):
    os.kill(os.getpid(), signal.SIGINT)  # (the handler raises at the next Python)
    for _ in range(1000):
        time.sleep(0.01)
    return HttpResponse(b"never")


def ok(request):
    return HttpResponse(b"ok")


urlpatterns = [path("ctrl-c", ctrl_c), path("ok", ok)]
settings.configure(
    SECRET_KEY="review136", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=[], DATABASES={},
    MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
    README_METRICS_CONFIG=MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        buffer_length=1000, flush_interval=600))
django.setup()

from django.core.wsgi import get_wsgi_application
from werkzeug.serving import run_simple

run_simple("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), threaded=False)
'''


def test_a_ctrl_c_in_a_django_view_under_werkzeug_is_logged_as_no_answer(
        tmp_path: Path) -> None:
    collector = Collector().start()
    (tmp_path / "serve136.py").write_text(SCRIPT)
    port = free_port()
    env = server_env(collector, README_SHUTDOWN_TIMEOUT="5", README_BACKGROUND_WORKER_MODE="true",
                     PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    output = tmp_path / "server.log"
    try:
        with output.open("wb") as log:
            server = start_server([sys.executable, "serve136.py", str(port)],
                                  cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"

            def answers() -> bool:
                try:
                    return requests.get(f"{url}/ok", timeout=5).text == "ok"
                except requests.ConnectionError:
                    return False

            wait_until(answers, timeout=60)
            with pytest.raises(requests.ConnectionError):  # nothing sent: closed
                requests.get(f"{url}/ctrl-c", timeout=30)
            server.wait(60)  # (the KeyboardInterrupt stopped werkzeug; the exit flush)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        said = output.read_text(errors="replace")
        logs = {entry["request"]["url"].rsplit("/", 1)[1]: entry["response"]
                for log in collector.logs for entry in log["request"]["log"]["entries"]}
    finally:
        collector.stop()
    assert set(logs) == {"ok", "ctrl-c"}, (logs, said[-3000:])
    answer = logs["ctrl-c"]
    # Before: status 500, no comment (the client had none of it)
    assert answer["status"] == 500
    assert answer.get("comment") == (
        "no answer reached the client: the server stopped serving the request at a "
        "KeyboardInterrupt and closed the connection"), (answer, said[-3000:])
