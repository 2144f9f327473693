"""newcomer26: README followed top to bottom on a fresh clone, then the first hour's mistakes.

1. Under FastAPI, a plain ``def`` grouping function reading the body as in a view,
   ``{"api_key": ..., "label": request.json()}`` (Starlette's ``json()``, ``body()`` and
   ``form()`` are coroutines), sent every log with the label
   ``<coroutine object Request.json at 0x7f...>``, said nothing, and Python's
   "coroutine 'Request.json' was never awaited" RuntimeWarning pointed at the library's
   own line. Such a value (a label, an email or the key that is an awaitable) is now closed
   unawaited and said once, naming what to do (an ``async def`` that awaits it); a label or
   email so given is left out of the logs, which are still sent; a key so given logs no call.
2. ``app.add_middleware(readme_metrics.MetricsMiddleware, config=...)`` (the WSGI class, for
   ReadMeMetricsMiddleware) under uvicorn: Starlette makes its middleware at the lifespan's
   start, where uvicorn says only "ASGI 'lifespan' protocol appears unsupported" and drops
   the TypeError that names the fix; the start-up looked fine and every request then
   failed with a 500. The error is now also logged once as it is raised (as
   ReadMeMetricsMiddleware's from the environment is), so the start-up says it.
3. `readme-metrics collect --help` named README_METRICS_SERVER alone, while collect prints
   README_API_URL too (the answers' `x-documentation-url`): the help gives collect's line.
4. README's Troubleshooting says to wrap a Flask app's ``wsgi_app``; written
   ``app.wsgi_app = MetricsMiddleware(app, config)``, each request recursed through the
   middleware until RecursionError and sent about 250 logs of a 500, unsaid. None is sent
   now, and one error says what to write.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli import main as cli_main
from tests.support.command import app_environment
from tests.support.fake_api import Collector, free_port
from tests.support.wsgi import ThreadedWSGIServer
from tests.test_readme import _one_log, _start_app

_FASTAPI_APP = '''
from fastapi import FastAPI, Request

import readme_metrics
from readme_metrics import MetricsApiConfig
from readme_metrics.fastapi import ReadMeMetricsMiddleware


def grouping_function(request: Request):
    # as in a view, but not awaited: Starlette's json() is a coroutine
    return {{"api_key": request.headers.get("x-api-key"), {field}}}


app = FastAPI()
app.add_middleware({middleware},
                   config=MetricsApiConfig(grouping_function=grouping_function))


@app.post("/")
async def hello(request: Request):
    return {{"hello": (await request.json())["name"]}}
'''


def _serve_fastapi(tmp_path: Path, collector: Collector, field: str,
                   middleware: str = "ReadMeMetricsMiddleware", calls: int = 3,
                   ) -> tuple[list[requests.Response], str]:
    """``_FASTAPI_APP`` under uvicorn, ``calls`` POSTs, then SIGTERM: the answers and the
    server's output."""
    (tmp_path / "app.py").write_text(_FASTAPI_APP.format(field=field, middleware=middleware))
    port = free_port()
    env = app_environment(collector.url, tmp_path, README_FLUSH_INTERVAL="60")
    log = tmp_path / "app-output.txt"
    proc = _start_app([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
                      tmp_path, env, port, log)
    try:
        answers = [requests.post(f"http://127.0.0.1:{port}/", json={"name": "Owlbert"},
                                 headers={"X-Api-Key": "owlbert-key"}, timeout=10)
                   for _ in range(calls)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return answers, log.read_text(errors="replace")


_AWAIT_IT = "make the grouping function an async def and await it"


@pytest.mark.e2e
@pytest.mark.parametrize("field, name", [
    ('"label": request.json()', "label"),
    ('"label": "Owlbert", "email": request.body()', "email"),
])
def test_an_unawaited_coroutine_as_label_is_said_once_and_left_out(
        tmp_path: Path, collector: Collector, field: str, name: str) -> None:
    answers, output = _serve_fastapi(tmp_path, collector, field)
    assert [a.status_code for a in answers] == [200] * 3, output
    assert all(a.json() == {"hello": "Owlbert"} for a in answers)
    logs = _one_log(collector, Path(tmp_path / "app-output.txt"), 3)
    for sent in logs:
        assert name not in sent["group"], sent["group"]
        assert "coroutine" not in str(sent["group"]), sent["group"]
    assert "never awaited" not in output, output
    said = [line for line in output.splitlines() if "as an awaitable" in line]
    assert len(said) == 1, output
    assert f"the grouping function returned {name!r} as an awaitable" in said[0], said
    assert _AWAIT_IT in said[0], said


@pytest.mark.e2e
def test_an_unawaited_coroutine_as_the_key_is_said_once(
        tmp_path: Path, collector: Collector) -> None:
    answers, output = _serve_fastapi(
        tmp_path, collector, '"api_key": request.json(), "label": "Owlbert"', calls=2)
    assert [a.status_code for a in answers] == [200] * 2, output
    assert collector.logs == []
    assert "never awaited" not in output, output
    said = [line for line in output.splitlines() if "as an awaitable" in line]
    assert len(said) == 1, output
    assert "the grouping function returned 'api_key' as an awaitable" in said[0], said
    assert _AWAIT_IT in said[0] and "the request is not logged" in said[0], said


@pytest.mark.e2e
def test_the_wsgi_class_in_add_middleware_is_said_at_start_up(
        tmp_path: Path, collector: Collector) -> None:
    """Said before the first request: the lifespan's start is where Starlette makes it."""
    (tmp_path / "app.py").write_text(_FASTAPI_APP.format(
        field='"label": "Owlbert"', middleware="readme_metrics.MetricsMiddleware"))
    port = free_port()
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"
    proc = _start_app([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
                      tmp_path, env, port, log)
    try:
        before = log.read_text(errors="replace")  # listening: the lifespan has begun
        answer = requests.post(f"http://127.0.0.1:{port}/", json={"name": "Owlbert"},
                               headers={"X-Api-Key": "owlbert-key"}, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert answer.status_code == 500  # Starlette's; the app cannot be wrapped so
    assert "this MetricsMiddleware is the WSGI middleware" in before, before
    assert "app.add_middleware(ReadMeMetricsMiddleware, config=...)" in before, before
    output = log.read_text(errors="replace")
    logged = [line for line in output.splitlines()
              if line.startswith("readme_metrics: MetricsMiddleware(app, config)")]
    assert len(logged) == 1, output


def test_collect_help_names_both_variables_collect_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    """3. `readme-metrics collect --help` told the app README_METRICS_SERVER alone, while
    collect itself, `readme-metrics --help` and README's "See it locally" set
    README_API_URL too: a reader of the command's own help had no answer linked to its
    call on the dashboard (no `x-documentation-url`)."""
    with pytest.raises(SystemExit):
        cli_main(["collect", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ("README_METRICS_SERVER=http://127.0.0.1:8001 README_API_URL=http://127.0.0.1:8001"
            in said), said
    assert "x-documentation-url" in said, said


def test_flask_wsgi_app_wrapped_around_its_own_app_is_said_once_not_logged_by_the_hundred(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """4. README's Troubleshooting says "wrap `app.wsgi_app`"; written
    ``app.wsgi_app = MetricsMiddleware(app, config)``, the middleware called Flask, which
    called the middleware again, until RecursionError: one request sent 244 logs of a 500
    to ReadMe, and nothing said why. Now no log is sent for it and one error says what to
    write; the client still gets the server's 500 (the app cannot answer)."""
    from flask import Flask

    app = Flask(__name__)
    app.get("/")(lambda: {"hello": "world"})
    config = MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, base_log_url="https://docs.example",
        grouping_function=lambda request: {"api_key": "owlbert-key"})
    middleware = MetricsMiddleware(app, config)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="readme_metrics"):
        with ThreadedWSGIServer(app) as server:
            answers = [requests.get(server.url + "/", timeout=30) for _ in range(2)]
        middleware.flush(10)
    assert [a.status_code for a in answers] == [500, 500]
    assert collector.logs == [], len(collector.logs)
    said = [r.getMessage() for r in caplog.records if "wsgi_app" in r.getMessage()]
    assert len(said) == 1, [r.getMessage()[:200] for r in caplog.records]
    assert "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)" in said[0], said
    assert "could not start capturing" not in caplog.text


def test_a_grouping_function_returning_json_text_is_told_to_return_the_mapping(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """5. ``return json.dumps({"api_key": ...})`` (the mapping as JSON text, as a view
    returns its body) was told "not the key alone", which it was not."""
    import json

    def grouping(request: object) -> str:
        return json.dumps({"api_key": "owlbert-key", "label": "Owlbert"})

    def hello(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"hello": "world"}']

    middleware = MetricsMiddleware(hello, MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, grouping_function=grouping))
    with caplog.at_level(logging.ERROR, logger="readme_metrics"):
        with ThreadedWSGIServer(middleware) as server:
            answers = [requests.get(server.url + "/", timeout=10) for _ in range(2)]
        middleware.flush(10)
    assert [a.status_code for a in answers] == [200, 200]
    assert collector.logs == []
    said = [r.getMessage() for r in caplog.records if "grouping function" in r.getMessage()]
    assert len(said) == 1, said
    assert "not the key alone" not in said[0], said
    assert "its JSON text" in said[0] and "return the mapping itself" in said[0], said
