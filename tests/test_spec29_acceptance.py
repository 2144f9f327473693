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
