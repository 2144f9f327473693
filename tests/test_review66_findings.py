"""review66's adversarial read of exit14 (a WSGI response the server still holds at exit)
and asgi7 (Zero Copy / Path Send, the lifespan's flush, trailers)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.asgi import http_scope, run
from tests.support.fake_api import Collector
from tests.test_asgi7_findings import _content, data, wrap  # noqa: F401 - fixtures
from tests.test_asgi_servers import SERVER_PARAMS, assert_exit_flush
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


@pytest.mark.parametrize(("extra", "size"), [
    pytest.param({}, 10_240, id="whole-file"),
    pytest.param({"count": 1000}, 1000, id="count"),
])
def test_a_zero_copy_send_read_from_where_the_file_stands_logs_what_it_sent(
        wrap: Any, collector: Collector, data: Any,  # noqa: F811
        extra: dict[str, Any],
        size: int) -> None:
    """asgi7 sized a Zero Copy Send without ``offset`` from the file's position *after*
    the server took it. The spec's server reads the file from where it stands then, and
    advances it (``os.sendfile`` with no offset does): by then the file stood at its
    end, and a whole file sent was logged as 0 bytes. Driven as such a server would."""
    message = {"type": "http.response.zerocopysend", "file": data, **extra}
    got: list[int] = []

    def sendfile(sent: dict[str, Any]) -> None:
        if sent["type"] == "http.response.zerocopysend":  # as os.sendfile(.., None, ..)
            count = sent.get("count")
            got.append(len(os.read(sent["file"].fileno(),
                                   count if count is not None else 1 << 20)))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(message)

    done = asyncio.run(run(wrap(app), http_scope(), on_send=sendfile))
    assert done.error is None and got == [size]
    content = _content(collector)
    assert content["size"] == size and "text" not in content, content


@pytest.mark.parametrize("server", [p for p in SERVER_PARAMS
                                    if p.values[0] in ("uvicorn", "hypercorn", "granian")])
def test_logs_are_flushed_when_the_apps_lifespan_returned_without_a_word(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """asgi7 flushed for a lifespan that returned once it had sent
    ``lifespan.startup.complete``, not for one that returned as soon as it took
    ``lifespan.startup``, having sent nothing. The servers take that as a lifespan that
    ended (uvicorn: "Application startup complete"), and still send it
    ``lifespan.shutdown`` at the end, which nobody read: under uvicorn, which re-raises
    SIGTERM once shut down, 0 of 7 logs were delivered."""
    assert_exit_flush(collector, tmp_path, "lifespan_returns_unstarted_app", server,
                      signal.SIGTERM)


def test_a_path_sends_stat_runs_off_the_event_loop(
        wrap: Any, collector: Collector, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """asgi7 sized a Path Send without a Content-Length by a stat of its path on the
    event loop: a path on a slow network file system (a stat that hangs) held every
    request the loop serves, for as long as it took. The stat runs off the loop now."""
    path = tmp_path / "file.bin"
    path.write_bytes(b"z" * 4321)
    stat = os.stat
    on_loop: list[bool] = []

    def watched(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.fspath(target) == str(path):
            on_loop.append(threading.current_thread() is threading.main_thread())
        return stat(target, *args, **kwargs)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(path)})

    monkeypatch.setattr(os, "stat", watched)
    done = asyncio.run(run(wrap(app), http_scope()))  # the loop runs in this thread
    monkeypatch.undo()
    assert done.error is None
    assert on_loop == [False]
    assert _content(collector)["size"] == 4321
