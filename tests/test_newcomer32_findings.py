"""newcomer32's first hour on main at 9802aeea (2026-12-06): README followed in order from
a fresh clone, weighted to ASGI and Django (FastAPI under ``uvicorn --reload`` and
``fastapi dev``, Starlette under hypercorn, a ``django-admin startproject`` project under
runserver and uvicorn, Flask under ``flask run --debug``), six options from the
environment, five likely mistakes. Each test named "said" or "warned" failed there and
passes with its fix; the others pin what stays as it was.

1. A plain ``def`` grouping function that waits (a blocking database lookup, as a Flask
   app's is, ported to FastAPI) runs on the event loop: under uvicorn four calls made
   together took 2.1 s for one 0.5 s lookup each, and nothing said why. Now one warning
   names the function, its line and the time it held the loop, and says to make it
   ``async def`` (Django's middleware under ASGI runs it in a thread: nothing said).
2. ``MetricsApiConfig(api_key="...")`` kept in settings.py while the right key is
   exported as README_API_KEY: the argument wins, silently, and ReadMe's refusal then
   said "the api_key (README_API_KEY) is wrong or revoked", the variable the user had
   checked. The same for ``metrics_api=`` over README_METRICS_SERVER (the collector's
   line, exported, did nothing). Now a start-up warning names both, never the values.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.capture import asgi_grouping
from readme_metrics.capture.asgi_grouping import AwaitingIdentifier
from readme_metrics.masking import mask
from tests.support.asgi import http_scope, run
from tests.support.command import CommandProcess
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import serve, server_env
from tests.test_readme import code_blocks, readme_sections

HELD = "a plain def, held the event loop for"
OVERRIDES = "is passed to MetricsApiConfig, and"


def _held(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if HELD in r.getMessage()]


def _wait_for_text(path: Path, text: str, timeout: float = 30.0) -> str:
    """Poll ``path`` (a server's output) until it holds ``text``; its content."""
    deadline = time.monotonic() + timeout
    while True:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        assert time.monotonic() < deadline, content
        time.sleep(0.02)


# -- 1. a plain grouping function that blocks the event loop ----------------------------------

def _readme_fastapi_app_made_plain_and_slow() -> str:
    """README's FastAPI quick start, its grouping function a plain def that waits 0.3 s,
    as a blocking database lookup does."""
    (code,) = code_blocks(readme_sections()["Quick start: FastAPI (and any ASGI app)"],
                          "python")
    written = "async def grouping_function(request: Request):\n"
    assert written in code, code
    return "import time\n" + code.replace(
        written, "def grouping_function(request: Request):\n"
                 "    time.sleep(0.3)  # the caller looked up with a blocking client\n")


@pytest.mark.e2e
def test_a_plain_grouping_function_that_blocks_is_said_once_under_uvicorn(
        collector: Collector, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    (tmp_path / "app.py").write_text(_readme_fastapi_app_made_plain_and_slow())
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
            "--no-access-log", "app:app"]
    with serve(argv, server_env(collector), tmp_path, port) as url:
        for _ in range(2):
            answer = requests.get(url, headers={"X-Api-Key": "owlbert-key"}, timeout=30)
            assert answer.status_code == 200 and answer.json() == {"hello": "world"}
        logs = collector.wait_for_logs(2)
        output = _wait_for_text(tmp_path / f"server-{port}.log", HELD)
    assert [log["group"]["id"] for log in logs] == [mask("owlbert-key")] * 2  # still logged
    said = [line for line in output.splitlines() if HELD in line]
    assert len(said) == 1, output  # once, not per request
    assert "grouping_function (" in said[0] and "app.py:" in said[0], said
    assert "Make it async def" in said[0] and "request.state" in said[0], said
    assert "owlbert" not in output


def _slow_plain(request: Any) -> Optional[dict[str, str]]:
    time.sleep(0.2)
    return {"api_key": "slow-caller-key"}


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def _asgi_config(grouping: Any, collector: Collector) -> MetricsApiConfig:
    return MetricsApiConfig(api_key="project-key", grouping_function=grouping,
                            metrics_api=collector.url, base_log_url="https://docs.example.com")


def test_a_plain_grouping_function_that_blocks_is_said_under_the_asgi_middleware(
        caplog: pytest.LogCaptureFixture, collector: Collector) -> None:
    """readme_metrics.asgi's middleware calls it on the loop as Starlette's does."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = AsgiMetricsMiddleware(_hello, _asgi_config(_slow_plain, collector))
    try:
        for _ in range(3):
            assert asyncio.run(run(app, http_scope(), then="disconnect")).start["status"] == 200
        assert app.stats["captured"] == 3  # logged all the same
    finally:
        app.close()
    assert len(collector.wait_for_logs(3)) == 3
    said = _held(caplog)
    assert len(said) == 1 and f"_slow_plain ({__file__}:" in said[0], said


def test_a_plain_grouping_function_that_blocks_is_said_under_trio(
        caplog: pytest.LogCaptureFixture, collector: Collector) -> None:
    """hypercorn's trio worker runs no asyncio loop: trio's is held the same."""
    trio = pytest.importorskip("trio")
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = AsgiMetricsMiddleware(_hello, _asgi_config(_slow_plain, collector))
    try:
        done = trio.run(functools.partial(run, app, http_scope(), then="disconnect"))
        assert done.start["status"] == 200
    finally:
        app.close()
    assert len(collector.wait_for_logs(1)) == 1
    assert len(_held(caplog)) == 1


def test_only_the_first_calls_are_timed(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        collector: Collector) -> None:
    """Two clock reads a call for the first TIMED_CALLS calls, none after: a function
    that starts to block later is not said (its first calls, a cold cache, are)."""
    monkeypatch.setattr(asgi_grouping, "TIMED_CALLS", 2, raising=False)
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    calls = []

    def grouping(request: Any) -> dict[str, str]:
        calls.append(request)
        if len(calls) > 2:
            time.sleep(0.2)
        return {"api_key": "late-blocker-key"}

    app = AsgiMetricsMiddleware(_hello, _asgi_config(grouping, collector))
    try:
        for _ in range(3):
            assert asyncio.run(run(app, http_scope(), then="disconnect")).start["status"] == 200
    finally:
        app.close()
    assert len(calls) == 3 and _held(caplog) == []


def test_an_async_grouping_function_is_not_said_whatever_it_awaits(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        collector: Collector) -> None:
    """An ``async def`` lets the loop run while it awaits: never said, even with every
    call counted as slow (the bound lowered below zero: no timing in this test)."""
    monkeypatch.setattr(asgi_grouping, "BLOCKING_SECONDS", -1.0, raising=False)
    caplog.set_level(logging.WARNING, logger="readme_metrics")

    async def grouping(request: Any) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"api_key": "async-caller-key"}

    app = AsgiMetricsMiddleware(_hello, _asgi_config(grouping, collector))
    try:
        assert asyncio.run(run(app, http_scope(), then="disconnect")).start["status"] == 200
        assert app.stats["captured"] == 1
    finally:
        app.close()
    assert _held(caplog) == []


def test_a_plain_grouping_function_on_a_thread_without_a_loop_is_not_said(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's middleware under ASGI calls it through asgiref's sync_to_async, in a
    worker thread: the loop runs on. Every call counted as slow, none said."""
    from asgiref.sync import sync_to_async

    monkeypatch.setattr(asgi_grouping, "BLOCKING_SECONDS", -1.0, raising=False)
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    identify = AwaitingIdentifier(lambda request: {"api_key": "threaded-caller"},
                                  logging.getLogger("readme_metrics"))

    async def main() -> Any:
        return await sync_to_async(identify)(object())

    group = asyncio.run(main())
    assert group is not None and group.id == "threaded-caller"
    assert _held(caplog) == []
    assert identify(object()) is not None  # and under WSGI, no loop at all
    assert _held(caplog) == []


_DJANGO_ASGI = '''
import time

from django.conf import settings
from django.http import HttpResponse
from django.urls import path

from readme_metrics import MetricsApiConfig


def grouping(request):
    time.sleep(0.3)  # a blocking lookup: Django runs this in a thread under ASGI
    return {"api_key": request.headers["X-Api-Key"]}


def hello(request):
    return HttpResponse(b"hello")


urlpatterns = [path("hello", hello)]
settings.configure(
    DEBUG=False, SECRET_KEY="tests-not-secret", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
    README_METRICS_CONFIG=MetricsApiConfig(grouping_function=grouping),
)

from django.core.asgi import get_asgi_application  # noqa: E402

from readme_metrics.django_asgi import with_lifespan  # noqa: E402

application = with_lifespan(get_asgi_application())
'''


@pytest.mark.e2e
def test_a_plain_grouping_function_under_django_asgi_is_not_said(
        collector: Collector, tmp_path: Path) -> None:
    """Django's middleware under uvicorn: the same 0.3 s function, in asgiref's thread,
    holds no loop; the call is logged and nothing is said of it."""
    pytest.importorskip("django")
    pytest.importorskip("uvicorn")
    (tmp_path / "project.py").write_text(_DJANGO_ASGI)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
            "--no-access-log", "project:application"]
    with serve(argv, server_env(collector), tmp_path, port) as url:
        answer = requests.get(f"{url}/hello", headers={"X-Api-Key": "dj-caller"}, timeout=30)
        assert answer.status_code == 200 and answer.content == b"hello"
        logs = collector.wait_for_logs(1)
        output = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    assert logs[0]["group"]["id"] == mask("dj-caller")
    assert HELD not in output, output


# -- 2. an argument that overrides its variable set to another value -----------------------------

@pytest.fixture(autouse=True)
def _each_start_up_warning_afresh() -> None:
    """The start-up warnings are said once per process: each test sees its own."""
    from readme_metrics import config

    config._WARNED.reset()


def _overrides(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if OVERRIDES in r.getMessage()]


def test_an_api_key_argument_over_another_readme_api_key_is_said(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    monkeypatch.setenv("README_API_KEY", "the-key-exported-now")
    MetricsApiConfig(api_key="the-key-left-in-settings", grouping_function=_slow_plain)
    (said,) = _overrides(caplog)
    assert said.startswith("readme_metrics: api_key is passed to MetricsApiConfig, and "
                           "README_API_KEY, set in the environment, holds another value"), said
    assert "Leave api_key= out" in said and 'os.environ["README_API_KEY"]' in said, said
    assert "the-key" not in said  # neither key


def test_a_metrics_api_argument_over_another_readme_metrics_server_is_said(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """README_METRICS_SERVER exported from ``readme-metrics collect``'s line, while the app
    passes metrics_api=: the collector showed nothing, and nothing said why."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    monkeypatch.setenv("README_METRICS_SERVER", "http://127.0.0.1:8001")
    MetricsApiConfig(api_key="project-key", metrics_api="https://metrics.readme.io",
                     grouping_function=_slow_plain)
    (said,) = _overrides(caplog)
    assert "metrics_api is passed" in said and "README_METRICS_SERVER" in said, said
    assert "8001" not in said and "readme.io" not in said, said


@pytest.mark.parametrize("argument, variable", [
    ("same-key", "same-key"),
    ("same-key", "same-key\n"),  # read from a secrets file: the config strips it
    ("same-key", None),          # the variable unset
    ("same-key", ""),            # set empty: counts as unset
])
def test_an_api_key_argument_equal_to_the_variable_or_alone_is_not_said(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        argument: str, variable: Optional[str]) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    if variable is None:
        monkeypatch.delenv("README_API_KEY", raising=False)
    else:
        monkeypatch.setenv("README_API_KEY", variable)
    MetricsApiConfig(api_key=argument, grouping_function=_slow_plain)
    MetricsApiConfig(api_key=argument, grouping_function=_slow_plain,
                     metrics_api="http://127.0.0.1:8001/")  # no variable: nothing to say
    assert _overrides(caplog) == []


def test_a_metrics_api_argument_spelled_apart_from_the_variable_is_not_said(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same address with a trailing slash is the same address."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    monkeypatch.setenv("README_METRICS_SERVER", "http://127.0.0.1:8001")
    MetricsApiConfig(api_key="project-key", metrics_api="http://127.0.0.1:8001/",
                     grouping_function=_slow_plain)
    assert _overrides(caplog) == []


@pytest.mark.e2e
def test_the_key_left_in_code_is_said_before_the_collector_refuses_it(
        tmp_path: Path) -> None:
    """As the newcomer ran it: ``readme-metrics collect --api-key KEY`` (ReadMe's check of
    the project's key), the app's shell exporting KEY, its code passing an old one. The
    refusal names README_API_KEY; the start-up warning said which key was used."""
    with CommandProcess("collect", "--port", "0", "--api-key", "right-key", "--har",
                        str(tmp_path / "logs.har"), cwd=tmp_path) as proc:
        url = proc.wait_for(r"listening on (http://\S+)").group(1)
        (tmp_path / "app.py").write_text(
            "import logging\n"
            "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
            "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
            "def hello(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [b'hello']\n"
            "app = MetricsMiddleware(hello, MetricsApiConfig(\n"
            "    api_key='old-key-left-in-settings', buffer_length=1,\n"
            "    grouping_function=lambda request: {'api_key': 'caller-key'}))\n"
            "from webob import Request\n"
            "Request.blank('/').get_response(app)\n"
            "app.flush(10)\n"
            "print('dropped_auth', app.stats['dropped_auth'], flush=True)\n")
        from tests.support.command import app_environment
        from tests.support.processes import run_command

        env = app_environment(url, tmp_path)
        env["README_API_KEY"] = "right-key"  # exported, as the collector's --api-key
        done = run_command([sys.executable, "app.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert "dropped_auth 1" in done.stdout, output  # the collector refused the old key
    assert "refused the API key" in done.stderr, output
    said = [line for line in done.stderr.splitlines() if OVERRIDES in line]
    assert len(said) == 1 and "README_API_KEY" in said[0], output
    assert "old-key" not in output and "right-key" not in output


def test_readme_and_troubleshooting_say_both() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    troubleshooting = (Path(__file__).parent.parent / "docs" / "TROUBLESHOOTING.md"
                       ).read_text("utf-8")
    for text in (readme, troubleshooting):
        assert HELD in text, "the blocking grouping function's row"
        assert OVERRIDES in text, "the argument over its variable's row"
    assert os.path.exists(Path(__file__).parent.parent / "CHANGELOG.md")
