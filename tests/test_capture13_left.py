"""capture13's findings, landed without its list wrapper (capture14): clients that
leave, under real servers.

The server's write of a WSGI answer's chunk fails when the client is gone (a broken
pipe, a reset, waitress's ClientDisconnected). A stream in that case is logged with
capture11's "the client left before the answer's end" comment, but not when the chunks
the server took added up to the answer's Content-Length: a two-chunk answer whose
second write failed (an iterable's, or ``write()``'s), or a one-item list under
wsgiref's main-thread server (which watches a list as a stream), was logged as
delivered whole. Both now say so (pending.LEFT_IN_WRITE; 11 failed before: the stream
under the five servers, both ways, the list under wsgiref). A one-item list elsewhere
goes back to the server as it is, its log made before the server writes it: still
logged whole (the documented limit, asserted here).

Also the rest of capture13's look at real servers, which found the log true and the app
unchanged (no fix): waitress's default cannot tell a client gone, gevent's pywsgi with a
client leaving mid-upload, granian with an iterable raising mid-stream, and ``Expect:
100-continue``, HTTP/1.0 and HEAD to a stream under gunicorn, waitress, werkzeug and
wsgiref (docs/SERVERS.md).
"""

from __future__ import annotations

import importlib.util
import re
import socket
import struct
import sys
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

import pytest

from tests.support.capture13_apps import wait_for
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import _entries
from tests.test_asgi_conformance import SAFETY, _exchange, _raw
from tests.test_e2e_servers import GUNICORN, MAX_BODY, SERVERS, serve, server_env
from tests.test_slow_client import read_answer

pytestmark = pytest.mark.e2e

TARGET = "tests.support.capture13_apps:wsgi_root"
ARGV = {
    **{name: SERVERS[name] for name in ("gunicorn-sync", "gunicorn-gthread")},
    # waitress sees a client leave while the app runs only when it reads on meanwhile
    # (--channel-request-lookahead); else it writes the answer into its buffer, no error
    # (see test_waitress_without_lookahead_cannot_tell and docs/SERVERS.md).
    "waitress-lookahead": lambda port, target: [
        *SERVERS["waitress"](port, target)[:-1], "--channel-request-lookahead=1", target],
    # werkzeug's threaded server (flask run) and wsgiref's in the main thread (runserver
    # --nothreading), as tests/support/capture13_apps.py's __main__ runs them.
    "werkzeug": lambda port, target: [SERVERS["werkzeug"](port, target)[0], "-m",
                                      "tests.support.capture13_apps", str(port), "werkzeug"],
    "wsgiref": lambda port, target: [SERVERS["werkzeug"](port, target)[0], "-m",
                                     "tests.support.capture13_apps", str(port), "wsgiref"],
}
SIZE = 1 << 20  # more than a socket buffer takes: the write fails once the reset is in


def _leave(port: int, trace: str, path: str, started: Path) -> None:
    """Send the request and, once the app runs (it made ``started``), reset the
    connection (no answer read)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=SAFETY)
    try:
        sock.sendall(_raw(port, "wrap", trace, "GET", path))
        wait_for(str(started))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def _said(size: int) -> str:
    return (f"truncated to {MAX_BODY} of {size} bytes; incomplete: the client left before "
            f"the answer's end, after the server took {size} bytes of it: what the app "
            "sent later reached no one and is not logged")


@pytest.mark.parametrize("route", ["two", "write"])
@pytest.mark.parametrize("server", list(ARGV))
def test_a_stream_whose_last_write_failed_says_the_client_left(
        collector: Collector, tmp_path: Path, server: str, route: str) -> None:
    """A two-chunk answer with its Content-Length (an iterable, or the ``write``
    callable), the client gone after the first chunk: the server's write of the second
    fails. The chunks the server took add up to the Content-Length, and the log said
    nothing (failed before: 10 of 10, five servers, both routes); it now says the client
    left (pending.LEFT_IN_WRITE)."""
    port = free_port()
    with serve(ARGV[server](port, TARGET), server_env(collector), tmp_path, port):
        barrier = tmp_path / "barrier"
        sock = socket.create_connection(("127.0.0.1", port), timeout=SAFETY)
        try:
            sock.sendall(_raw(port, "wrap", "two", "GET",
                              f"/{route}?size={SIZE}&barrier={barrier}&watch=1"))
            got = read_answer(sock, SAFETY, until=b"first")
            assert got.endswith(b"\r\n\r\nfirst"), got
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            sock.close()
        barrier.touch()
        content = _entries(collector, 1)["two"]["response"]["content"]
    assert (content["size"], content.get("comment")) == (5 + SIZE, _said(5 + SIZE))


@pytest.mark.parametrize("server", list(ARGV))
def test_a_one_item_list_the_client_left(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A one-item list the client left while the app computed. Under wsgiref's server in
    the main thread the list is watched as a stream (a signal may land in its write):
    the write fails and the log says the client left, with a Content-Length too (failed
    before: the one chunk added up to it). Elsewhere the list goes back to the server as
    it is (the capture does not wrap lists: invisible to an outer middleware, nothing on
    the path) and its log was made before the server wrote it: the whole answer, no
    word (docs/BODIES.md)."""
    port = free_port()
    with serve(ARGV[server](port, TARGET), server_env(collector), tmp_path, port):
        for name, length in (("length", "&length=1"), ("nolength", "")):
            barrier, started = tmp_path / f"barrier-{name}", tmp_path / f"started-{name}"
            _leave(port, name, f"/one?size={SIZE}&started={started}&barrier={barrier}"
                   f"{length}&watch=1", started)
            barrier.touch()
        entries = _entries(collector, 2)
    got = {name: (entry["response"]["status"], entry["response"]["content"].get("comment"))
           for name, entry in entries.items()}
    said = _said(SIZE) if server == "wsgiref" else f"truncated to {MAX_BODY} of {SIZE} bytes"
    assert got == {"length": (200, said), "nolength": (200, said)}


def test_waitress_without_lookahead_cannot_tell(collector: Collector, tmp_path: Path) -> None:
    """waitress's default reads nothing while the app runs and buffers the answer (up to
    16 MiB): its write raises nothing, and the log has the whole answer, no word, as
    docs/SERVERS.md's waitress row says. (Should waitress start telling, that row and this
    test change.)"""
    port = free_port()
    with serve(SERVERS["waitress"](port, TARGET), server_env(collector), tmp_path, port):
        barrier, started = tmp_path / "barrier", tmp_path / "started"
        _leave(port, "left", f"/one?size={SIZE}&started={started}&barrier={barrier}&length=1",
               started)
        barrier.touch()
        content = _entries(collector, 1)["left"]["response"]["content"]
    assert content["size"] == SIZE
    assert content.get("comment") == f"truncated to {MAX_BODY} of {SIZE} bytes"


# -- gevent's pywsgi: a client leaving mid-upload -----------------------------------------

GEVENT = {
    "gevent": lambda port: [sys.executable, "-m", "tests.support.capture13_apps", str(port),
                            "gevent"],
    "gunicorn-gevent_pywsgi": lambda port: [
        sys.executable, *GUNICORN, "--worker-class=gevent_pywsgi", f"--bind=127.0.0.1:{port}",
        TARGET],
}


@pytest.mark.skipif(importlib.util.find_spec("gevent") is None, reason="gevent is missing")
@pytest.mark.parametrize("server", list(GEVENT))
def test_a_client_leaving_mid_upload_under_gevent_pywsgi(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """gevent's ``wsgi.input.read(n)`` raises OSError once the client is gone, dropping the
    1,000 bytes that came: the app wrapped sees that raise as bare, and the log has what
    the app got (none of the body, marked incomplete) and the server's 500."""
    port = free_port()
    reports = {}
    with serve(GEVENT[server](port), server_env(collector), tmp_path, port):
        for prefix in ("bare", "wrap"):
            report, started = tmp_path / f"report-{prefix}", tmp_path / f"started-{prefix}"
            with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
                sock.sendall(_raw(port, prefix, "upload", "POST",
                                  f"/upload?report={report}&started={started}", b"",
                                  "Content-Type: text/plain", length=100_000) + b"y" * 1000)
                wait_for(str(started))
            wait_for(str(report))
            reports[prefix] = report.read_text()
        entry = _entries(collector, 1)["upload"]
    assert reports == {"bare": "raised OSError", "wrap": "raised OSError"}
    assert entry["response"]["status"] == 500
    assert entry["request"]["bodySize"] == 0
    assert entry["request"]["postData"]["comment"].startswith("incomplete: 0 of 100000 bytes")


# -- granian: an iterable raising mid-stream -----------------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("granian") is None, reason="granian is missing")
def test_granian_an_iterable_raising_mid_stream_is_logged_as_at_most_what_it_took(
        collector: Collector, tmp_path: Path) -> None:
    """granian drops what it had not written when the app's iterable raises: the client
    gets the three chunks, fewer, the head alone or nothing (bare too), and nothing tells
    the app. The log has the three chunks granian took and "broke off": what the client
    got is never more."""
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"))
    runs = 5
    with serve(SERVERS["granian"](port, "tests.support.hostile_apps:wsgi_root"), env,
               tmp_path, port):
        answers = [_exchange(port, _raw(port, "wrap", f"raise-{i}", "GET", "/raise-after?n=3"))
                   for i in range(runs)]
        entries = _entries(collector, runs)
    for i, answer in enumerate(answers):
        content = entries[f"raise-{i}"]["response"]["content"]
        assert content["text"] == "ccc"
        assert content["comment"].startswith(
            "incomplete: the app's answer broke off after 3 bytes, with no end of its body")
        assert answer.count(b"1\r\nc\r\n") <= 3, answer


# -- the sweep: Expect: 100-continue, HTTP/1.0, HEAD to a stream ---------------------------

SWEEP = {name: SERVERS[name] for name in ("gunicorn-sync", "gunicorn-gthread", "waitress")}
SWEEP.update({name: (lambda port, target, name=name: [
    sys.executable, "-m", "tests.support.hostile_apps", str(port),
    *(["wsgiref"] if name == "wsgiref" else [])]) for name in ("werkzeug", "wsgiref")})


def _ask(port: int, data: bytes, body: Optional[bytes], gate: Optional[Path] = None
         ) -> bytes:
    """Everything the server sends for ``data``; with ``body``, sent once a ``100
    Continue`` came, or after the wait an HTTP client gives one (curl's 1 s), then the
    file ``gate`` made (the app's word to answer: the body is in by then)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(data)
        first = b""
        if body is not None:
            sock.settimeout(1.0)
            try:
                first = sock.recv(65536)
            except socket.timeout:
                pass
            sock.sendall(body)
            sock.settimeout(SAFETY)
        if gate is not None:
            gate.touch()
        return first + read_answer(sock, SAFETY)


def _undated(answer: bytes) -> bytes:
    return re.sub(rb"(?im)^date: [^\r\n]*\r\n", b"", answer)


@pytest.mark.parametrize("server", list(SWEEP))
def test_expect_http10_and_head_to_a_stream_answer_as_bare(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The client gets the same bytes wrapped as bare (the server's 100 Continue included,
    werkzeug's two too), and the log has the body the client sent after it."""
    port = free_port()
    expect = ("Expect: 100-continue", "Content-Type: text/plain")
    cases: dict[str, Any] = {
        "http10": lambda p: (_raw(port, p, "http10", "GET", "/stream?n=3&size=5").replace(
            b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1), None),
        "head": lambda p: (_raw(port, p, "head", "HEAD", "/stream?n=3&size=5"), None),
        "echo": lambda p: (_raw(port, p, "echo", "POST", "/echo", b"", *expect, length=5),
                           b"hello"),
        # The app answers once the test sent the body (its gate): else the body is in
        # the log only if the client was scheduled to send it within the capture's
        # grace of the answer (at a load of 20, gunicorn-sync's log had none of it).
        "noread": lambda p: (_raw(port, p, "noread", "POST",
                                  f"/noread?gate={quote(str(tmp_path / p))}", b"", *expect,
                                  length=5), b"hello", tmp_path / p),
    }
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"))
    got = {}
    with serve(SWEEP[server](port, "tests.support.hostile_apps:wsgi_root"), env, tmp_path,
               port):
        for name, case in cases.items():
            for prefix in ("bare", "wrap"):
                got[name, prefix] = _ask(port, *case(prefix))
        entries = _entries(collector, len(cases))
    for name in cases:
        assert _undated(got[name, "wrap"]) == _undated(got[name, "bare"]), name
    assert entries["echo"]["request"]["postData"]["text"] == "hello"
    noread = entries["noread"]["request"]
    # (wsgiref sends no 100 Continue: the client sends the body after a client's wait.)
    assert noread["bodySize"] == 5, noread
