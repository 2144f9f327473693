"""Findings of review23 (an adversarial read of this session's landings: newcomer5's
start-up checks, review22's server guess, odds8, cpu15w's Set-Cookie masking): each test
failed before its fix."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote, urlsplit

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.fake_api import Collector
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parent.parent


def _grouping(request: Any) -> None:
    return None


def _hello_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]
                ) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]

# -- 1. a .env beside the app whose values the app passes as arguments ------------------

_APP_PASSING_ITS_ENV = """\
import os
from dotenv import dotenv_values
from readme_metrics import MetricsApiConfig

values = dotenv_values(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"))

def grouping_function(request):
    return None

config = MetricsApiConfig(api_key=values["README_API_KEY"],
                          metrics_api=values["README_METRICS_SERVER"],
                          grouping_function=grouping_function)
print("metrics_api", config.metrics_api)
"""


def test_a_dotenv_beside_the_app_whose_values_are_passed_is_not_said_unread(
        tmp_path: Path) -> None:
    """An app that reads the .env beside its module itself (python-dotenv's
    dotenv_values, pydantic-settings' env_file) and passes the values as arguments: they
    are used, so 'which are not read from it ... move the file' was false, and moving
    the file would change nothing. Only a variable whose option is not given is said."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(_APP_PASSING_ITS_ENV)
    (project / ".env").write_text("README_API_KEY=rdme_review23secretkey123\n"
                                  "README_METRICS_SERVER=http://127.0.0.1:8001\n")
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("README_")}
    env["PYTHONPATH"] = str(ROOT)
    done = run_command([sys.executable, str(project / "app.py")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "metrics_api http://127.0.0.1:8001\n"
    assert done.stderr == ""
    # One the app does not pass is still said (README_ALLOWLIST here).
    (project / ".env").write_text("README_API_KEY=rdme_review23secretkey123\n"
                                  "README_METRICS_SERVER=http://127.0.0.1:8001\n"
                                  "README_ALLOWLIST=id\n")
    done = run_command([sys.executable, str(project / "app.py")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        f"readme_metrics: {project / '.env'} sets README_ALLOWLIST, which is not read")
    assert "rdme_review23secretkey123" not in done.stderr


# -- 2. a proxy on this machine named by its IPv6 loopback address ----------------------


@pytest.mark.parametrize("proxy", ["http://[::1]:8080", "http://user:pw@[::1]:8080",
                                   "http://127.0.0.1:8080", "http://localhost:8080"])
def test_a_proxy_on_this_machine_at_ipv6_loopback_is_not_said_in_the_way(
        collector: Collector, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """newcomer5's start-up warning leaves a proxy on this machine alone (mitmproxy,
    which does reach 127.0.0.1), but asked is_loopback_url of 'http://::1/' for a proxy
    at [::1] (its hostname put back without brackets): no host, so 'not on this machine',
    and the warning said falsely that a proxy cannot reach the loopback address."""
    from readme_metrics import MetricsMiddleware

    for name in ("http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    logger = logging.getLogger(f"review23-proxy-{proxy}")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger,
                              metrics_api=collector.url)
    middleware = MetricsMiddleware(_hello_wsgi, config)
    try:
        assert middleware.pipeline.delivery._sender.proxied  # the POSTs do go through it
    finally:
        middleware.close()
    assert [record.getMessage() for record in caplog.records
            if record.name == logger.name and record.levelno >= logging.WARNING] == []


# -- 3. an ASGI adapter of a WSGI app made with functools.wraps -------------------------


def _adapter_of(wsgi_app: Any) -> Any:
    """A hand-written ASGI adapter of a WSGI app, ``functools.wraps`` keeping its name and
    docs (as decorators do): a plain def with (scope, receive, send) returning the
    coroutine that serves the request (here a fixed answer, as the WSGI app gives)."""
    import functools

    @functools.wraps(wsgi_app)
    def app(scope: Any, receive: Any, send: Any) -> Any:
        async def serve() -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"hello"})
        return serve()

    return app


def test_an_asgi_adapter_wrapping_a_wsgi_app_with_functools_wraps_is_taken(
        collector: Collector) -> None:
    """newcomer5's refusal of a WSGI app read the signature inspect.signature gives,
    which follows ``__wrapped__``: an ASGI adapter made with ``functools.wraps(wsgi_app)``
    showed the WSGI app's (environ, start_response) and was refused at start-up, an app
    that works unable to start. Its own (scope, receive, send) decides; a ``*args``
    wrapper of a WSGI app is still refused (the wrapped signature then)."""
    import asyncio

    from readme_metrics.asgi import MetricsMiddleware
    from tests.support.asgi import http_scope, run

    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping,
                              metrics_api=collector.url)
    middleware = MetricsMiddleware(_adapter_of(_hello_wsgi), config)
    try:
        done = asyncio.run(run(middleware, http_scope(), then="disconnect"))
        assert done.body == b"hello"
    finally:
        middleware.close()

    def forwarding(wsgi_app: Any) -> Any:
        import functools

        @functools.wraps(wsgi_app)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return wsgi_app(*args, **kwargs)  # pragma: no cover

        return wrapper

    with pytest.raises(TypeError, match="app is a WSGI app"):
        MetricsMiddleware(forwarding(_hello_wsgi), config)


# -- 4. a key that is the path, its "/" percent-encoded in the url ----------------------


@pytest.mark.parametrize("server", ["werkzeug", "waitress"])
@pytest.mark.parametrize("sent", ["/users%2Fme", "/users%2fme", "/v1%2Fitems/42"])
def test_a_key_that_is_the_path_sent_with_an_encoded_slash_keeps_the_host(
        collector: Collector, inline_wrap: Any, server: str, sent: str) -> None:
    """odds8's key starting with '/' (``{"api_key": req.path}``) keeps the path's '/'
    before its mask where the url holds the key as is; the url as sent holds it with its
    inner '/' percent-encoded (``GET /users%2Fme``: the server decodes PATH_INFO to
    "/users/me", the key), and that spelling was masked '/' and all, the url reading
    ``http://127.0.0.1%3A<port>sha512-...``: another host."""
    import requests

    from readme_metrics.masking import mask
    from tests.support.wsgi_servers import served

    app = inline_wrap(_hello_wsgi, grouping_function=lambda req: {"api_key": req.path})
    with served(server, app) as port:
        target = f"http://127.0.0.1:{port}{sent}"
        assert requests.get(target, timeout=10).status_code == 200
    request = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]["request"]
    url = request["url"]
    key = unquote(sent)
    assert (urlsplit(url).hostname, urlsplit(url).port) == ("127.0.0.1", int(port)), url
    assert url == f"http://127.0.0.1:{port}/" + quote(mask(key), safe=""), url
