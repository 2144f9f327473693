"""Findings of a review of the session's changes (2026-12-02), each failing on the code
before its fix: the grouping function's warnings under ASGI went through the app's raw
logger (a raising filter or handler dropped the request's log); the uWSGI read-ahead
leaked a descriptor when socketpair() was refused; the docs-URL lookup followed a
redirect to another port of its host with the key; a body cut inside the caller's key
kept its first characters in a form field, a base64 body or an escaped JSON spelling."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.test_logging_raising import _serve_with_grouping, raising_logger  # noqa: F401


def test_asgi_async_grouping_returning_unknown_keys_through_a_raising_logger(
        collector: Collector, raising_logger: logging.Logger) -> None:  # noqa: F811
    async def grouping(request: Any) -> dict[str, str]:
        return {"api_key": "k-123456789", "extra": "x"}  # unknown key: one warning

    eye, middleware = _serve_with_grouping(collector, raising_logger, grouping)
    assert eye.raised == []
    # Unknown keys are only warned about (SPEC 6): both requests are logged all the same,
    # whatever the app's logging configuration does with the warning.
    assert len(collector.logs) == 2, middleware.stats


def test_wsgi_grouping_returning_unknown_keys_through_a_raising_logger(
        collector: Collector, raising_logger: logging.Logger) -> None:  # noqa: F811
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from tests.support.contract import API_KEY, DOCS
    from tests.test_logging_raising import app

    def grouping(request: Any) -> dict[str, str]:
        return {"api_key": "k-123456789", "extra": "x"}

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, logger=raising_logger,
        grouping_function=grouping, base_log_url=DOCS))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/a", "SERVER_NAME": "h",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "HTTP_HOST": "h",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": __import__("io").BytesIO()}
    for _ in range(2):
        result = middleware(dict(environ), lambda *a: None)
        b"".join(result)
        getattr(result, "close", lambda: None)()
    middleware.close()
    assert len(collector.logs) == 2, middleware.stats


def test_asgi_sync_grouping_returning_a_non_mapping_through_a_raising_logger(
        collector: Collector, raising_logger: logging.Logger) -> None:  # noqa: F811
    def grouping(request: Any) -> Any:
        return ["not", "a", "mapping"]

    eye, middleware = _serve_with_grouping(collector, raising_logger, grouping)
    assert eye.raised == []


def test_uwsgi_read_ahead_leaks_no_descriptor_when_socketpair_fails(monkeypatch: Any) -> None:
    """rest_uwsgi._read_ahead dups uWSGI's descriptor before socketpair(), outside the
    try: a socketpair() refused (EMFILE: the moment descriptors are scarce) leaks the dup
    on every request that reads ahead."""
    import errno
    import os
    import socket

    from readme_metrics.capture import rest_uwsgi

    client, server = socket.socketpair()

    class Base:
        def fileno(self) -> int:
            return server.fileno()

    class Stream:
        def read(self, size: int) -> bytes:
            return b""

    def refused() -> Any:
        raise OSError(errno.EMFILE, "Too many open files")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(socket, "socketpair", refused)
    for _ in range(5):
        try:
            rest_uwsgi.read_uwsgi(Stream(), Base(), 10, 0.0, lossless=True)
        except OSError:
            pass  # record_rest catches it
    after = len(os.listdir("/proc/self/fd"))
    client.close()
    server.close()
    assert after == before




@pytest.mark.parametrize("kind", ["form", "base64", "json-escaped"])
def test_a_body_cut_inside_the_key_in_other_shapes(kind: str) -> None:
    """CallerKey.cut (har/credentials.py) masks a key cut at max_body_bytes only in a
    text postData/content: a form body (params), a binary body (base64) or a key spelled
    with an escape still sends the key's first characters in clear."""
    import base64
    import json

    from tests.support.exchanges import make_exchange
    from tests.test_har_credentials import KEY, entry, sent

    if kind == "form":
        body = b"pad=" + b"x" * 40 + b"&k=" + KEY.encode() + b"&z=1"
        ctype = "application/x-www-form-urlencoded"
        cut = body.index(KEY.encode()) + 9
    elif kind == "base64":
        body = b"\x00\xff" * 20 + KEY.encode() + b"\x00\xff"
        ctype = "application/octet-stream"
        cut = body.index(KEY.encode()) + 9
    else:
        body = json.dumps({"pad": "x" * 40, "k": KEY.replace("-", "\\u002d", 1)}
                          ).replace("\\\\", "\\").encode()
        ctype = "application/json"
        cut = body.index(b"\\u002d") + 10
    exchange = make_exchange(method="POST", request_headers=[("Content-Type", ctype)],
                             request_body=body, request_body_size=len(body))
    log, text = sent(exchange, max_body_bytes=cut)
    post = entry(log)["request"]["postData"]
    shown = json.dumps(post)
    if kind == "base64":
        shown = base64.b64decode(post["text"]).decode("latin-1")
    assert KEY[:7] not in shown, post


def test_docs_lookup_sends_the_key_to_another_port_of_its_host() -> None:
    """docs_url._redirect_refused compares host names only: a redirect from the API at
    http://127.0.0.1:<a> to http://127.0.0.1:<b> (another service, another origin) is
    followed with the API key. requests itself strips auth on a port change."""
    from readme_metrics.docs_url import DocsUrl
    from tests.support.fake_api import Collector as C
    from tests.support.fake_api import Reply, basic_auth
    from tests.test_docs_url import make_config

    api, other = C().start(), C().start()
    try:
        other.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://docs.example.com/"}')
        api.get_v1 = lambda received: Reply(
            302, headers={"Location": f"http://127.0.0.1:{other.port}/v1"})
        config = make_config(api.url)
        docs = DocsUrl(config)
        docs.base()
        # The lookup asked the API, then ended (no base: the redirect is refused); it
        # waited 10 s for a base that never comes (wait_for_base's bound).
        wait_until(lambda: api.gets and not any(
            thread.name == "readme-metrics-docs-url" for thread in threading.enumerate()))
        sent = [g.headers.get("Authorization") for g in other.gets]
    finally:
        api.stop()
        other.stop()
    assert basic_auth(config.api_key) not in sent
