"""Django's middleware with an ``async`` grouping function (README: Django quick start).

Under Django's ASGI handler the function is awaited on the event loop, whether this
middleware runs in the async chain or in the sync one (a sync-only middleware below it);
before, it was called in a thread and its coroutine reported as an error, the request
not logged. Under WSGI there is no loop to await it on: that stays a clear error. Real
servers (uvicorn, gunicorn) in subprocesses, serving a Django project written to the
test's directory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests

from readme_metrics.masking import mask
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import serve, server_env

pytestmark = pytest.mark.e2e

_PROJECT = '''
import asyncio
import os

from django.conf import settings
from django.http import HttpResponse
from django.urls import path

from readme_metrics import MetricsApiConfig


async def grouping(request):
    await asyncio.sleep(0)  # a real await: a coroutine not awaited would not get here
    asyncio.get_running_loop()  # on the event loop
    return {"api_key": request.headers["X-Api-Key"], "label": type(request).__name__}


def hello(request):
    return HttpResponse(b"hello")


class SyncOnly:
    """A sync-only middleware below the metrics one: Django runs that one sync too."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


urlpatterns = [path("hello", hello)]
settings.configure(
    DEBUG=False, SECRET_KEY="tests-not-secret", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    MIDDLEWARE=["readme_metrics.django.MetricsMiddleware",
                *([__name__ + ".SyncOnly"] if os.environ.get("SYNC_CHAIN") else [])],
    README_METRICS_CONFIG=MetricsApiConfig(grouping_function=grouping),
)

if os.environ.get("WSGI"):
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
else:
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
'''
KEY = "async-django-caller"


@pytest.mark.parametrize("chain", ["async", "sync"])
def test_an_async_grouping_function_is_awaited_under_asgi(
        collector: Collector, tmp_path: Path, chain: str) -> None:
    (tmp_path / "project.py").write_text(_PROJECT)
    port = free_port()
    env = server_env(collector, **({"SYNC_CHAIN": "1"} if chain == "sync" else {}))
    argv = [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
            "--no-access-log", "--lifespan=off", "project:application"]
    with serve(argv, env, tmp_path, port) as url:
        answer = requests.get(f"{url}/hello", headers={"X-Api-Key": KEY}, timeout=30)
        assert answer.status_code == 200 and answer.content == b"hello"
        logs = collector.wait_for_logs(1)
    assert len(logs) == 1
    assert logs[0]["group"] == {"id": mask(KEY), "label": "ASGIRequest"}
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == 200


def test_an_async_grouping_function_under_wsgi_is_a_clear_error(
        collector: Collector, tmp_path: Path) -> None:
    (tmp_path / "project.py").write_text(_PROJECT)
    port = free_port()
    env = server_env(collector, WSGI="1")
    argv = [sys.executable, "-m", "gunicorn", f"--bind=127.0.0.1:{port}", "--workers=1",
            "project:application"]
    with serve(argv, env, tmp_path, port) as url:
        answer = requests.get(f"{url}/hello", headers={"X-Api-Key": KEY}, timeout=30)
        assert answer.status_code == 200 and answer.content == b"hello"
        assert "x-documentation-url" not in answer.headers
        output = tmp_path / f"server-{port}.log"
        deadline = time.monotonic() + 30
        while "returned an awaitable (an async def?)" not in output.read_text():
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.02)
    assert collector.logs == []
