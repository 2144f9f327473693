"""odds13's items (review28's leftovers): each test failed on main at b2bfeb3 and passes
with its fix, under real parts (the collector on 127.0.0.1, the public middleware, the
real `readme-metrics collect` server on a socket)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli.collector import LocalCollector
from tests.support.contract import API_KEY, caller, exchange, json_app
from tests.support.fake_api import Collector
from tests.support.leaks import found
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. a form declared UTF-16/32: its "password" went out in clear, NUL-spaced ---------

SECRET = "odds13-form-secret"
FIELDS = f"user=ann&password={SECRET}&city=caf%C3%A9"


def _django_form_app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    """A view reading the form as Django does: QueryDict in the declared charset."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django.http import QueryDict

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        charset = environ["CONTENT_TYPE"].partition("charset=")[2]
        seen["form"] = QueryDict(body, encoding=charset)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


@pytest.mark.parametrize("charset", ["utf-16", "UTF-16LE", "utf-16be", "utf-32", "utf-32le"])
def test_a_form_in_utf16_or_utf32_is_redacted_by_its_declared_charset(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        charset: str) -> None:
    """``charset=utf-16`` on a form: Django reads the fields in it (a "password" field),
    the log read the bytes as UTF-8, each name NUL-spaced, which no list names: the
    password went out in clear. Read in the declared charset now, as params."""
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_django_form_app(seen), denylist=["password"])
    body = FIELDS.encode(charset)
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})
    assert seen["form"]["password"] == SECRET  # the app's read of it
    assert entry["request"]["postData"]["params"] == [
        {"name": "user", "value": "ann"},
        {"name": "password", "value": f"[REDACTED {len(SECRET)}]"},
        {"name": "city", "value": "caf\u00e9"},
    ]
    bodies = [batch.body for batch in collector.received]
    assert not found(bodies, SECRET)
    assert not any(SECRET.encode(codec) in data for data in bodies
                   for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def test_a_utf16_form_cut_short_by_max_body_bytes_is_still_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """A UTF-16 form truncated at an odd byte still reads in UTF-16 (U+FFFD for the
    half character), never falls back to NUL-spaced names."""
    body = f"password={SECRET}&user=ann".encode("utf-16-le")
    middleware = inline_wrap(_django_form_app({}), denylist=["password"],
                             max_body_bytes=2 * len(f"password={SECRET}") - 1)
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-16le"})
    params = entry["request"]["postData"]["params"]
    assert params[0]["name"] == "password"
    assert params[0]["value"].startswith("[REDACTED ")
    assert not found([batch.body for batch in collector.received], SECRET[:-1])


def test_a_form_declared_utf16_spelling_a_denied_name_in_ascii_is_redacted_whole(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """ASCII bytes with a NUL, declared UTF-16: read in UTF-16 the names are CJK no list
    names, while werkzeug and Starlette read the bytes as they are, a "password" field.
    Redacted whole (neither reading may leak)."""
    body = f"password={SECRET}&x=\x00".encode("ascii")
    middleware = inline_wrap(_django_form_app({}), denylist=["password"])
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-16"})
    assert entry["request"]["postData"]["text"] == "[REDACTED]"
    assert not found([batch.body for batch in collector.received], SECRET)
    assert not any(SECRET.encode("ascii").decode("utf-16-le", "replace") in s
                   for s in [batch.body.decode("utf-8") for batch in collector.received])


# -- 2. collect: a slow client (slowloris) held a handler thread forever -----------------

IDLE = 0.4  # the collector's idle and head timeouts in these tests (30 s and 60 s served)
HEAD = 1.0


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalCollector]:
    """``readme-metrics collect`` in-process, silent, with short time limits."""
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "c.har")
    running.server.idle_timeout = IDLE
    running.server.head_timeout = HEAD
    try:
        yield running.start()
    finally:
        running.stop()


def _closed_after(conn: socket.socket, drip: bytes = b"", every: float = 0.0,
                  limit: float = 4.0) -> float:
    """Seconds until the collector closes ``conn`` (``drip`` sent a byte at a time every
    ``every`` seconds meanwhile); fails if it is still open after ``limit``."""
    start = time.monotonic()
    conn.settimeout(every or limit)
    steps: list[Optional[int]] = list(drip) or [None]
    for byte in steps:
        try:
            if conn.recv(1024) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except ConnectionError:
            return time.monotonic() - start
        if byte is not None:
            try:
                conn.sendall(bytes([byte]))
            except ConnectionError:
                return time.monotonic() - start
        if time.monotonic() - start > limit:
            break
    raise AssertionError(f"the collector kept the connection open for {limit} s")


def test_a_connection_idle_before_its_request_is_closed(local: LocalCollector) -> None:
    """A client that connects and sends nothing held a handler thread for ever (no
    socket timeout): closed after the idle timeout now."""
    with socket.create_connection(("127.0.0.1", local.port), timeout=5) as conn:
        waited = _closed_after(conn)
    assert IDLE * 0.8 <= waited < IDLE + 1.5, waited


def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_the_head_timeout(
        local: LocalCollector) -> None:
    """slowloris: each byte of the head comes before the idle timeout, so only a bound on
    the whole head frees the thread; and the collector answers others meanwhile."""
    head = (f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
            "X-Slow: " + "a" * 200).encode()
    with socket.create_connection(("127.0.0.1", local.port), timeout=5) as conn:
        conn.sendall(head[:5])
        waited = _closed_after(conn, head[5:], every=IDLE / 4, limit=HEAD + 3)
        with socket.create_connection(("127.0.0.1", local.port), timeout=5) as other:
            other.sendall(f"GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
                          "Connection: close\r\n\r\n".encode())
            assert other.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert HEAD * 0.8 <= waited < HEAD + 1.5, waited


def test_a_body_stalled_past_the_idle_timeout_is_cut_off(local: LocalCollector) -> None:
    """The head in time, then half the declared body and nothing more."""
    body = json.dumps([{"x": 1}]).encode()
    with socket.create_connection(("127.0.0.1", local.port), timeout=5) as conn:
        conn.sendall((f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:4])
        waited = _closed_after(conn)
    assert waited < IDLE + 1.5, waited


@pytest.mark.parametrize("background", [False, True], ids=["inline", "background"])
def test_the_library_delivers_across_the_collector_closing_its_idle_connection(
        local: LocalCollector, background: bool) -> None:
    """The middleware keeps its connection to the collector alive between batches; one
    the collector closed as idle is replaced, and every log arrives (no retry warning
    needed, nothing lost)."""
    middleware = MetricsMiddleware(json_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=local.url, grouping_function=caller,
        buffer_length=1, background_worker_mode=background))
    try:
        for index in range(3):
            run_wsgi(middleware, wsgi_environ(path=f"/n{index}"))
            assert middleware.flush(5.0) is True
            time.sleep(IDLE * 2.5)  # the pooled connection is closed by the collector
        deadline = time.monotonic() + 5
        while local.store.accepted < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = middleware.stats
    finally:
        middleware.close()
    assert local.store.accepted == 3
    assert (stats["sent"], stats["retries"], stats["dropped"]) == (3, 0, 0), stats
