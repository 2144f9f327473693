"""review89: an adversarial review of review86's capture changes.

- ``trusted_proxies``: review86 takes an X-Forwarded-For hop only when ``ipaddress``
  parses it, so that a client's own text ("<script>", control characters) logs the
  remote address. ``ipaddress`` takes any text after "%" in an IPv6 address as its zone
  id: ``::1%<img src=x onerror=alert(1)>`` and ``::1%\\x1b[31m`` were taken, and logged
  as clientIPAddress as sent. A zone id is taken now only when it is RFC 6874's
  unreserved characters (``fe80::1%eth0``, ``fe80::1%25eth0``).
"""

from __future__ import annotations

import gc
import io
import re
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable
from wsgiref.handlers import SimpleHandler

import pytest
from django.core.servers.basehttp import ServerHandler
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics.capture.forwarded import pick_client_ip
from tests.support.fake_api import Collector
from tests.test_hostile14_servers import (
    logs_by_trace,
    normalized,
    play,
    refused_logs,
    request,
)
from tests.test_review86_findings import _REMOTE, _is_ip, _served

_UNRESERVED = re.compile(r"[0-9A-Za-z._~-]+")


@given(st.sampled_from(["fe80::1", "::1", "2001:db8::5"]), st.text(max_size=20),
       st.sampled_from(["{}", "[{}]:443"]), st.integers(1, 2))
def test_a_zone_id_is_taken_only_as_an_interface_name(
        address: str, zone: str, form: str, trusted: int) -> None:
    hop = form.format(f"{address}%{zone}")
    header = ", ".join([hop, *["198.51.100.4"] * (trusted - 1)])
    found = pick_client_ip(_REMOTE, header, trusted)
    # (A hop's spaces around it are not its own: a zone's last ones, unbracketed.)
    zone = zone.rstrip() if form == "{}" else zone
    taken = _UNRESERVED.fullmatch(zone) is not None
    assert found == (f"{address}%{zone}" if taken else _REMOTE), (hop, found)


@given(st.text(max_size=80), st.integers(1, 3))
def test_a_hop_taken_is_an_address_with_no_text_of_the_clients(hop: str, trusted: int
                                                                ) -> None:
    header = ", ".join([hop, *["198.51.100.4"] * (trusted - 1)])
    found = pick_client_ip(_REMOTE, header, trusted)
    assert found == _REMOTE or (
        _is_ip(found) and re.fullmatch(r"[0-9A-Za-z.:%_~-]+", found) is not None), (hop, found)


@pytest.mark.parametrize(("hop", "logged"), [
    ("::1%<img src=x onerror=alert(1)>", _REMOTE),
    ("[fe80::1%<b>]:443", _REMOTE),
    ("::1%\x1b[31mred", _REMOTE),
    ("::1%\x01", _REMOTE),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("[fe80::1%en0]:8080", "fe80::1%en0"),
    ("fe80::1%25eth0", "fe80::1%25eth0"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
])
def test_zone_ids(hop: str, logged: str) -> None:
    assert pick_client_ip(_REMOTE, f"203.0.113.5, {hop}", 1) == logged


HOSTILE_ZONES = {
    "markup": "::1%<img src=x onerror=alert(1)>",
    "escape": "::1%\x1b[31mred",
    "control": "fe80::1%\x01",
}


@pytest.mark.e2e
def test_a_hostile_zone_id_logs_the_remote_address_under_werkzeug(
        collector: Collector, tmp_path: Path) -> None:
    hops = {**HOSTILE_ZONES, "zone": "fe80::1%eth0"}
    with _served(collector, tmp_path, "werkzeug", README_TRUSTED_PROXIES="1") as (
            port, logs_of):
        for name, hop in hops.items():
            header = b"X-Forwarded-For: " + hop.encode("latin-1")
            answers = {prefix: play(port, prefix, name, [
                ("send", request(1, "GET", "/noread", b"", header, close=True))])[0]
                for prefix in ("bare", "wrap")}
            assert normalized(answers["wrap"]) == normalized(answers["bare"]), name
        logs = logs_by_trace(logs_of())
    assert not refused_logs(collector)
    found = {name: logs[f"{name}-1"][0]["clientIPAddress"] for name in hops}
    assert found == {**{name: "127.0.0.1" for name in HOSTILE_ZONES}, "zone": "fe80::1%eth0"}


# -- an outer middleware's start_response under runserver, a client resetting ----------


class _ResetInput:
    """A request body whose client reset the connection: each read raises."""

    def read(self, *_: Any) -> bytes:
        raise ConnectionResetError(104, "Connection reset by peer")

    readline = read


def _closure(app: Any) -> Any:
    def outer(environ: Any, start_response: Any) -> Any:
        def starting(status: str, headers: Any, exc_info: Any = None) -> Any:
            return start_response(status, headers, exc_info)
        return app(environ, starting)
    return outer


def _streamed(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"streamed"


OUTER = {
    "none": lambda app: app,
    "closure": _closure,  # as Sentry's and New Relic's WSGI middlewares
    "lint": LintMiddleware,  # werkzeug's: a closure, and write() as a GuardedWrite
}


@pytest.mark.parametrize("outer", list(OUTER))
def test_a_response_runserver_drops_unclosed_is_logged_behind_an_outer_middleware(
        inline_wrap: Callable[..., Any], collector: Collector, outer: str) -> None:
    """Django's runserver handler (its ServerHandler, wsgiref's) whose close() reads the
    rest of a body whose client reset the connection: it raises, and runserver drops
    the response unclosed. review86 let go of the handler's own start_response and
    write at the iterable's end; behind a middleware handing its own over them, the
    capture still held the handler through those (a cycle: the log waited for the
    cyclic GC, off here as in an idle server)."""
    app = OUTER[outer](inline_wrap(_streamed))
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": "9",
               "CONTENT_TYPE": "text/plain", "HTTP_HOST": "127.0.0.1:8000"}
    out = io.BytesIO()
    handler = ServerHandler(_ResetInput(), out, io.StringIO(), environ)
    handler.request_handler = SimpleNamespace(server=object(), close_connection=False)
    handler.server_software = "WSGIServer/0.2"
    collected = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (LintMiddleware's, of the unclosed iterator)
            handler.run(app)
            assert out.getvalue().endswith(b"streamed")
            del handler
            logs = collector.wait_for_logs(1, timeout=5)
    finally:
        if collected:
            gc.enable()
    assert len(logs) == 1


class _LateCalls:
    """An iterable whose close() calls ``write`` and then ``start_response`` with
    ``exc_info`` (after the iterable's end: wsgiref has sent the headers)."""

    def __init__(self, start_response: Any) -> None:
        self.start_response = start_response
        self.write = start_response("200 OK", [("Content-Type", "text/plain")])
        self.raised: list[str] = []

    def __iter__(self) -> Any:
        yield b"body"

    def close(self) -> None:
        self.write(b"-late")
        try:
            raise ValueError("in close")
        except ValueError:
            try:
                self.start_response("500 Oops", [], sys.exc_info())
            except ValueError as error:
                self.raised.append(str(error))


def _late_run(app: Any) -> tuple[bytes, list[str]]:
    made: list[_LateCalls] = []

    def late(environ: Any, start_response: Any) -> Any:
        made.append(_LateCalls(start_response))
        return made[0]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1"}
    out = io.BytesIO()
    handler = SimpleHandler(io.BytesIO(), out, io.StringIO(), environ)
    handler.server_software = "WSGIServer/0.2"
    handler.run(app(late))
    return out.getvalue().split(b"\r\n\r\n", 1)[1], made[0].raised


def test_calls_from_close_behind_an_outer_closure_are_the_bare_apps(
        inline_wrap: Callable[..., Any]) -> None:
    """After the iterable's end the capture holds the outer closure weakly: a call to
    it from close() still reaches wsgiref (write's bytes), or, the closure gone, is
    answered as wsgiref does once the headers went out (exc_info raised again)."""
    bare = _late_run(lambda app: _closure(app))
    wrapped = _late_run(lambda app: _closure(inline_wrap(app)))
    assert bare == (b"body-late", ["in close"])
    assert wrapped == bare

