"""spec29's acceptance audit of SPEC 2, 4, 5, 8 and 9, through the public API only.

Written as an outside suite would: the real middleware (WSGI and ASGI) under real servers
(wsgiref, werkzeug's, waitress, uvicorn) or called as PEP 3333 says, posting over TCP to
the real collector on 127.0.0.1 (tests/support/fake_api.py); expected values from the
SPEC's words. Only what the earlier audits (tests/test_spec19..28*, test_acceptance_*)
left unchecked is here: the spec29 report maps every SPEC line to its test.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, inline_options
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi_servers import served

StartResponse = Callable[..., Any]


def plain_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def send_raw(port: int, request: bytes) -> None:
    """``request`` as is to 127.0.0.1:``port``; what comes back is read and left."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        try:
            conn.recv(65536)
        except OSError:  # a server that closes without answering: nothing to read
            pass


def logged_url(collector: Collector, before: int) -> str:
    """The url of the one log posted after the first ``before`` logs, checked as HAR."""
    logs = collector.wait_for_logs(before + 1)
    log = logs[before]
    assert_valid_log(log)
    url: str = log["request"]["log"]["entries"][0]["request"]["url"]
    return url


# ------------------------------------------------- SPEC 4: the url, for every request form

# RFC 9112 3.2: a request target is origin-form ("/p?q"), absolute-form ("http://h/p?q",
# which a server must accept), authority-form (CONNECT's "host:port") or asterisk-form.
# SPEC 4: url is scheme://host[:port]/path?query exactly as received: the absolute form's
# path and query, and CONNECT's authority with no path (there is none).
TARGETS = [
    (b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n"
     b"Connection: close\r\n\r\n", "http://api.example:443"),
    (b"GET http://api.example/p?q=1 HTTP/1.1\r\nHost: api.example\r\n"
     b"Connection: close\r\n\r\n", "http://api.example/p?q=1"),
    (b"GET /p?q=%41+b HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n",
     "http://api.example/p?q=%41+b"),
]


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "waitress"])
def test_the_url_of_every_request_target_form_under_wsgi_servers(
        collector: Collector, server: str) -> None:
    from readme_metrics import MetricsMiddleware

    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"skip_methods": []})))
    try:
        with served(server, middleware) as port:
            for count, (request, url) in enumerate(TARGETS):
                send_raw(port, request)
                assert logged_url(collector, count) == url, request
    finally:
        middleware.close()


@pytest.fixture
def uvicorn_h11() -> Iterator[Callable[[Any], int]]:
    """``serve(app)``: ``app`` under uvicorn's h11 protocol (which passes CONNECT and
    absolute-form targets on whole) on a free port of 127.0.0.1; the port."""
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("h11")
    servers: list[Any] = []
    threads: list[threading.Thread] = []

    def serve(app: Any) -> int:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, http="h11",
                                               lifespan="off", log_level="critical"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append(server)
        threads.append(thread)
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        return port

    yield serve
    for server in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(10)


def test_the_url_of_every_request_target_form_under_uvicorn(
        collector: Collector, uvicorn_h11: Callable[[Any], int]) -> None:
    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"skip_methods": []})))
    try:
        port = uvicorn_h11(middleware)
        for count, (request, url) in enumerate(TARGETS):
            send_raw(port, request)
            assert logged_url(collector, count) == url, request
    finally:
        middleware.close()


def test_readme_metrics_collect_accepts_the_log_of_every_request_target_form(
        local: Any) -> None:
    """SPEC 9: ``collect`` validates each log against the contract, as the Metrics API
    would: the logs of CONNECT and of an absolute-form target are taken (202)."""
    from readme_metrics import MetricsMiddleware

    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=local.url, **inline_options({"skip_methods": []})))
    try:
        with served("waitress", middleware) as port:
            for request, _url in TARGETS:
                send_raw(port, request)
            deadline = time.monotonic() + 10
            while middleware.stats["captured"] < len(TARGETS):
                assert time.monotonic() < deadline, middleware.stats
                time.sleep(0.02)
        assert middleware.flush(10) is True
        stats = middleware.stats
        assert (stats["sent"], stats["dropped"], stats["failed_batches"]) == (3, 0, 0)
    finally:
        middleware.close()


# ------------------------------ SPEC 7: x-documentation-url from the looked-up baseUrl

# SPEC 7: base_log_url "must be an http(s) URL (else ValueError)"; one looked up from
# GET {readme_api_url}/v1 goes into the same header, so one that base_log_url could not
# be must not either: a line break would split the header (the rest sent as headers of
# the app's response, or the server's 500 instead of it), a query or fragment would
# swallow the "/logs/{_id}" appended after it.
BAD_BASES = [
    ("crlf", "https://docs.example.com/x\r\nSet-Cookie: injected=1\r\nX-Injected: b"),
    ("fragment", "https://docs.example.com/sub/?a=1#f"),
]


def _lookup_failed(records: list[Any]) -> bool:
    return any("could not look up the documentation URL" in record.getMessage()
               for record in records)


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "waitress"])
@pytest.mark.parametrize("case,base", BAD_BASES, ids=[case for case, _ in BAD_BASES])
def test_a_looked_up_base_url_that_is_no_base_url_adds_no_header(
        collector: Collector, caplog: pytest.LogCaptureFixture, server: str, case: str,
        base: str) -> None:
    import json

    from readme_metrics import MetricsMiddleware
    from tests.support.fake_api import Reply
    from tests.support.raw_requests import answer_to

    body = json.dumps({"baseUrl": base}).encode()
    collector.get_v1 = lambda received: Reply(
        status=200, body=body, headers={"Content-Type": "application/json"})
    # The lookup's answer is cached per API key for the process: a key of this case's.
    config = MetricsApiConfig(api_key=f"rdme_spec29_lookup_{case}_{server}_key_0001",
                              metrics_api=collector.url, readme_api_url=collector.url,
                              **inline_options({"base_log_url": None}))
    middleware = MetricsMiddleware(plain_app, config)
    request = b"GET /p HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n"
    try:
        with served(server, plain_app) as port:
            bare = answer_to(port, request)
        with caplog.at_level("WARNING", logger="readme_metrics"), \
                served(server, middleware) as port:
            first = answer_to(port, request)  # starts the lookup, off the request path
            deadline = time.monotonic() + 10
            while not _lookup_failed(caplog.records):
                # Taken, the base would be cached by now and answered from here on.
                assert time.monotonic() < deadline, answer_to(port, request)
                time.sleep(0.02)
            after = answer_to(port, request)
    finally:
        middleware.close()

    def head(answer: bytes) -> tuple[bytes, set[bytes]]:
        """The status line and header names of an answer (Date and the like vary)."""
        lines = answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        return lines[0], {line.split(b":", 1)[0].lower() for line in lines[1:]}

    assert head(first) == head(bare)
    assert head(after) == head(bare), after
    assert after.endswith(b"\r\n\r\nok")


# ------------------------------------- SPEC 2: each variable's bad values and their error

# SPEC 2: "Invalid values ... raise ValueError at construction naming the option and the
# variable". tests/test_acceptance_config.py checks one bad number per numeric variable;
# these are the rest: the list, host, method and path variables, the bounds (0 where a
# count must be >= 1, 0 s for the timeout) and the floats no setting can mean (nan, inf).
BAD_VARIABLES = [
    ("denylist", "README_DENYLIST", '["password","token"]'),
    ("allowlist", "README_ALLOWLIST", '["id"]'),
    ("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "http://api.example"),
    ("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "*.example.com"),
    ("skip_methods", "README_SKIP_METHODS", "GET POST"),
    ("grouping_function", "README_GROUPING_FUNCTION", "no_such_module_spec29.group"),
    ("grouping_function", "README_GROUPING_FUNCTION", "os.path"),
    ("buffer_length", "README_BUFFER_LENGTH", "0"),
    ("buffer_length", "README_BUFFER_LENGTH", "10.0"),
    ("max_queue_size", "README_MAX_QUEUE_SIZE", "0"),
    ("max_queue_bytes", "README_MAX_QUEUE_BYTES", "0"),
    ("timeout", "README_TIMEOUT", "0"),
    ("timeout", "README_TIMEOUT", "inf"),
    ("flush_interval", "README_FLUSH_INTERVAL", "nan"),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "inf"),
    ("trusted_proxies", "README_TRUSTED_PROXIES", "true"),
    ("max_body_bytes", "README_MAX_BODY_BYTES", "256k"),
    ("metrics_api", "README_METRICS_SERVER", "https://metrics.example com"),
]


@pytest.mark.parametrize("name,variable,text", BAD_VARIABLES)
def test_a_bad_value_in_a_variable_is_a_value_error_naming_option_and_variable(
        monkeypatch: pytest.MonkeyPatch, name: str, variable: str, text: str) -> None:
    monkeypatch.setenv(variable, text)
    options: dict[str, Any] = {"api_key": API_KEY, "grouping_function": lambda req: None}
    options.pop(name, None)
    with pytest.raises(ValueError) as refused:
        MetricsApiConfig(**options)
    said = str(refused.value)
    assert f"{name} ({variable})" in said
    assert "from the environment" in said
    assert API_KEY not in said


# What each variable's text becomes (SPEC 2: lists comma-separated; README's table).
PARSED_VARIABLES = [
    ("denylist", "README_DENYLIST", " password , token ,", ["password", "token"]),
    ("allowlist", "README_ALLOWLIST", "id,user.name", ["id", "user.name"]),
    ("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "API.example.com, b.example:8080",
     ["api.example.com", "b.example:8080"]),
    ("skip_methods", "README_SKIP_METHODS", "head, options", ["HEAD", "OPTIONS"]),
    ("development_mode", "README_DEVELOPMENT_MODE", "1", True),
    ("development_mode", "README_DEVELOPMENT_MODE", "yes", True),
    ("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "0", False),
    ("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "off", False),
    ("buffer_length", "README_BUFFER_LENGTH", " 7 ", 7),
    ("flush_interval", "README_FLUSH_INTERVAL", "0", 0.0),
    ("timeout", "README_TIMEOUT", "0.25", 0.25),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "0", 0.0),
    ("max_body_bytes", "README_MAX_BODY_BYTES", "0", 0),
    ("metrics_api", "README_METRICS_SERVER", "http://127.0.0.1:9/", "http://127.0.0.1:9"),
    ("base_log_url", "README_BASE_LOG_URL", "https://docs.example.com/",
     "https://docs.example.com"),
]


@pytest.mark.parametrize("name,variable,text,value", PARSED_VARIABLES)
def test_each_variable_is_parsed_as_the_table_says(monkeypatch: pytest.MonkeyPatch,
                                                   name: str, variable: str, text: str,
                                                   value: Any) -> None:
    monkeypatch.setenv(variable, text)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None)
    assert getattr(config, name) == value


def test_the_defaults_are_the_tables() -> None:
    import logging

    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None)
    assert {name: getattr(config, name) for name in (
        "buffer_length", "flush_interval", "development_mode", "background_worker_mode",
        "denylist", "allowlist", "allowed_http_hosts", "timeout", "base_log_url",
        "metrics_api", "readme_api_url", "max_body_bytes", "max_queue_size",
        "max_queue_bytes", "trusted_proxies", "skip_methods", "shutdown_timeout")} == {
        "buffer_length": 10, "flush_interval": 5.0, "development_mode": False,
        "background_worker_mode": True, "denylist": [], "allowlist": [],
        "allowed_http_hosts": [], "timeout": 3, "base_log_url": None,
        "metrics_api": "https://metrics.readme.io",
        "readme_api_url": "https://dash.readme.com/api", "max_body_bytes": 262144,
        "max_queue_size": 10000, "max_queue_bytes": 67108864, "trusted_proxies": 0,
        "skip_methods": ["OPTIONS"], "shutdown_timeout": 5}
    library = logging.getLogger("readme_metrics")
    assert config.logger is library
    assert library.handlers == []


def test_deprecated_aliases_warn_where_they_are_given_positionally_too() -> None:
    """SPEC 2: blacklist and whitelist are deprecated aliases that emit DeprecationWarning;
    the official package's positional order (api_key, grouping_function, base_log_url,
    buffer_length, development_mode, background_worker_mode, allowlist, denylist,
    blacklist, whitelist, ...) still reaches them, and they add to the new names."""
    import warnings

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        config = MetricsApiConfig(API_KEY, lambda req: None, None, None, None, None,
                                  ["id"], ["password"], ["token"], ["name"])
    deprecations = [w for w in said if issubclass(w.category, DeprecationWarning)]
    assert sorted(str(w.message) for w in deprecations) == [
        "readme_metrics: blacklist is deprecated, use denylist",
        "readme_metrics: whitelist is deprecated, use allowlist"]
    assert {w.filename for w in deprecations} == {__file__}  # the caller's line
    assert sorted(config.denylist) == ["password", "token"]
    assert sorted(config.allowlist) == ["id", "name"]


# --------------------------------------- SPEC 2: flush(timeout) -> bool, close(), stats

SPEC_COUNTERS = {"captured", "skipped", "queued", "sent", "dropped", "failed_batches",
                 "retries"}


def get(middleware: Any, path: str = "/", method: str = "GET") -> Any:
    from tests.support.wsgi import run_wsgi, wsgi_environ

    return run_wsgi(middleware, wsgi_environ(method=method, path=path))


def test_flush_answers_whether_all_was_delivered_within_its_timeout(
        collector: Collector) -> None:
    from readme_metrics import MetricsMiddleware
    from tests.support.contract import caller
    from tests.support.fake_api import Reply

    gate = threading.Event()
    collector.replies.append(Reply(gate=gate))  # the first POST waits for the gate
    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        flush_interval=0, buffer_length=100, shutdown_timeout=5))
    try:
        assert middleware.flush() is True  # nothing queued: all of it delivered
        get(middleware)
        assert middleware.stats["queued"] == 1
        assert middleware.flush(0.2) is False  # the API has not answered
        gate.set()
        assert middleware.flush(10) is True
        assert middleware.flush(0) is True  # nothing left
        stats = middleware.stats
        assert set(stats) >= SPEC_COUNTERS
        assert all(type(stats[name]) is int for name in SPEC_COUNTERS)
        assert (stats["captured"], stats["sent"], stats["queued"]) == (1, 1, 0)
    finally:
        gate.set()
        middleware.close()


@pytest.mark.parametrize("timeout", ["1", b"1", True, [1]])
def test_flush_given_no_number_says_what_it_takes(collector: Collector, timeout: Any) -> None:
    # flush("1") raised "unsupported operand type(s) for -: 'str' and 'float'" from
    # inside the pipeline (spec29's note). Fractions and numpy-like floats still count.
    from fractions import Fraction

    from readme_metrics import MetricsMiddleware

    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=lambda req: None, metrics_api=collector.url))
    try:
        with pytest.raises(TypeError, match=r"flush\(timeout\): timeout is a number of "
                                             r"seconds or None, not "):
            middleware.flush(timeout)
        assert middleware.flush(Fraction(1, 2)) is True
    finally:
        middleware.close()


def test_close_is_idempotent_and_the_app_still_answers_after_it(
        collector: Collector) -> None:
    from readme_metrics import MetricsMiddleware
    from tests.support.contract import caller

    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        flush_interval=0, buffer_length=100))
    get(middleware)
    get(middleware, method="OPTIONS")  # skipped by default
    middleware.close()  # sends what was queued
    closed = middleware.stats
    assert (closed["sent"], closed["skipped"], closed["queued"]) == (1, 1, 0)
    middleware.close()
    assert middleware.stats == closed
    result = get(middleware)
    assert (result.status, result.body) == ("200 OK", b"ok")
    middleware.close()
    stats = middleware.stats
    assert stats["captured"] == (stats["sent"] + stats["dropped"] + stats["queued"]
                                 + stats["skipped"])
    assert len(collector.logs) == 1


# ------------------------------------- SPEC 4 and 5: a valid HAR entry for every method

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
           "PROPFIND"]
WITH_BODY = {"POST", "PUT", "PATCH", "DELETE", "PROPFIND"}


def reading_echo(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [b'{"got": %d}' % len(body)]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_one_valid_entry_with_the_har_fields(
        inline_wrap: Any, collector: Collector, method: str) -> None:
    """SPEC 4 lists the fields of the entry, request and response; SPEC 5: skip_methods=[]
    logs every method. Each entry passes the HAR 1.2 schema (assert_valid_log) and has
    them; postData only for a body; the body the app read is the one sent."""
    from tests.support.contract import exchange

    body = b'{"name": "owl"}' if method in WITH_BODY else b""
    result, log, entry = exchange(
        inline_wrap(reading_echo, skip_methods=[]), collector, method=method, path="/items",
        query="a=1", body=body, headers={"Content-Type": "application/json"} if body else {})
    assert result.status == "200 OK"
    assert set(entry) >= {"pageref", "startedDateTime", "time", "request", "response",
                          "cache", "timings"}
    request, response = entry["request"], entry["response"]
    assert request["method"] == method
    assert request["url"].endswith("/items?a=1")
    assert request["headersSize"] == -1
    assert request["bodySize"] == len(body)
    if body:
        assert request["postData"] == {"mimeType": "application/json",
                                       "text": '{"name": "owl"}'}
    else:
        assert "postData" not in request
    sent = b"" if method == "HEAD" else b'{"got": %d}' % len(body)
    assert response["content"]["size"] == len(sent) == response["bodySize"]
    assert response["content"]["text"] == sent.decode()
    assert response["headersSize"] == -1 and response["redirectURL"] == ""
    assert log["group"]["id"].startswith("sha512-")


def test_options_is_skipped_by_default_with_no_documentation_url(
        inline_wrap: Any, collector: Collector) -> None:
    from tests.support.contract import documentation_url, hit

    middleware = inline_wrap(reading_echo)
    skipped = hit(middleware, method="OPTIONS")
    logged = hit(middleware, method="GET")
    assert middleware.flush(5) is True
    assert documentation_url(skipped) is None
    assert documentation_url(logged) is not None
    assert [log["request"]["log"]["entries"][0]["request"]["method"]
            for log in collector.logs] == ["GET"]
    assert middleware.stats["skipped"] == 1


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_one_valid_entry_under_the_asgi_middleware(
        collector: Collector, method: str) -> None:
    import asyncio

    from readme_metrics.asgi import MetricsMiddleware
    from tests.support.asgi import body_messages, http_scope, read_body, run

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        got = await read_body(receive)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"got": %d}' % len(got)})

    body = b'{"name": "owl"}' if method in WITH_BODY else b""
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())] if body else []
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({"skip_methods": []})))
    try:
        done = asyncio.run(run(middleware, http_scope(method, "/items", b"a=1", headers),
                               body_messages(body), then="disconnect"))
        assert done.error is None and done.start["status"] == 200
        assert middleware.flush(5) is True
        (log,) = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert_valid_log(log)
    request = log["request"]["log"]["entries"][0]["request"]
    response = log["request"]["log"]["entries"][0]["response"]
    assert (request["method"], request["url"]) == (method, "http://api.example.com/items?a=1")
    assert request["bodySize"] == len(body)
    assert ("postData" in request) == bool(body)
    # HEAD: the server sends no body (RFC 9110), whatever the app gives it.
    sent = b"" if method == "HEAD" else b'{"got": %d}' % len(body)
    assert response["content"]["size"] == len(sent) == response["bodySize"]


def test_a_request_with_no_host_and_no_server_name_still_gives_a_url(local: Any) -> None:
    """SPEC 4: the url is scheme://host[:port]/path. A request without Host (HTTP/1.0)
    takes the server's name; an environ whose SERVER_NAME is empty (a hand-made one:
    PEP 3333 wants it set) gave "http:///", no URL, and the Metrics API (here ``collect``,
    validating as it does) refused the whole batch it was in, the good logs with it."""
    from readme_metrics import MetricsMiddleware
    from tests.support.contract import caller
    from tests.support.wsgi import run_wsgi, wsgi_environ

    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=local.url,
        flush_interval=0, buffer_length=100))
    try:
        for _ in range(3):
            run_wsgi(middleware, wsgi_environ())
        nameless = wsgi_environ(path="/nameless")
        del nameless["HTTP_HOST"]
        nameless.update(SERVER_NAME="", SERVER_PORT="", SERVER_PROTOCOL="HTTP/1.0")
        run_wsgi(middleware, nameless)
        assert middleware.flush(10) is True
        stats = middleware.stats
        assert (stats["sent"], stats["dropped"]) == (4, 0)
    finally:
        middleware.close()
