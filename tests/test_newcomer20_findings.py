"""newcomer20's first hour on main at 733187f (2026-12-04), a real app per framework: the
TestClient, uvicorn and pserve tests failed there and pass with their fixes; the two that
say "still" and "only" show what the uvicorn fix leaves as it was."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

# -- Django under uvicorn, with a sync-only middleware in MIDDLEWARE -----------------------
#
# A middleware written as Django's docs show (a class with __init__(get_response) and
# __call__, no async_capable) makes Django run the chain above it synchronously under ASGI
# too: the metrics middleware's __acall__, where the lifespan check was, never ran, and
# uvicorn without with_lifespan lost the logs queued at a stop without the warning. The
# test is test_newcomer19_findings.py's, "uvicorn-sync-only-middleware".


# -- Starlette's TestClient in a test process that served with uvicorn before ---------------


def _test_client_scope() -> dict[str, Any]:
    """The HTTP scope Starlette's TestClient gives an app: a ``state``, as uvicorn's."""
    from starlette.testclient import TestClient

    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert TestClient(app).get("/").status_code == 204
    return scopes[0]


def test_starlettes_test_client_after_uvicorn_is_not_warned_about_a_lifespan(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    pytest.importorskip("uvicorn")
    import uvicorn.lifespan.on  # noqa: F401 - in sys.modules, as after a uvicorn server

    from readme_metrics import django_asgi

    scope = _test_client_scope()
    assert "state" in scope
    logger = logging.getLogger("readme_metrics.test_newcomer20")
    said = []
    for checked_scope in (scope, {"type": "http", "state": {}}):  # then uvicorn's, warned
        monkeypatch.setattr(django_asgi, "_started", [])
        monkeypatch.setattr(django_asgi, "checked", [])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=logger.name):
            django_asgi.check_lifespan(logger, checked_scope)
        said.append(sum(record.getMessage() == django_asgi.WITHOUT_LIFESPAN
                        for record in caplog.records))
    assert said == [0, 1]


# -- a WSGI app wrapped, served by uvicorn ---------------------------------------------------
#
# uvicorn takes an app whose __call__ is not async for an ASGI 2 app and calls it with the
# scope alone: at start-up it said only "ASGI 'lifespan' protocol appears unsupported",
# and each request was a 500 with "MetricsMiddleware.__call__() missing 1 required
# positional argument: 'start_response'", which says nothing of the server.

_WSGI_APP = '''
from readme_metrics import MetricsApiConfig, MetricsMiddleware


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


def grouping_function(request):
    return {"api_key": request.headers.get("X-Api-Key")}


app = MetricsMiddleware(hello_app, MetricsApiConfig(grouping_function=grouping_function))
'''

_SAID = "readme_metrics: MetricsMiddleware(app, config) is a WSGI app, and an ASGI server"


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_a_wrapped_wsgi_app_under_an_asgi_server_is_said_to_be_one(
        tmp_path: Path, collector: Any, server: str) -> None:
    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _get_then_sigterm

    pytest.importorskip(server)
    (tmp_path / "app.py").write_text(_WSGI_APP)
    port = free_port()
    log = tmp_path / "app-output.txt"
    command = ([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)]
               if server == "uvicorn" else
               [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "app:app"])
    answer = _get_then_sigterm(command, tmp_path, app_environment(collector.url, tmp_path),
                               port, log)
    output = log.read_text()
    assert answer.status_code == 500, output  # the server's: a WSGI app it cannot call
    if server == "uvicorn":  # uvicorn calls it for the lifespan first: logged at start-up
        start_up, output = output.split("Uvicorn running on", 1)
        assert start_up.count(_SAID) == 1, start_up
        assert "type 'lifespan'" in start_up and "gunicorn app:app" in start_up, start_up
    assert "type 'http'" in output and "WsgiToAsgi" in output, output  # the 500's
    assert "missing 1 required positional argument" not in output, output
    assert collector.logs == []
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    assert f'an error "{_SAID} called it ..."' in readme  # its Troubleshooting row


@given(st.dictionaries(st.sampled_from(["type", "asgi", "REQUEST_METHOD", "state"]),
                       st.one_of(st.none(), st.text(max_size=10),
                                 st.sampled_from(["http", "websocket", "lifespan"]),
                                 st.dictionaries(st.text(max_size=3), st.text(max_size=3)))))
def test_only_an_asgi_servers_scope_is_said_to_be_one(environ: dict[str, Any]) -> None:
    from readme_metrics.app_shape import asgi_server_call

    said = asgi_server_call("MetricsMiddleware", environ)
    scope = (environ.get("type") in ("http", "websocket", "lifespan")
             and isinstance(environ.get("asgi"), dict))
    assert (said is not None) == scope
    if said is not None:
        assert said.startswith(_SAID) and repr(environ["type"]) in said


def test_a_wsgi_call_without_start_response_still_fails_as_python_says() -> None:
    """Called with one argument by anything but an ASGI server, the error is Python's."""
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    middleware = MetricsMiddleware(lambda environ, start_response: [], MetricsApiConfig(
        api_key="any-key", grouping_function=lambda request: None, enabled=False))
    for environ in ({"REQUEST_METHOD": "GET"}, {"type": "http"}, {"type": "x", "asgi": {}}):
        with pytest.raises(TypeError, match=r"^MetricsMiddleware.__call__\(\) missing 1 "
                           r"required positional argument: 'start_response'$"):
            middleware(environ)  # type: ignore[call-arg]


# -- Pyramid's pserve ---------------------------------------------------------------------
#
# README's Pyramid row says "in a PasteDeploy main(), what it returns"; the example had no
# main() and no .ini, and `pserve` with `use = call:app:main` stops with "No module named
# 'app'": a console script does not put the current folder on sys.path. The example now
# has both, and its docstring says to start pserve with PYTHONPATH=. (this test runs it).


@pytest.mark.e2e
def test_the_pyramid_example_under_pserve_as_its_docstring_says(
        tmp_path: Path, collector: Any) -> None:
    import os
    import shutil
    import subprocess

    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.support.processes import run_command
    from tests.test_readme import EXAMPLES, _get_then_sigterm

    pytest.importorskip("pyramid")
    pserve = Path(sys.executable).parent / "pserve"
    if not pserve.exists():
        pytest.skip("no pserve beside this Python")
    assert "PYTHONPATH=.\npserve development.ini" in (
        EXAMPLES / "pyramid" / "app.py").read_text("utf-8")
    folder = tmp_path / "pyramid"
    shutil.copytree(EXAMPLES / "pyramid", folder)
    port = free_port()
    ini = folder / "development.ini"
    ini.write_text(ini.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    without_dot = app_environment(collector.url)  # PYTHONPATH: the library's checkout only
    stopped = run_command([str(pserve), "development.ini"], cwd=folder, env=without_dot,
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert stopped.returncode != 0 and "No module named 'app'" in stopped.stderr, stopped
    env = app_environment(collector.url, Path("."))  # PYTHONPATH=. as the docstring says
    env["PYTHONPATH"] = os.pathsep.join([".", env["PYTHONPATH"].split(os.pathsep, 1)[1]])
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([str(pserve), "development.ini"], folder, env, port, log,
                               "/pets", {"Authorization": "Bearer owlbert-key"})
    assert answer.status_code == 200, log.read_text()
    # Sent at the SIGTERM (the example makes it an exit): flush_interval is 5 s.
    logs = collector.wait_for_logs(1, timeout=10)
    assert [log["request"]["log"]["entries"][0]["request"]["url"] for log in logs] == [
        f"http://127.0.0.1:{port}/pets"], logs
