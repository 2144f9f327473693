"""A newcomer's first hour, fifth pass: README's quick starts followed in a fresh clone
and a fresh virtualenv, pointed at ``readme-metrics collect``, then the usual mistakes
(a variable guessed, the wrong middleware for the app, a proxy in the shell, the
extension never given its app) and what the library says about each.

Each test is one thing tried there, written down with the library's real parts (real
configuration, collector, apps and servers); none passed before its fix.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    proxy_taken_for_elsewhere,
    said_on,
    through_proxy,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parent.parent


def grouping(request: Any) -> None:
    return None


@pytest.mark.parametrize("name", ["README_METRICS_DISABLED", "README_METRICS_DISABLE",
                                  "README_DISABLE", "readme_metrics_disabled"])
def test_a_disabled_variable_is_said_to_be_the_opposite_of_enabled(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """``README_METRICS_DISABLED=true`` (to turn metrics off in tests) was answered "did
    you mean README_METRICS_ENABLED?" without the sense being turned round, which
    README_DISABLED gets: copied as ``README_METRICS_ENABLED=true`` it kept metrics on."""
    monkeypatch.setenv(name, "true")
    logger = logging.getLogger(f"newcomer5-opposite-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger)
    upper = name.upper()
    assert said_on(caplog, logger) == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean README_METRICS_ENABLED (the opposite: {upper}=true "
        "is README_METRICS_ENABLED=false)?"]


def test_a_refused_api_key_names_where_the_logs_were_posted(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """A newcomer whose README_METRICS_SERVER did not reach the app (set in the other
    terminal, or in a .env elsewhere) posts ``any-key`` to ReadMe, which refuses it; the
    error said only "the Metrics API refused the API key (HTTP 401 Unauthorized)", read
    as the local collector's doing (it takes any key). It now says where the POST went,
    as the warning for a rejected batch does."""
    collector.replies.append(Reply(401, b'{"error":"bad key"}'))
    delivery = make_delivery(collector.url, buffer_length=1)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 1)
    assert messages(caplog, logging.ERROR, "refused the API key") == [
        f"readme_metrics: the Metrics API at {collector.url}/v1/request refused the API key "
        "(HTTP 401 Unauthorized): the api_key passed to MetricsApiConfig(api_key=...), not "
        "README_API_KEY, is "
        "wrong or revoked. Logs "
        "are dropped for the next 60.0s."]


def _hello_wsgi(environ: Any, start_response: Any) -> list[bytes]:  # pragma: no cover
    start_response("200 OK", [])
    return [b"hello"]


class _WsgiObject:
    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:  # pragma: no cover
        return []


def _wsgi_apps() -> list[Any]:
    from flask import Flask

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", grouping_function=grouping, enabled=False)
    return [
        pytest.param(_hello_wsgi, "_hello_wsgi", id="function"),
        pytest.param(_WsgiObject(), "_WsgiObject", id="callable-object"),
        pytest.param(Flask(__name__), "Flask", id="flask"),
        pytest.param(Flask(__name__).wsgi_app, "wsgi_app", id="flask-wsgi_app"),
        pytest.param(MetricsMiddleware(_hello_wsgi, config), "MetricsMiddleware",
                     id="the-wsgi-middleware"),
    ]


@pytest.mark.parametrize("middleware", ["asgi", "fastapi"])
@pytest.mark.parametrize("app, name", _wsgi_apps())
def test_a_wsgi_app_given_to_the_asgi_middleware_is_refused_at_start_up(
        app: Any, name: str, middleware: str) -> None:
    """``readme_metrics.asgi.MetricsMiddleware(flask_app, config)`` served by uvicorn (a
    newcomer taking "ASGI" for the modern choice): uvicorn started, said "Application
    startup complete", and every request was a 500 with "TypeError: Flask.__call__()
    takes 3 positional arguments but 4 were given" (uvicorn 0.55, fresh venv). The
    mirror of the WSGI middleware's refusal of an ASGI app (newcomer's 270f1af)."""
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    cls = MetricsMiddleware if middleware == "asgi" else ReadMeMetricsMiddleware
    config = MetricsApiConfig(api_key="any-key", grouping_function=grouping)
    with pytest.raises(TypeError) as caught:
        cls(app, config)
    message = str(caught.value)
    assert message == (
        f"readme_metrics: {cls.__name__}(app, config): app is a WSGI app ({name}: it "
        f"takes (environ, start_response)), and this {cls.__name__} is the ASGI "
        "middleware: every request would fail with a TypeError. For Flask, "
        "ReadMeMetrics(config, app) (from readme_metrics.flask_readme import "
        "ReadMeMetrics); for any other WSGI app, readme_metrics.MetricsMiddleware(app, "
        "config), served by a WSGI server (gunicorn, waitress; to serve it with an ASGI "
        "server, wrap the app in an adapter first, such as asgiref's WsgiToAsgi)")


def test_asgi_apps_are_still_taken_by_the_asgi_middleware() -> None:
    """Every shape of ASGI 3 app: async def, an object with async __call__, a plain
    __call__ returning a coroutine, a partial, ``*args``, FastAPI, Starlette, and an app
    whose signature cannot be read."""
    import functools

    from fastapi import FastAPI
    from starlette.applications import Starlette

    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    class Async:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            pass  # pragma: no cover

    class Plain:
        def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
            return app(scope, receive, send)  # pragma: no cover

    async def routed(route: str, scope: Any, receive: Any, send: Any) -> None:
        pass  # pragma: no cover

    def anything(*args: Any) -> Any:
        return app(*args)  # pragma: no cover

    config = MetricsApiConfig(api_key="any-key", grouping_function=grouping)
    for asgi in (app, Async(), Plain(), functools.partial(routed, "/"), anything,
                 FastAPI(), Starlette(), max):
        MetricsMiddleware(asgi, config).close()


def _flask_app(name: str) -> Any:
    from flask import Flask

    app = Flask(name)
    app.add_url_rule("/", "hello", lambda: "hello")
    return app


def test_a_flask_extension_never_given_its_app_says_so_at_the_first_request(
        caplog: pytest.LogCaptureFixture) -> None:
    """README's Flask quick start with ``metrics.init_app(app)`` left out of
    ``create_app`` (or ``ReadMeMetrics(config)`` at module level and no app ever given):
    the app served, ``readme-metrics collect`` showed nothing, and nothing said why, even
    at DEBUG. The first request of a Flask app that the extension does not wrap now says
    so, once; the request itself is served as before."""
    from werkzeug.test import Client

    from readme_metrics.flask_readme import ReadMeMetrics

    logger = logging.getLogger("newcomer5-init-app")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    metrics = ReadMeMetrics(MetricsApiConfig(api_key="any-key", grouping_function=grouping,
                                             logger=logger))
    client = Client(_flask_app("myapp"))
    for _ in range(3):
        assert client.get("/").get_data() == b"hello"
    assert said_on(caplog, logger) == [
        "readme_metrics: the Flask app 'myapp' served a request, and a ReadMeMetrics made "
        "in this process was never given an app, so no request is logged: call "
        "metrics.init_app(app) where the app is made (in create_app), or make it as "
        "ReadMeMetrics(config, app)"]
    assert metrics.stats["captured"] == 0
    # README's Troubleshooting row quotes it (up to its "...")
    from tests.test_readme import troubleshooting_row

    row = troubleshooting_row('a warning "the Flask app')
    quoted = row.split('"')[1].rstrip(". ").replace("'app'", "'myapp'")
    assert said_on(caplog, logger)[0].startswith(f"readme_metrics: {quoted}"), row


@pytest.mark.parametrize("case", ["init_app", "later", "disabled", "another-extension"])
def test_a_flask_extension_given_its_app_says_nothing_of_it(
        caplog: pytest.LogCaptureFixture, case: str) -> None:
    from werkzeug.test import Client

    from readme_metrics.flask_readme import ReadMeMetrics

    logger = logging.getLogger(f"newcomer5-init-app-{case}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    # (a loopback metrics_api: no documentation URL lookup; grouping() logs no call)
    config = MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger,
                              metrics_api="http://127.0.0.1:9", enabled=case != "disabled")
    metrics = ReadMeMetrics(config)
    app = _flask_app("myapp")
    if case == "init_app":
        metrics.init_app(app)
    elif case == "another-extension":  # this one unused, the app wrapped by another
        ReadMeMetrics(config, app)
    client = Client(app)
    assert client.get("/").get_data() == b"hello"
    if case == "later":  # given an app after another app's request: said once, then no more
        metrics.init_app(app)
        assert client.get("/").get_data() == b"hello"
        assert len(said_on(caplog, logger)) == 1
        return
    assert said_on(caplog, logger) == []
    metrics.close()


# The library gives a log up after this many attempts while the API is taken for down
# (MAX_DOWN_ATTEMPTS, 120: some 9 s of 502s at the fixture's backoff); what it says
# then does not depend on the count.
GIVE_UP = 5
_PROXY_HINT = (
    "the POSTs went to the proxy that http_proxy, HTTP_PROXY or ALL_PROXY names, and a "
    "proxy cannot reach this machine's loopback address: start the app with "
    "NO_PROXY=127.0.0.1 set (keeping what it holds, comma-separated), then the POSTs go "
    "straight to metrics_api (README_METRICS_SERVER)")


@pytest.mark.parametrize("proxy, said", [
    pytest.param("http://user:pw@192.0.2.10:3128", True, id="another-host"),
    pytest.param("http://127.0.0.1:8080", False, id="on-this-machine"),  # mitmproxy's
    pytest.param("", False, id="none"),
])
def test_a_proxy_in_the_way_of_the_local_collector_is_said_at_start_up(
        collector: Collector, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, proxy: str, said: bool) -> None:
    """The app started from a shell with ``http_proxy`` set (a company machine) and
    README_METRICS_SERVER at ``readme-metrics collect``: the POSTs go to the proxy, which
    cannot reach this machine's 127.0.0.1. It was said only once 5 attempts had failed
    (about 20 s on), and not at all when the proxy answered (a 403 read "the API key is
    wrong or revoked", a 502 "after 5 attempts (HTTP 502 Bad Gateway)"). Now said when
    the middleware starts, the proxy never named (it may hold a password); not for a
    proxy on this machine (mitmproxy), which does reach it. Nothing is posted here: the
    proxy on another host is a documentation address (TEST-NET-1)."""
    from readme_metrics import MetricsMiddleware

    through_proxy(monkeypatch, proxy)
    logger = logging.getLogger(f"newcomer5-proxy-start-{proxy}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger,
                              metrics_api=collector.url)
    for _ in range(2):  # said once
        MetricsMiddleware(_hello_wsgi, config).close()
    expected = [f"readme_metrics: metrics_api (README_METRICS_SERVER) is {collector.url}, "
                f"on this machine, but requests sends to it through a proxy: {_PROXY_HINT}"]
    assert said_on(caplog, logger) == (expected if said else [])
    assert all("pw" not in line and "192.0.2.10" not in line for line in said_on(caplog, logger))


@pytest.mark.parametrize("status, needle", [
    pytest.param(403, "refused the POST of logs", id="403"),
    pytest.param(502, "could not deliver", id="502"),
    # The proxy's own 407: its error (odds11) ends with the same hint.
    pytest.param(407, "no log can be posted", id="407"),
])
def test_a_proxys_answer_for_the_local_collector_says_it_was_the_proxy(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, status: int,
        needle: str) -> None:
    """A proxy that answers (a company proxy's 403 or 502 for an address it will not or
    cannot reach, a 407 for its own credentials): the warning or error ends with the same
    hint as a proxy that cannot be reached at all (newcomer4), instead of blaming the API
    key or the Metrics API. The proxy here is a real one: a second collector, answering
    ``status`` to the POSTs requests sends it, standing for one on another host (the library
    is made to take it for one: on 127.0.0.1, mitmproxy's, it gets no such hint, odds10)."""
    proxy_taken_for_elsewhere(monkeypatch)
    proxy = Collector().start()
    try:
        proxy.default = Reply(status)
        through_proxy(monkeypatch, proxy.url)
        delivery = make_delivery(collector.url, buffer_length=1, max_down_attempts=GIVE_UP)
        delivery.submit(item("a"))
        level = logging.ERROR if status in (403, 407) else logging.WARNING
        # The log is counted dropped (under the lock) before the sender thread logs why:
        # waiting for the count alone read caplog too early now and then (the 403 case
        # under load, newcomer10). Wait for both, then expect exactly one such line.
        wait_until(lambda: delivery.stats["dropped"] == 1
                   and messages(caplog, level, needle) != [])
        assert len(proxy.failed) >= 1 and collector.received == []
        (said,) = messages(caplog, level, needle)
        assert said.rstrip(".").endswith(f"; {_PROXY_HINT}"), said
    finally:
        proxy.stop()


@pytest.mark.parametrize("name", ["apiKey", "APIKey", "api-key", "API_KEY", "apikey"])
def test_the_caller_key_under_another_sdks_name_says_the_name_meant(
        caplog: pytest.LogCaptureFixture, name: str) -> None:
    """``{"apiKey": ..., "label": ..., "email": ...}``, the Node SDK's spelling (and
    ReadMe's docs for it), returned from a grouping function: "returned no 'api_key'
    (its keys: apiKey, label; ...)" left the reader to spot the difference. It now
    names the key meant. Names only, never the value."""
    from readme_metrics.grouping import Identifier

    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    assert Identifier(lambda request: {name: "owlbert-secret", "label": "x"},
                      logging.getLogger("readme_metrics"))(object()) is None
    said = [r.getMessage() for r in caplog.records if "returned no 'api_key'" in r.getMessage()]
    assert said == [
        f"readme_metrics: the grouping function returned no 'api_key' (its keys: "
        f"{', '.join(sorted([name, 'label']))}; known: api_key, label, email); the request "
        f"is not logged (did you mean 'api_key' for {name!r}?)"], said
    assert not any("owlbert-secret" in r.getMessage() for r in caplog.records)


_APP_BESIDE_ITS_ENV = """
import logging
from readme_metrics import MetricsApiConfig

def grouping_function(request):
    return None

config = MetricsApiConfig(grouping_function=grouping_function)
print("metrics_api", config.metrics_api)
"""


@pytest.mark.parametrize("where", ["elsewhere", "beside"])
def test_a_dotenv_beside_the_app_run_from_elsewhere_is_said_not_read(
        tmp_path: Path, where: str) -> None:
    """README's WSGI quick start with collect's two lines in a ``.env`` beside app.py
    (where python-dotenv's ``load_dotenv()`` looks), the key exported in the shell, and
    the app run as ``python proj/app.py``: the ``.env`` of the working directory is the
    one read, so README_METRICS_SERVER kept its default and the logs went to ReadMe
    while the collector showed nothing, without a word (only a missing key's error
    named the directory looked in). The variables' names only, never their values."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(_APP_BESIDE_ITS_ENV)
    (project / ".env").write_text("README_METRICS_SERVER=http://127.0.0.1:8001\n"
                                  "README_API_URL=http://127.0.0.1:8001\nOTHER=1\n")
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("README_")}
    env.update(README_API_KEY="rdme_secretinthesehell123", PYTHONPATH=str(ROOT))
    cwd = tmp_path if where == "elsewhere" else project
    done = run_command([sys.executable, str(project / "app.py")], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if where == "beside":
        assert done.stdout == "metrics_api http://127.0.0.1:8001\n"
        assert done.stderr == ""
        return
    assert done.stdout == "metrics_api https://metrics.readme.io\n"
    assert done.stderr == (
        f"readme_metrics: {project / '.env'} sets README_API_URL, README_METRICS_SERVER, "
        "which are not read from it: the .env file read is the working directory's "
        f"({tmp_path}, which has none): run the app from {project}, or move the file to "
        "the working directory\n")
