"""newcomer21: an app of the wrong kind given to a companion, and granian's ASGI interface
serving the WSGI middleware.

1. ``readme_metrics.asgi.CORSMiddleware(flask_app)`` (and RequestIdMiddleware, and the
   WSGI companions given a Starlette app) was taken as it was: every request failed in
   the server's words ("Flask.__call__() takes 3 positional arguments but 4 were given").
   It is now a TypeError at construction naming the twin; the twin named, served by a
   real server, answers with its headers.
2. ``granian --interface asgi`` serving the WSGI middleware: "MetricsMiddleware.__call__()
   takes from 2 to 3 positional arguments but 4 were given" at each request. It now says
   that an ASGI server called it, and how to serve it.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi_single import single_callable
from tests.support.fake_api import Collector, free_port
from tests.support.newcomer21_apps import flask_app, starlette_app
from tests.support.polling import PATIENCE
from tests.test_asgi_servers import HAVE_GRANIAN
from tests.test_e2e_servers import serve, server_env
from tests.test_twins20_frameworks import server_argv


def _falcon_asgi() -> Any:
    import falcon.asgi

    return falcon.asgi.App()


def _falcon_wsgi() -> Any:
    import falcon

    return falcon.App()


def _bottle() -> Any:
    import bottle

    return bottle.Bottle()


WRONG = [  # (companion's module, its class, an app of the other kind, the twin's module)
    ("readme_metrics.asgi", "CORSMiddleware", flask_app, "readme_metrics.cors"),
    ("readme_metrics.asgi", "RequestIdMiddleware", flask_app, "readme_metrics.request_id"),
    ("readme_metrics.asgi", "CORSMiddleware", _falcon_wsgi, "readme_metrics.cors"),
    ("readme_metrics.asgi", "RequestIdMiddleware", _bottle, "readme_metrics.request_id"),
    ("readme_metrics.cors", "CORSMiddleware", starlette_app, "readme_metrics.asgi"),
    ("readme_metrics.request_id", "RequestIdMiddleware", starlette_app,
     "readme_metrics.asgi"),
    ("readme_metrics.cors", "CORSMiddleware", _falcon_asgi, "readme_metrics.asgi"),
]


@pytest.mark.parametrize(("module", "name", "make", "twin"), [
    pytest.param(*case, id=f"{case[0].rsplit('.', 1)[1]}.{case[1]}-{case[2].__name__}")
    for case in WRONG])
def test_a_companion_refuses_an_app_of_the_other_kind(
        module: str, name: str, make: Any, twin: str) -> None:
    """Fails before: no error at construction (the app was kept as it was)."""
    import importlib

    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(TypeError) as raised:
        cls(make())
    said = str(raised.value)
    assert said.startswith(f"readme_metrics: {module}.{name}(app): app is a")
    assert said.endswith(f"Wrap it with {twin}.{name}(app)"), said


@pytest.mark.parametrize(("module", "name", "make"), [
    ("readme_metrics.asgi", "CORSMiddleware", starlette_app),
    ("readme_metrics.asgi", "RequestIdMiddleware", _falcon_asgi),
    ("readme_metrics.cors", "CORSMiddleware", flask_app),
    ("readme_metrics.request_id", "RequestIdMiddleware", _bottle),
    ("readme_metrics.request_id", "RequestIdMiddleware", _falcon_wsgi),
])
def test_a_companion_takes_its_own_kind(module: str, name: str, make: Any) -> None:
    import importlib

    getattr(importlib.import_module(module), name)(make())


@pytest.mark.e2e
@pytest.mark.parametrize(("server", "target"), [
    ("gunicorn", "tests.support.newcomer21_apps:wsgi_companions"),
    ("uvicorn", "tests.support.newcomer21_apps:asgi_companions"),
])
def test_the_twin_named_serves_the_app(
        server: str, target: str, collector: Collector, tmp_path: Path) -> None:
    """The way out the refusal names works under a real server: the CORS and id headers."""
    port = free_port()
    with serve(server_argv(server, target, port), server_env(collector), tmp_path,
               port) as base:
        answer = requests.get(base + "/", headers={"Origin": "https://a.example"},
                              timeout=PATIENCE)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert answer.headers["X-Request-Id"]


def test_the_wsgi_middleware_still_declares_a_wsgi_signature() -> None:
    """The third parameter that takes granian's call is not in the signature: to the ASGI
    companions' single_callable the middleware is no ASGI app of either version."""
    middleware = MetricsMiddleware(lambda environ, start_response: [], MetricsApiConfig(
        api_key="any-key", grouping_function=lambda request: None, enabled=False))
    assert list(inspect.signature(middleware).parameters) == ["environ", "start_response"]
    assert single_callable(middleware) is middleware
    with pytest.raises(TypeError, match=r"^MetricsMiddleware.__call__\(\) takes 3 "
                       r"positional arguments but 4 were given$"):
        middleware({"REQUEST_METHOD": "GET"}, 1, 2)  # type: ignore[call-arg]


@pytest.mark.e2e
@pytest.mark.skipif(not HAVE_GRANIAN, reason="granian is not installed")
def test_granian_asgi_serving_the_wsgi_middleware_is_named(
        collector: Collector, tmp_path: Path) -> None:
    """Fails before: Python's "takes from 2 to 3 positional arguments but 4 were given",
    and nothing at start-up but granian's "ASGI Lifespan errored"."""
    port = free_port()
    argv = [sys.executable, "-m", "granian", "--interface=asgi", "--host=127.0.0.1",
            f"--port={port}", "--workers=1", "--no-ws",
            "tests.support.grouping22_apps:wsgi_app"]
    with serve(argv, server_env(collector), tmp_path, port) as base:
        assert requests.get(base + "/", timeout=PATIENCE).status_code == 500
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    for kind in ("lifespan", "http"):
        assert (f"an ASGI server called it with (scope, receive, send) (type {kind!r}: "
                f"granian --interface asgi calls any app so)") in said, said
    assert "Serve it with a WSGI server (gunicorn app:app" in said
    assert "positional arguments but 4 were given" not in said



# -- 4. skip_methods: a custom method is case-sensitive ------------------------------------


def test_a_lower_case_custom_method_is_skipped_as_written(collector: Collector) -> None:
    """skip_methods=["fetch", "options"]: "fetch" is kept as written (RFC 9110 9.1: a
    method is case-sensitive), "options" is the registered OPTIONS. Under a real wsgiref
    server, a ``fetch`` request reaches the app and is not logged; ``FETCH`` (another
    method) and GET are. Fails on 564f251: "fetch" became "FETCH", so the ``fetch``
    request was logged and ``FETCH`` skipped."""
    import http.client

    from tests.support.polling import wait_until
    from tests.support.wsgi import ThreadedWSGIServer

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["REQUEST_METHOD"].encode()]

    config = MetricsApiConfig(api_key="rdme_newcomer21_key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": "caller"},
                              skip_methods=["fetch", "options"], buffer_length=1)
    assert config.skip_methods == ["fetch", "OPTIONS"]
    middleware = MetricsMiddleware(app, config)
    with ThreadedWSGIServer(middleware) as server:
        for method in ("fetch", "FETCH", "GET", "OPTIONS"):
            connection = http.client.HTTPConnection(server.url[len("http://"):],
                                                    timeout=PATIENCE)
            connection.request(method, "/x")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, method.encode())
            connection.close()
        logs = collector.wait_for_logs(2)
        wait_until(lambda: middleware.stats["skipped"] == 2)
    middleware.close()
    assert sorted(log["request"]["log"]["entries"][0]["request"]["method"]
                  for log in logs) == ["FETCH", "GET"]


# -- 3. a chunked body over max_body_bytes, unread by the app ------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["gunicorn", "werkzeug"])
def test_a_chunked_body_copied_to_the_limit_is_said_maybe_cut(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """POST /noread, a chunked JSON body of MAX_BODY + 2000 bytes the app leaves unread:
    the grouping function's req.json raises on the first MAX_BODY bytes, and its error
    now says the body may have been cut (the copy stops at the limit, reading no byte the
    app would not: review86's max_body_bytes=0 cases are untouched). Fails on 564f251:
    no cut note at all."""
    import json as json_module

    from tests.test_e2e_servers import MAX_BODY

    port = free_port()
    target = "tests.support.grouping22_apps:wsgi_app"
    argv = (server_argv("gunicorn", target, port) if server == "gunicorn" else
            [sys.executable, "-c", "import sys; from werkzeug.serving import run_simple; "
             "from tests.support.grouping22_apps import wsgi_app; "
             f"run_simple('127.0.0.1', {port}, wsgi_app, threaded=True)"])
    body = json_module.dumps({"name": "n", "pad": "x" * MAX_BODY}).encode()
    with serve(argv, server_env(collector), tmp_path, port) as base:
        answer = requests.post(base + "/noread", data=iter([body[:1000], body[1000:]]),
                               headers={"X-Api-Key": "caller-key"}, timeout=PATIENCE)
        assert answer.status_code == 200
        assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    errors = [line for line in said.splitlines() if "the grouping function raised" in line]
    assert errors, said
    assert all(f"may have been cut at max_body_bytes ({MAX_BODY} bytes kept of a chunked "
               "body, whose end was not read)" in line for line in errors), errors


# -- 5. no api_key, the form field it was read from cut off --------------------------------


@pytest.mark.e2e
def test_no_key_from_a_cut_form_says_the_cut(collector: Collector, tmp_path: Path) -> None:
    """A form over max_body_bytes whose ``key`` field comes after the cut: req.POST has no
    key, the function returns {"api_key": None}, and the error now says the body was cut
    (the first time: then the plain error, once). Under gunicorn. Fails on 564f251: no cut note."""
    from tests.test_e2e_servers import MAX_BODY

    port = free_port()
    argv = server_argv("gunicorn", "tests.support.newcomer21_apps:form_key", port)
    form = {"pad": "x" * MAX_BODY, "key": "caller-key"}
    with serve(argv, server_env(collector), tmp_path, port) as base:
        for _ in range(2):
            assert requests.post(base + "/", data=form, timeout=PATIENCE).text == "ok"
        assert requests.post(base + "/", data={"key": "caller-key"},
                             timeout=PATIENCE).text == "ok"
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    errors = [line for line in said.splitlines() if "returned 'api_key' None" in line]
    whole = len("pad=" + "x" * MAX_BODY + "&key=caller-key")
    cut = [line for line in errors if "cut at max_body_bytes" in line]
    assert errors[0] == cut[0] and len(cut) == 1, said  # once, the first time
    assert f"was cut at max_body_bytes ({MAX_BODY} of {whole} bytes)" in errors[0]
    assert "caller-key" not in said


# -- Bottle: bottle.run() without the wrapped app --------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("wrapped", [False, True])
def test_bottle_run_without_the_wrapped_app_says_so(
        wrapped: bool, collector: Collector, tmp_path: Path) -> None:
    """``bottle.run(port=...)``, Bottle's usual last line, serves the default app without
    the middleware made around it: the first request now warns, once; served wrapped
    (README's ``bottle.run(app, ...)``), nothing is said and the calls are logged. Fails
    on 564f251: not a word (the newcomer saw an empty collector)."""
    from readme_metrics.unwrapped import BOTTLE_UNSERVED

    port = free_port()
    argv = [sys.executable, "-c", "from tests.support.newcomer21_apps import serve_bottle; "
            f"serve_bottle({port}, {wrapped})"]
    with serve(argv, server_env(collector), tmp_path, port) as base:
        for _ in range(2):
            answer = requests.get(base + "/", headers={"X-Api-Key": "caller-key"},
                                  timeout=PATIENCE)
            assert answer.json() == {"hello": "world"}
        if wrapped:
            assert len(collector.wait_for_logs(2)) == 2
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    assert said.count(BOTTLE_UNSERVED) == (0 if wrapped else 1), said
