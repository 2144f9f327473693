"""review66's adversarial read of exit14 (a WSGI response the server still holds at exit)
and asgi7 (Zero Copy / Path Send, the lifespan's flush, trailers)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.test_exit14_findings import (
    MARGIN,
    SHUTDOWN_TIMEOUT,
    WAITRESS_JOIN,
    _by_path,
    _serve,
    _stopped_in,
    _waitress,
)

_DJANGO_APP = """\
import sys, time

import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="review66-not-secret", ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"], MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"])
from readme_metrics import MetricsApiConfig
settings.README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}, shutdown_timeout=SHUTDOWN)
django.setup()

from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

def ready(request):
    return HttpResponse(b"ok", content_type="text/plain")

def stream(request):
    def chunks():
        for number in range(600):
            if number == 3:
                print("entered", flush=True)
            yield b"chunk %d\\n" % number
            time.sleep(0.1)
    return StreamingHttpResponse(chunks(), content_type="text/plain")

urlpatterns = [path("ready", ready), path("stream", stream)]
app = get_wsgi_application()
""".replace("SHUTDOWN", repr(SHUTDOWN_TIMEOUT))


@pytest.mark.e2e
def test_a_django_stream_in_flight_at_exit_is_logged_as_far_as_it_went(
        tmp_path: Path, collector: Collector) -> None:
    """exit14 for the Django adapter: waitress stopped by Ctrl-C while a
    StreamingHttpResponse is being sent. The Django middleware's log waits for the
    response's close(), which the server never calls: the stream's log was lost."""
    process, port = _serve(tmp_path, collector, "dj_stream", _DJANGO_APP,
                           lambda port: [*_waitress(port)[:-1], "dj_stream:app"])
    _, err = _stopped_in(process, port, "/stream", signal.SIGINT,
                         WAITRESS_JOIN + SHUTDOWN_TIMEOUT + MARGIN)
    assert process.returncode == 0, err
    logs = _by_path(collector.wait_for_logs(2))
    assert sorted(logs) == ["ready", "stream"], err
    content = logs["stream"]["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n"), content
    assert content["comment"].startswith(
        "incomplete: the process exited while the answer was being sent"), content
