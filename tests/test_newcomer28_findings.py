"""newcomer28's first hour on main at 56083440 (2026-12-05): the three mistakes README's
Troubleshooting starts from, provoked as a newcomer makes them. Each test named
"warned", "says" or "hinted" failed there and passes with its fix.

1. An app behind nginx with ``trusted_proxies`` left at 0: every log named the proxy
   (127.0.0.1) as the caller, and nothing said so, at any log level. One warning now
   says it, and what to set (``README_TRUSTED_PROXIES``), without an address.
2. A wrong API key: the docs-URL lookup's warning, the first line the app printed, said
   "(the API key was refused)" and then "Set base_log_url (README_BASE_LOG_URL) to skip
   this lookup": following it silenced that warning and fixed nothing (the POSTs were
   refused for the same key). It now says the key is wrong and what to do.
3. A grouping function that raises KeyError (``request.headers["X-Api-Key"]`` on a call
   without the header, the most common one) was named by type and line only; it now says
   how such a function is written (``.get()``, ``None`` for such a call).
   A JSONDecodeError of an empty text (``await request.json()`` on a GET) now says the
   JSON was empty: a call without a body.
4. ``README_SKIP_METHODS=none`` (meant: skip none) warned of an unknown method without
   saying how every method is logged: it now names ``README_SKIP_METHODS=[]``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from readme_metrics._logging import QuietLogger
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.docs_url import DocsUrl
from readme_metrics.exchange import Exchange, Group
from readme_metrics.flask_readme import ReadMeMetrics
from readme_metrics.forwarded_hint import LOGS_LOOKED_AT, ForwardedHint
from tests.support.asgi import http_scope, run
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi_servers import served
from tests.test_docs_url import Records, make_config, records  # noqa: F401

HINT = "README_TRUSTED_PROXIES"
CLIENT = "198.51.100.7"  # the caller, as the proxy in front names it


def _grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key, "label": "Customer"} if key else None


def _flask_app(collector: Collector, **options: Any) -> tuple[Any, ReadMeMetrics]:
    flask = pytest.importorskip("flask")
    app = flask.Flask("newcomer28")

    @app.get("/")
    def hello() -> Any:
        return {"hello": "world"}

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", grouping_function=_grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1, **options), app)
    return app, metrics


def _hints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if HINT in r.getMessage()]


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


# -- 1. behind a proxy ------------------------------------------------------------------------


def test_a_flask_app_behind_a_proxy_with_trusted_proxies_0_is_warned(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    # nginx in front (proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for) sends
    # the app each call from 127.0.0.1 with the caller's address in the header.
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app, metrics = _flask_app(collector)
    with served("werkzeug", app) as port:
        for _ in range(3):
            answer = requests.get(f"http://127.0.0.1:{port}/", timeout=30, headers={
                "X-Api-Key": "owlbert-key", "X-Forwarded-For": CLIENT,
                "X-Forwarded-Proto": "https", "Host": "api.example.com"})
            assert answer.status_code == 200
        logs = collector.wait_for_logs(3)
    metrics.close()
    assert {log["clientIPAddress"] for log in logs} == {"127.0.0.1"}
    [hint] = _hints(caplog)  # once, not per call
    assert hint.levelno == logging.WARNING
    message = hint.getMessage()
    assert "trusted_proxies" in message and "1 for one nginx" in message, message
    assert "leave it at 0" in message, message  # a direct client's header is not trusted
    assert CLIENT not in _everything(caplog) and "127.0.0.1" not in message


def test_with_trusted_proxies_set_the_caller_is_logged_and_nothing_said(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app, metrics = _flask_app(collector, trusted_proxies=1)
    with served("werkzeug", app) as port:
        requests.get(f"http://127.0.0.1:{port}/", timeout=30, headers={
            "X-Api-Key": "owlbert-key", "X-Forwarded-For": CLIENT})
        [log] = collector.wait_for_logs(1)
    metrics.close()
    assert log["clientIPAddress"] == CLIENT
    assert _hints(caplog) == []


@pytest.mark.parametrize("forwarded_for", [None, "127.0.0.1", "not-an-address", ""],
                         ids=["no-header", "the-same-address", "no-address", "empty"])
def test_a_direct_call_or_a_header_naming_no_other_address_says_nothing(
        collector: Collector, caplog: pytest.LogCaptureFixture,
        forwarded_for: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app, metrics = _flask_app(collector)
    headers = {"X-Api-Key": "owlbert-key"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    with served("werkzeug", app) as port:
        requests.get(f"http://127.0.0.1:{port}/", timeout=30, headers=headers)
        collector.wait_for_logs(1)
    metrics.close()
    assert _hints(caplog) == []


def _asgi_app(collector: Collector) -> Any:
    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return AsgiMetricsMiddleware(hello, MetricsApiConfig(
        api_key="any-key", grouping_function=_grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))


@pytest.mark.parametrize(("client", "warned"), [
    ("10.0.0.5", True),   # a load balancer in the VPC; the server left the address as is
    (CLIENT, False),      # uvicorn's --proxy-headers (the default from 127.0.0.1) applied it
], ids=["warned-address-as-is", "applied-by-the-server"])
def test_an_asgi_app_is_warned_only_where_the_server_did_not_apply_the_header(
        collector: Collector, caplog: pytest.LogCaptureFixture, client: str,
        warned: bool) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = _asgi_app(collector)
    scope = http_scope(headers=[(b"x-api-key", b"owlbert-key"),
                                (b"x-forwarded-for", CLIENT.encode())])
    scope["client"] = (client, 50123)
    asyncio.run(run(app, scope))
    [log] = collector.wait_for_logs(1)
    app.close()
    assert log["clientIPAddress"] == client
    assert len(_hints(caplog)) == warned


def _exchange(client_ip: str, forwarded_for: str) -> Exchange:
    return Exchange("id", 0.0, "GET", "http://api.example.com/", "HTTP/1.1",
                    [("X-Forwarded-For", forwarded_for)], client_ip, Group("owlbert-key"))


@settings(max_examples=200, deadline=None)
@given(client_ip=st.one_of(st.just("10.1.2.3"), st.just("::1"), st.text(max_size=40)),
       forwarded_for=st.text(max_size=80))
def test_any_address_and_header_text_never_raises_nor_is_logged(
        client_ip: str, forwarded_for: str) -> None:
    said: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    logger = logging.getLogger("readme_metrics.test_newcomer28")
    logger.propagate = False
    handler = Handler()
    logger.addHandler(handler)
    try:
        hint = ForwardedHint(QuietLogger(logger))
        for _ in range(3):
            hint.look(_exchange(client_ip, forwarded_for), 0)
    finally:
        logger.removeHandler(handler)
    assert len(said) <= 1
    for message in said:
        assert (forwarded_for.strip() or "\x00") not in message.replace(HINT, "")


def test_only_the_first_logs_are_looked_at() -> None:
    hint = ForwardedHint(QuietLogger(logging.getLogger("readme_metrics")))
    for _ in range(LOGS_LOOKED_AT):
        assert hint.left > 0
        hint.look(_exchange("127.0.0.1", ""), 0)
    assert hint.left == 0


# -- 2. a wrong API key -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_at_the_docs_lookup_says_the_key_is_wrong(
        collector: Collector, records: Records, status: int) -> None:  # noqa: F811
    # `readme-metrics collect --api-key right-key` and an app started with another key:
    # this warning came first, and sent the user to base_log_url.
    collector.get_v1 = lambda received: Reply(status, b'{"error":"APIKEY_NOTFOUND"}')
    config = make_config(collector.url, records)
    DocsUrl(config).base()
    message = records.wait_for(1)[0].getMessage()
    assert f"answered HTTP {status} (the API key was refused)" in message, message
    # make_config passes the key: the argument is named (newcomer33)
    assert ("The api_key passed to MetricsApiConfig(api_key=...), not README_API_KEY, is "
            "wrong or revoked") in message, message
    assert "the logs, posted with the same key, are refused too" in message, message
    assert not message.endswith("Set base_log_url (README_BASE_LOG_URL) to skip this "
                                "lookup."), message
    assert "would only skip this lookup" in message, message
    assert config.api_key not in message


def test_another_refusal_of_the_lookup_still_offers_base_log_url(
        collector: Collector, records: Records) -> None:  # noqa: F811
    collector.get_v1 = lambda received: Reply(500, b"oops")
    DocsUrl(make_config(collector.url, records)).base()
    message = records.wait_for(1)[0].getMessage()
    assert message.endswith("Set base_log_url (README_BASE_LOG_URL) to skip this lookup.")
    assert "README_API_KEY" not in message


# -- 3. a grouping function that raises -------------------------------------------------------


def _subscripting(request: Any) -> Any:
    return {"api_key": request.headers["X-Api-Key"]}


def test_a_flask_grouping_function_subscripting_a_header_not_sent_says_what_to_do(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    flask = pytest.importorskip("flask")
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = flask.Flask("newcomer28")
    app.get("/")(lambda: {"hello": "world"})
    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", grouping_function=_subscripting, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1), app)
    with served("werkzeug", app) as port:
        # curl http://127.0.0.1:8000/ (no X-Api-Key), then a call with one
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        requests.get(f"http://127.0.0.1:{port}/", timeout=30,
                     headers={"X-Api-Key": "owlbert-key"})
        collector.wait_for_logs(1)
    metrics.close()
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "raised KeyError at " in error and "werkzeug" in error, error
    assert f"{__file__}:" in error and "in _subscripting" in error, error
    assert ("(a key the request does not have: a header or field this call did not send? "
            "read it with .get() and return None without it); the request is not "
            "logged") in error, error
    assert "X-Api-Key" not in error  # the key's name is the exception's message: withheld


def test_a_key_error_of_the_functions_own_mapping_gets_no_such_hint(
        caplog: pytest.LogCaptureFixture) -> None:
    from webob import Request

    from readme_metrics.grouping import Identifier

    customers: dict[str, str] = {}

    def own(request: Any) -> Any:
        return {"api_key": customers[request.headers.get("X-Api-Key", "")]}

    caplog.set_level(logging.WARNING, logger="readme_metrics")
    assert Identifier(own, logging.getLogger("readme_metrics"))(Request.blank("/")) is None
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "raised KeyError at " in error and ".get()" not in error, error


# -- 4. README_SKIP_METHODS=none --------------------------------------------------------------


@pytest.mark.parametrize("written", ["none", "None", "off", "-"])
def test_skip_methods_written_as_none_is_hinted_the_empty_list(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        written: str) -> None:
    monkeypatch.setenv("README_SKIP_METHODS", written)
    with caplog.at_level(logging.WARNING, "readme_metrics"):
        config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping)
    assert config.skip_methods == [written]  # kept: a custom method is legal HTTP
    [said] = [r.getMessage() for r in caplog.records if "README_SKIP_METHODS" in
              r.getMessage()]
    assert said.endswith("; to skip no method (log every one), give an empty list: "
                         "README_SKIP_METHODS=[] (skip_methods=[])"), said
    assert "list it too" not in said, said  # 'NONE' is not a method to add
    # and what it says to write works
    monkeypatch.setenv("README_SKIP_METHODS", "[]")
    assert MetricsApiConfig(api_key="any-key", grouping_function=_grouping).skip_methods == []


def test_a_custom_method_is_not_hinted_the_empty_list(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("README_SKIP_METHODS", "OPTIONS,none-such")
    with caplog.at_level(logging.WARNING, "readme_metrics"):
        MetricsApiConfig(api_key="any-key", grouping_function=_grouping)
    assert "skip_methods=[]" not in caplog.text


def _reads_json(request: Any) -> Any:
    return {"api_key": request.headers.get("X-Api-Key"), "label": request.json["user"]}


EMPTY_JSON = ("(the JSON it parsed was empty: a call without a body, a GET? read the caller "
              "from a header, or return None for such a call); the request is not logged")


@pytest.mark.parametrize(("body", "hinted"), [(None, True), (b"user=ada", False)],
                         ids=["a-get-without-body", "a-body-that-is-no-json"])
def test_a_grouping_function_parsing_the_json_of_a_call_without_body_says_so(
        collector: Collector, caplog: pytest.LogCaptureFixture, body: Any,
        hinted: bool) -> None:
    from readme_metrics import MetricsMiddleware

    def hello(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = MetricsMiddleware(hello, MetricsApiConfig(
        api_key="any-key", grouping_function=_reads_json, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    with served("werkzeug", app) as port:
        answer = requests.request("GET" if body is None else "POST",
                                  f"http://127.0.0.1:{port}/", data=body, timeout=30,
                                  headers={"X-Api-Key": "owlbert-key"})
        assert answer.status_code == 200
    app.close()
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "raised JSONDecodeError at " in error and "in _reads_json" in error, error
    assert (EMPTY_JSON in error) == hinted, error
    assert "ada" not in error


def test_an_async_starlette_grouping_function_awaiting_json_on_a_get_says_so(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from readme_metrics.starlette import ReadMeMetricsMiddleware

    async def grouping(request: Any) -> Any:
        body = await request.json()
        return {"api_key": request.headers.get("x-api-key"), "label": body["user"]}

    async def hello(request: Any) -> Any:
        return JSONResponse({"hello": "world"})

    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key="any-key", grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    done = asyncio.run(run(app, http_scope(headers=[(b"x-api-key", b"owlbert-key")]),
                           then="disconnect"))
    assert done.start["status"] == 200
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "raised JSONDecodeError at " in error and "in grouping" in error, error
    assert EMPTY_JSON in error, error
