"""Django's middleware with ``background_worker_mode=False`` (inline mode) under real
WSGI servers: the send of a full batch must not hold back the answer (SPEC 7).

The log was finished, and a full batch posted, in the middleware's call, before Django
returned the response to the server: the client waited for the Metrics API. The plain
WSGI middleware sends from the response's close(), once the server has written the
answer; Django's now does the same. Checked by order, not by time: the collector holds
the POST, and the client must have its whole answer meanwhile.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, Reply, free_port
from tests.test_asgi_cancelled import get_in_a_thread
from tests.test_e2e_servers import serve, server_env

pytestmark = pytest.mark.e2e

_SETTINGS = '''
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from readme_metrics import MetricsApiConfig


def grouping(request):
    return {"api_key": "inline-django-caller"}


def hello(request):
    response = HttpResponse(b"hello")
    response["Content-Length"] = "5"  # the client knows where the answer ends
    return response


def stream(request):
    return StreamingHttpResponse(iter([b"hel", b"lo"]))  # chunked, under gunicorn


urlpatterns = [path("hello", hello), path("stream", stream)]
DEBUG = False
SECRET_KEY = "tests-not-secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = MetricsApiConfig(grouping_function=grouping)
'''
_WSGI = '''
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
'''

SERVERS = {
    "runserver": lambda port: [sys.executable, "-m", "django", "runserver", "--noreload",
                               f"127.0.0.1:{port}"],
    "gunicorn": lambda port: [sys.executable, "-m", "gunicorn", f"--bind=127.0.0.1:{port}",
                              "--workers=1", "inline_wsgi:application"],
}


@pytest.mark.parametrize(("server", "view"), [
    ("runserver", "hello"), ("gunicorn", "hello"),
    # runserver ends an answer without a length by closing the connection, after close():
    # only gunicorn's (chunked) can end before.
    ("gunicorn", "stream"),
])
def test_the_answer_does_not_wait_for_the_inline_post(
        collector: Collector, tmp_path: Path, server: str, view: str) -> None:
    (tmp_path / "inline_settings.py").write_text(_SETTINGS)
    (tmp_path / "inline_wsgi.py").write_text(_WSGI)
    held = threading.Event()
    collector.default = Reply(gate=held)  # a slow Metrics API: holds every POST
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="inline_settings",
                     README_BACKGROUND_WORKER_MODE="false", README_BUFFER_LENGTH="1",
                     # Longer than the client waits below: the library never gives up on
                     # the held POST first (it would then answer after its timeout).
                     README_TIMEOUT="90")
    answers: list[Any] = []
    try:
        with serve(SERVERS[server](port), env, tmp_path, port) as url:
            client = get_in_a_thread(f"{url}/{view}", answers)
            collector.wait_for_logs(1)  # the batch's POST has arrived and is held
            client.join(30)
            assert not client.is_alive(), "the answer waited for the Metrics API"
            assert collector.in_flight == 1  # still held (the collector's gate: 60 s)
            held.set()
            [answer] = answers
            assert answer.status_code == 200 and answer.content == b"hello"
    finally:
        held.set()
