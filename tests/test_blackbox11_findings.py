"""blackbox11: delivery under real ASGI servers, found by a black-box sweep.

Inline mode (``background_worker_mode=False``) under uvicorn: each exchange's send runs
off the loop, one after another (capture/asgi_inline.py), and the app's call ended only
once its send was over, also a send waiting behind others' (each a round trip of the
Metrics API). uvicorn's stop waits for every call to end ("Waiting for background tasks
to complete"): against an API answering in 1 s, 4 clients for 6 s, the stop took 17 to
19 s (a line of up to 64 sends, 64 round trips), none of it bounded by
``shutdown_timeout``, and the lifespan's flush, which sends what waits in parallel
POSTs, came only after. Now a call waits for its own send only when it starts at once
(a serverless process may be frozen once the call ends); one behind another's goes on
in turn without holding the call, and the lifespan's flush takes what still waits.

Real parts: uvicorn in a subprocess on a free 127.0.0.1 port, the collector on
127.0.0.1 holding its answers until the test lets them go, a raw ASGI wrapper around
the middleware telling on stdout when each call ended.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, end_stragglers, read_line, start_server

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(importlib.util.find_spec("uvicorn") is None,
                                 reason="uvicorn is not installed")]

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "rdme_blackbox11_SECRET_key_4242"

APP = textwrap.dedent("""
    import os, sys
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from tests.support.side_by_side import lifespan

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    metrics = ReadMeMetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1, flush_interval=0,
        background_worker_mode=False, timeout=50, shutdown_timeout=10,
        grouping_function=lambda req: {"api_key": "caller-1"}))

    async def application(scope, receive, send):
        await metrics(scope, receive, send)
        if scope["type"] == "http":
            print("ended", scope["path"], flush=True)
""")

#: Requests that end while the first one's send is held by the API.
BEHIND = 4


@pytest.fixture
def gate() -> object:
    opened = threading.Event()
    yield opened
    opened.set()  # a POST still held answers, so the collector's stop is not held


def test_inline_calls_behind_a_held_send_end_without_waiting_for_it(
        collector: Collector, gate: threading.Event, tmp_path: Path) -> None:
    collector.default = Reply(gate=gate)  # every POST held until the test lets go
    (tmp_path / "inline_app.py").write_text(APP)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": API_KEY,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server([sys.executable, "-m", "uvicorn", "--host=127.0.0.1",
                            f"--port={port}", "--no-access-log",
                            "inline_app:application"],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        while "Uvicorn running on" not in read_line(
                process.stderr, about="uvicorn's start").decode(errors="replace"):
            assert process.poll() is None
        # The first call's send starts at once: its POST is held by the API.
        assert requests.get(f"{base}/first", timeout=LINE_WAIT).text == "ok"
        wait_until(lambda: len(collector.received) == 1)
        for number in range(BEHIND):
            assert requests.get(f"{base}/behind-{number}", timeout=LINE_WAIT).text == "ok"
        # Their calls end while the first send is held (before: each waited for it,
        # and then for its own, one round trip after another). 30 s: the held POST
        # answers at 60 s at the latest.
        ended = [read_line(process.stdout, timeout=30, about="a call's end")
                 .decode().split()[-1] for _ in range(BEHIND)]
        assert sorted(ended) == [f"/behind-{number}" for number in range(BEHIND)]
        gate.set()
        # The first call still waited for its own send (a serverless process may be
        # frozen once the call ends): it ends once the API answered.
        assert read_line(process.stdout, about="the first call's end").split() == [
            b"ended", b"/first"]
        process.terminate()
        out, err = process.communicate(timeout=LINE_WAIT)
    finally:
        if process.poll() is None:
            process.kill()
        end_stragglers(process)
        if process.returncode is None:
            process.communicate(timeout=30)
    said = err.decode(errors="replace")
    logs = collector.wait_for_only(1 + BEHIND)
    paths = sorted(log["request"]["log"]["entries"][0]["request"]["url"].split("/", 3)[3]
                   for log in logs)
    assert paths == sorted(["first", *(f"behind-{number}" for number in range(BEHIND))])
    assert "readme_metrics" not in said, said  # nothing dropped, nothing to say
    assert API_KEY not in said + out.decode(errors="replace")


STREAM_APP = textwrap.dedent("""
    import asyncio, os
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    async def chunks():
        for number in range(600):
            if number == 3:
                print("entered", flush=True)
            yield b"chunk %d\\n" % number
            await asyncio.sleep(0.1)

    async def stream(request):
        return StreamingResponse(chunks(), media_type="text/plain")

    application = ReadMeMetricsMiddleware(Starlette(routes=[Route("/stream", stream)]),
        MetricsApiConfig(
            api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
            base_log_url="http://docs.example", shutdown_timeout=10,
            grouping_function=lambda req: {"api_key": "caller-1"}))
""")


def test_a_starlette_stream_cut_by_uvicorns_graceful_timeout_is_logged(
        collector: Collector, tmp_path: Path) -> None:
    """uvicorn's --timeout-graceful-shutdown cancels the calls still running and goes
    on to the lifespan's shutdown without waiting for them to end. A raw ASGI app ends
    at once (tests/test_exit14_findings.py); Starlette's StreamingResponse unwinds its
    anyio task group over a few turns of the loop, so the lifespan's flush ran before
    its log was made, and uvicorn then ended by SIGTERM again, no exit hook: the log
    was lost, no line said it (0 of 4 in the sweep, FastAPI). The flush now waits
    (within shutdown_timeout) for the calls the server is cancelling."""
    logs, _ = _cut_stream_under_uvicorn(tmp_path, collector, "stream_app", STREAM_APP)
    content = logs[0]["request"]["log"]["entries"][0]["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n"), content
    assert content["comment"].startswith("incomplete: the app's answer broke off"), content


DJANGO_APP = textwrap.dedent("""
    import asyncio, os
    import django
    from django.conf import settings
    from readme_metrics import MetricsApiConfig

    settings.configure(
        DEBUG=False, SECRET_KEY="blackbox11-" * 5, ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__, MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
        README_METRICS_CONFIG=MetricsApiConfig(
            api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
            base_log_url="http://docs.example", shutdown_timeout=10,
            grouping_function=lambda req: {"api_key": "caller-1"}))
    django.setup()

    from django.core.asgi import get_asgi_application
    from django.http import StreamingHttpResponse
    from django.urls import path
    from readme_metrics.django_asgi import with_lifespan

    async def chunks():
        for number in range(600):
            if number == 3:
                print("entered", flush=True)
            yield b"chunk %d\\n" % number
            await asyncio.sleep(0.1)

    async def stream(request):
        return StreamingHttpResponse(chunks(), content_type="text/plain")

    urlpatterns = [path("stream", stream)]
    application = with_lifespan(get_asgi_application())
""")


def _cut_stream_under_uvicorn(tmp_path: Path, collector: Collector, module: str,
                              source: str) -> tuple[list[dict], str]:
    """``source`` as ``module`` under uvicorn --timeout-graceful-shutdown=1, stopped by
    SIGTERM while it streams GET /stream (the app prints "entered" at its 4th chunk):
    the logs the collector got, and uvicorn's stderr."""
    (tmp_path / f"{module}.py").write_text(source)
    env = {**{k: v for k, v in os.environ.items()
              if not k.startswith(("README_", "DJANGO_"))},
           "METRICS_URL": collector.url, "PROJECT_KEY": API_KEY,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    port = free_port()
    process = start_server([sys.executable, "-m", "uvicorn", "--host=127.0.0.1",
                            f"--port={port}", "--no-access-log",
                            "--timeout-graceful-shutdown=1", f"{module}:application"],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        while "Uvicorn running on" not in read_line(
                process.stderr, about="uvicorn's start").decode(errors="replace"):
            assert process.poll() is None
        with socket.create_connection(("127.0.0.1", port), timeout=LINE_WAIT) as client:
            client.sendall(b"GET /stream HTTP/1.1\r\nHost: example.com\r\n\r\n")
            assert read_line(process.stdout, about="the stream").strip() == b"entered"
            process.terminate()
            out, err = process.communicate(timeout=LINE_WAIT)
    finally:
        if process.poll() is None:
            process.kill()
        end_stragglers(process)
        if process.returncode is None:
            process.communicate(timeout=30)
    said = err.decode(errors="replace")
    assert "Cancel 1 running task(s)" in said, said
    assert API_KEY not in said + out.decode(errors="replace")
    return collector.wait_for_only(1), said


def test_a_django_stream_cut_by_uvicorns_graceful_timeout_is_logged(
        collector: Collector, tmp_path: Path) -> None:
    """Django's ASGI handler, cancelled by uvicorn's graceful timeout, leaves its
    response task running (it cancels it only when the disconnect comes first): the
    stream's log would be made at its end, long after uvicorn's lifespan shutdown, whose
    flush (README's ``with_lifespan``) ran without it, and uvicorn's re-raised SIGTERM
    (no exit hook) lost it without a line. The lifespan's shutdown now logs a response
    still in flight as far as it went, as the exit does."""
    logs, said = _cut_stream_under_uvicorn(tmp_path, collector, "django_stream",
                                           DJANGO_APP)
    content = logs[0]["request"]["log"]["entries"][0]["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n"), content
    assert content["comment"].startswith(
        "incomplete: the process exited while the answer was being sent"), content
