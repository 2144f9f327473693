"""Property, under the WSGI servers people run: a connection of pipelined requests with
random framing gets the bare app's very answer, wrapped, and each request the app saw
gives one valid log holding the body the app was given (hostile15).

hypothesis draws two or three requests a connection, each to tests/support/hostile_apps.py
(``/echo`` reads the body, ``/noread`` does not, ``/read-some`` reads 5 bytes), framed
by a Content-Length (with leading zeros, or twice), or chunked (sizes in either case, with
leading zeros, extensions, trailers; sometimes with a Content-Length too), with or
without ``Expect: 100-continue``; then a GET that closes the connection, the client's
side shut once all is sent. werkzeug's server (threaded, as ``flask run``; werkzeug 3
closes every connection after one answer), Django's runserver, wsgiref, gunicorn (sync
and gthread) and waitress each serve them, bare and wrapped; and Flask's extension under
werkzeug's server, Django's middleware under runserver (tests/test_hostile15_servers.py's
OWN_SERVERS); the two
answers must be the same bytes (Date, Server and x-documentation-url aside): framing
the connection differently, wrapped, would show as a request more or fewer answered.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.cli.collector.validation import validate_log
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile14_servers import (
    SERVERS,
    _request_of,
    body_problem,
    logs_by_trace,
    normalized,
)
from tests.test_hostile15_servers import OWN_SERVERS
from tests.test_hostile_servers import SAFETY, _trace_of

pytestmark = pytest.mark.e2e


@st.composite
def framed(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from([b"/echo", b"/noread", b"/read-some"]))
    # (``/read-some`` asks for 5 bytes: of a shorter body with a length, werkzeug's and
    # wsgiref's inputs, the socket itself, give the bare app the next request's first
    # bytes; the middleware never reads past CONTENT_LENGTH: hostile14's CLAMPED.)
    body = draw(st.binary(min_size=5 if path == b"/read-some" else 1, max_size=40))
    framing = draw(st.sampled_from(["length", "zeros", "twice", "chunked", "chunked+length"]))
    form = draw(st.booleans())
    headers = [b"Content-Type: " + (b"application/x-www-form-urlencoded" if form else
                                    draw(st.sampled_from([b"text/plain", b"application/json",
                                                          b"application/octet-stream"])))]
    if draw(st.booleans()):
        headers.append(b"Expect: 100-continue")
    if framing in ("length", "zeros", "twice"):
        length = b"%d" % len(body)
        if framing == "zeros":
            length = b"0" * draw(st.integers(1, 3)) + length
        headers += [b"Content-Length: " + length] * (2 if framing == "twice" else 1)
        wire = body
    else:
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=3)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if body[a:b]]
        wire = b""
        ext = False
        for piece in pieces:
            size = (b"%X" if draw(st.booleans()) else b"%x") % len(piece)
            size = b"0" * draw(st.integers(0, 2)) + size
            if draw(st.booleans()):
                ext = True
                size += b";ext=" + draw(st.sampled_from([b"1", b'"q"', b"a"]))
            wire += size + b"\r\n" + piece + b"\r\n"
        wire += b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: t\r\n"])) + b"\r\n"
        headers.append(b"Transfer-Encoding: chunked")
        if ext:
            framing += "+ext"
        if framing.startswith("chunked+length"):
            # (at least 5 for ``/read-some``: see above)
            headers.append(b"Content-Length: %d" % draw(st.integers(
                5 if path == b"/read-some" else 0, len(wire) + 5)))
    return {"path": path,
            "headers": headers, "wire": wire, "body": body, "framing": framing, "form": form}


def _connection(port: int, prefix: str, trace: str, requests: list[dict[str, Any]]) -> bytes:
    out = b""
    for n, request in enumerate(requests):
        out += b"\r\n".join([b"POST /" + prefix.encode() + request["path"] + b" HTTP/1.1",
                             f"Host: 127.0.0.1:{port}".encode(),
                             f"X-Trace: {trace}-{n}".encode(), *request["headers"]])
        out += b"\r\n\r\n" + request["wire"]
    return out + (f"GET /{prefix}/noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"X-Trace: {trace}-end\r\nConnection: close\r\n\r\n").encode()


def _answer(port: int, request: bytes) -> bytes:
    """What the server sends for ``request`` sent at once, the client's side then shut,
    read until the server closes (SAFETY at most)."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                got += chunk
        except OSError:  # the server closed before taking it all, or reset
            pass
    return got


# (werkzeug's reader refuses a chunk extension: the app's read raises, bare too.)
# Servers that give the app a chunked body as it is: its chunks as sent (wsgiref), or
# none of it (runserver): what the app is given is no drawn body then.
UNCHUNKED = {"wsgiref", "runserver", "runserver-django"}


class _Served:
    def __init__(self, name: str, port: int, collector: Collector, traces: Path) -> None:
        self.name, self.port, self.collector, self.traces = name, port, collector, traces
        self.count = itertools.count()

    def logs_for(self, trace: str, count: int) -> list[dict[str, Any]]:
        """The logs of the wrapped calls of ``trace``, once one for each of the
        connection's ``count`` requests the app saw has come (SAFETY at most)."""
        reached = [line for line in (self.traces.read_text("latin-1").split()
                                     if self.traces.exists() else [])
                   if line.startswith(trace + "-")]
        deadline = time.monotonic() + SAFETY
        while True:
            found = [log for log in self.collector.logs
                     if _trace_of(log).startswith(trace + "-")]
            if len(found) >= len(reached) or time.monotonic() > deadline:
                return found


@pytest.fixture(scope="module", params=["werkzeug", "runserver", "wsgiref", "gunicorn-sync",
                                        "gunicorn-gthread", "waitress", "flask-run",
                                        "runserver-django"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[_Served]:
    tmp = tmp_path_factory.mktemp(request.param)
    collector = Collector().start()
    port = free_port()
    django = request.param == "runserver-django"
    env = server_env(collector, HOSTILE_TRACES=str(tmp / "traces"),
                     DJANGO_SETTINGS_MODULE="tests.support.hostile_django_views" if django
                     else "tests.support.hostile_django")
    if django:
        env["README_GROUPING_FUNCTION"] = "tests.support.hostile_django_views.grouping"
    argv = (OWN_SERVERS[request.param] if request.param in OWN_SERVERS
            else SERVERS[request.param])(port)
    try:
        with serve(argv, env, tmp, port):
            yield _Served(request.param, port, collector, tmp / "traces")
    finally:
        collector.stop()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(requests=st.lists(framed(), min_size=1, max_size=3))
def test_pipelined_random_framing_same_answer_and_truthful_logs(
        served: _Served, requests: list[dict[str, Any]]) -> None:
    trace = f"t{next(served.count)}"
    bare = _answer(served.port, _connection(served.port, "bare", "b-" + trace, requests))
    wrapped = _answer(served.port, _connection(served.port, "wrap", "w-" + trace, requests))
    # (a server's error page may quote the request line without its first slash)
    assert normalized(wrapped.replace(b"wrap/", b"bare/")) == normalized(bare)
    reached = [line for line in (served.traces.read_text("latin-1").split()
                                 if served.traces.exists() else [])
               if line.startswith("w-" + trace + "-")]
    logs = served.logs_for("w-" + trace, len(reached))
    by_trace = logs_by_trace(logs)
    assert sorted(by_trace) == sorted(reached), (by_trace.keys(), reached)
    assert all(len(found) == 1 for found in by_trace.values())
    for log in logs:
        assert validate_log(log) == []
    for n, request in enumerate(requests):
        found = by_trace.get(f"w-{trace}-{n}")
        framing = request["framing"]
        # (a form's fields are logged parsed, a byte no UTF-8 percent-encoded; text
        # with a byte order mark or NULs may be read as UTF-16/32: docs/BODIES.md; their
        # logs are still checked valid above)
        body = request["body"]
        utf16 = b"\x00" in body or body[:2] in (b"\xfe\xff", b"\xff\xfe")
        if found and not request["form"] and not utf16 and not framing.startswith(
                "chunked+length") and not (
                framing.startswith("chunked") and served.name in UNCHUNKED) and not (
                framing.endswith("+ext") and served.name in ("werkzeug", "flask-run")):
            problem = body_problem(_request_of(found[0]), request["body"])
            assert problem is None, (n, problem)
