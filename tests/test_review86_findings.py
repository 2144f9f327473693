"""review86: WSGI capture leftovers, and what a hostile client puts in X-Forwarded-For.

- werkzeug's development server (``flask run``): a chunked upload over 10 MB the app
  does not read, the client pausing mid-body. werkzeug's discard reads 10,000,000 bytes
  at a time (one blocking ``read``) and stops once 10 ms pass without more: a pause right
  after the first 10 MB ends it, and werkzeug closes the connection (bare too: the rest
  of the upload meets a broken pipe either way). The log held the body's first bytes,
  "incomplete", never other bytes: no wrong bytes were found (guarded here).
- ``max_body_bytes=0``: a chunked body the app left unread had no ``postData`` at all
  (bodySize -1) under werkzeug, runserver, wsgiref, gunicorn, uvicorn, hypercorn and
  daphne, where waitress (which holds the body whole) said "truncated to 0 of 5 bytes";
  any body with a length said so everywhere. A body of unknown length now says
  "truncated to 0 bytes of a body of unknown length" (har/build.py).
- ``trusted_proxies``: the X-Forwarded-For hop was logged as clientIPAddress as sent; a
  client that reaches the app past the proxies (or through fewer than configured) writes
  it: 60 KB, control characters, ``<script>``. Only a hop that is an IP address is taken
  now (a port after it dropped); anything else logs the remote address, as no header.
- Resets mid-body under runserver, werkzeug and wsgiref: runserver drops the response
  unclosed (its close() reads the rest of the body, and raises); the capture held the
  handler's start_response and write, a cycle through the handler that left the log to
  the cyclic GC (inline mode: never, in an idle server). Held weakly once the iterable
  is exhausted (``WSGICapture.let_go``, capture/weak_server_calls.py).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.capture.forwarded import pick_client_ip
from readme_metrics.exchange import Exchange, Group
from readme_metrics.har.build import build_log
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile14_servers import (
    CHUNKED,
    SERVERS,
    TEXT,
    Make,
    Step,
    _request_of,
    body_problem,
    both,
    logs_by_trace,
    normalized,
    play,
    read_to_end,
    refused_logs,
    request,
    then,
    warm_up,
    wrong_bodies,
)
from tests.test_hostile_servers import _logs_for, _traces


@contextlib.contextmanager
def _served(collector: Collector, tmp_path: Path, server: str,
            **env: str) -> Iterator[tuple[int, Callable[[], list[dict[str, Any]]]]]:
    """tests/support/hostile_apps.py's app under ``server``, configured by ``env``: its
    port, and a call giving the logs of every wrapped call once they came (the warm-up's
    among them, trace ``warm-up``: :func:`.warm_up`)."""
    traces = tmp_path / "traces"
    port = free_port()
    settings = server_env(collector, HOSTILE_TRACES=str(traces),
                          DJANGO_SETTINGS_MODULE="tests.support.hostile_django", **env)
    with serve(SERVERS[server](port), settings, tmp_path, port) as base:
        warm_up(base)
        yield port, lambda: _logs_for(collector, len(_traces(traces)))

# -- werkzeug's discard of a chunked upload over 10 MB, the client pausing -------------

_TEN_MB = 10_000_000  # what werkzeug's discard reads at a time


def _body(size: int) -> bytes:
    """A body whose every 10 bytes say where they are: bytes out of place show."""
    return b"".join(b"%09d," % i for i in range(size // 10 + 1))[:size]


def _framed(body: bytes, chunk: int) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + chunk]), body[i:i + chunk])
                    for i in range(0, len(body), chunk)) + b"0\r\n\r\n"


def _upload_with_a_pause(port: int, prefix: str, framed: bytes, at: int) -> bytes:
    """POST ``framed`` chunked to /<prefix>/noread, pausing 0.5 s after ``at`` bytes of
    it; what the server sent back."""
    head = (f"POST /{prefix}/noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-Trace: {prefix}-pause\r\nContent-Type: application/octet-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head + framed[:at])
        time.sleep(0.5)  # the pause: werkzeug's discard stops after 10 ms of it
        try:
            sock.sendall(framed[at:])
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # werkzeug closed the connection: bare too
            pass
        read_to_end(sock, got)
    return bytes(got)


@pytest.mark.e2e
@pytest.mark.parametrize(("chunk", "limit"), [
    (1_000_000, 20_000_000),  # all werkzeug read could be kept: the rest is not there
    (4096, 20_000_000),
    (1_000_000, 65536),  # truncated long before the pause
])
def test_werkzeugs_discard_of_a_paused_upload_logs_its_first_bytes(
        collector: Collector, tmp_path: Path, chunk: int, limit: int) -> None:
    body = _body(12_000_000)
    framed = _framed(body, chunk)
    with _served(collector, tmp_path, "werkzeug", README_MAX_BODY_BYTES=str(limit)) as (
            port, logs_of):
        bare = _upload_with_a_pause(port, "bare", framed, _TEN_MB)
        wrapped = _upload_with_a_pause(port, "wrap", framed, _TEN_MB)
        logs = logs_of()
    assert normalized(wrapped) == normalized(bare)
    assert not refused_logs(collector)
    logged = _request_of(logs_by_trace(logs)["wrap-pause"][0])
    comment = logged["postData"].get("comment", "")
    assert "incomplete" in comment or "truncated" in comment, comment
    assert body_problem(logged, body) is None


# -- a client resetting the connection mid-body -----------------------------------------


def _reset_after(port: int, data: bytes) -> None:
    """Send ``data``, wait 0.3 s (the server has it), then reset the connection."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(data)
    time.sleep(0.3)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


_SENT = {"length": b"x" * 5000, "chunked": b"y" * 3000}
_RESET_CASES = {
    f"{kind}-{path[1:]}": (kind, request(1, "POST", path, b"x" * 5000, TEXT, length=100_000)
                           if kind == "length" else
                           request(1, "POST", path, b"bb8\r\n" + b"y" * 3000, TEXT, CHUNKED,
                                   length=None))
    for kind in ("length", "chunked") for path in ("/echo", "/noread", "/read-some")}


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["runserver", "werkzeug", "wsgiref"])
def test_a_client_resetting_mid_body_gets_one_log_a_call(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The client declares 100,000 bytes (or a 3,000-byte chunk), sends 5,000 (3,000),
    and resets the connection. runserver's close() reads the rest of the body, which
    raises: it drops the response unclosed. The log of /noread and /read-some never
    came (inline mode) before the capture let go of runserver's handler at the
    iterable's end: a cycle through it left the response to the cyclic GC."""
    with _served(collector, tmp_path, server, README_MAX_BODY_BYTES="65536") as (
            port, logs_of):
        for name, (_, make) in _RESET_CASES.items():
            for prefix in ("bare", "wrap"):
                _reset_after(port, make(port, prefix, f"{prefix}-{name}"))
        traces = _traces(tmp_path / "traces")
        logs = logs_by_trace(logs_of())
    assert not refused_logs(collector)
    assert {trace: len(logs.get(trace, [])) for trace in traces} == dict.fromkeys(traces, 1)
    wrong = {}
    for name, (kind, _) in _RESET_CASES.items():
        if server == "wsgiref" and name == "chunked-read-some":
            continue  # wsgiref hands the app the chunks framed: it read "bb8\r\n"
        found = logs.get(f"wrap-{name}-1")
        problem = found and body_problem(_request_of(found[0]), _SENT[kind])
        if problem:
            wrong[name] = problem
    assert not wrong


# -- max_body_bytes=0: a chunked body left unread says it was not kept -----------------


def _exchange(size: int, body: bytes = b"") -> Exchange:
    return Exchange("id", 0.0, "POST", "http://h/", "HTTP/1.1",
                    [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
                    "127.0.0.1", Group("k"), request_body=body, request_body_size=size,
                    status=200, status_text="OK")


@pytest.mark.parametrize(("size", "limit", "post"), [
    (-1, 0, {"mimeType": "text/plain", "text": "",
             "comment": "truncated to 0 bytes of a body of unknown length"}),
    (5, 0, {"mimeType": "text/plain", "text": "", "comment": "truncated to 0 of 5 bytes"}),
    (0, 0, None),  # a chunked body read to its end, empty: no body
    (0, 100, None),
])
def test_a_body_of_unknown_length_kept_to_none_says_so(
        size: int, limit: int, post: Optional[dict[str, str]]) -> None:
    entry = build_log(_exchange(size), max_body_bytes=limit)["request"]["log"]["entries"][0]
    assert entry["request"].get("postData") == post


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["werkzeug", "runserver", "wsgiref", "waitress",
                                    "gunicorn-sync", "uvicorn", "hypercorn", "daphne"])
def test_max_body_bytes_0_says_a_chunked_body_was_not_kept(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A chunked body the app left unread: "truncated to 0 bytes of a body of unknown
    length" (waitress, which holds the body whole, knows its length). One the app read
    (review89) is of a known length, except where the server hands the app none of a
    chunked body (wsgiref, runserver: the app reads b"", and the capture reads none of
    it off the connection to keep none)."""
    chunked = b"5\r\nhello\r\n0\r\n\r\n"
    cases = {"chunked": request(1, "POST", "/noread", chunked, TEXT, CHUNKED, length=None,
                                close=True),
             "chunked-read": request(1, "POST", "/echo", chunked, TEXT, CHUNKED, length=None,
                                     close=True),
             "length": request(1, "POST", "/noread", b"hello", TEXT, close=True)}
    with _served(collector, tmp_path, server, README_MAX_BODY_BYTES="0") as (port, logs_of):
        for name, make in cases.items():
            play(port, "wrap", name, [("send", make)])
        logs = logs_by_trace(logs_of())
    assert not refused_logs(collector)
    posts = {name: _request_of(logs[f"{name}-1"][0]).get("postData") for name in cases}
    known = {"mimeType": "text/plain", "text": "", "comment": "truncated to 0 of 5 bytes"}
    unknown = {**known, "comment": "truncated to 0 bytes of a body of unknown length"}
    assert posts == {"length": known,
                     "chunked": known if server == "waitress" else unknown,
                     "chunked-read": unknown if server in ("wsgiref", "runserver") else known}


# -- trusted_proxies: X-Forwarded-For as a hostile client writes it --------------------

_REMOTE = "192.0.2.1"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@given(st.text(max_size=80), st.integers(1, 3))
def test_a_hop_that_is_no_ip_address_gives_the_remote_address(hop: str, trusted: int) -> None:
    header = ", ".join([hop, *["198.51.100.4"] * (trusted - 1)])
    found = pick_client_ip(_REMOTE, header, trusted)
    assert found == _REMOTE or (_is_ip(found) and found in hop), (hop, found)


@given(st.ip_addresses(), st.sampled_from(["", ":443"]), st.sampled_from(["", "  "]))
def test_a_hop_that_is_an_ip_address_is_taken(address: Any, port: str, space: str) -> None:
    text = str(address)
    hop = f"[{text}]{port}" if address.version == 6 and port else text + port
    assert pick_client_ip(_REMOTE, f"203.0.113.5,{space}{hop}{space}", 1) == text


HOSTILE_HOPS = {
    "long": "1" * 60_000,  # under werkzeug's 65,536 bytes a header line
    "script": "1.2.3.4, <script>alert(1)</script>",
    "control": "1.2.3.4\x01\x7f",
    "not-ascii": "1.2.3.\u0664",  # an Arabic-Indic digit: int() takes it, no address has it
    "name": "proxy.internal",
    "unknown": "unknown",
    "v4-leading-zero": "01.2.3.4",
    "empty-last": "1.2.3.4,",
}


@pytest.mark.e2e
def test_hostile_forwarded_for_logs_the_remote_address_under_werkzeug(
        collector: Collector, tmp_path: Path) -> None:
    hops = {**HOSTILE_HOPS, "ip": "203.0.113.5, 198.51.100.4", "ip-port": "198.51.100.4:5678"}
    with _served(collector, tmp_path, "werkzeug", README_TRUSTED_PROXIES="1") as (
            port, logs_of):
        answers = {}
        for name, hop in hops.items():
            header = b"X-Forwarded-For: " + hop.encode("utf-8")
            for prefix in ("bare", "wrap"):
                answers[prefix] = play(port, prefix, name, [
                    ("send", request(1, "GET", "/noread", b"", header, close=True))])[0]
            assert normalized(answers["wrap"]) == normalized(answers["bare"]), name
        logs = logs_by_trace(logs_of())
    assert not refused_logs(collector)
    found = {name: logs[f"{name}-1"][0]["clientIPAddress"] for name in hops}
    assert found == {**{name: "127.0.0.1" for name in HOSTILE_HOPS},
                     "ip": "198.51.100.4", "ip-port": "198.51.100.4"}


# -- the rest of the hostile pass under the servers newcomers run ----------------------


def _http10(path: str, body: bytes, *headers: bytes) -> Make:
    """An HTTP/1.0 POST with no Content-Length (unless in ``headers``): the body runs to
    the client's end, which HTTP/1.0 servers do not read as one."""
    def make(port: int, prefix: str, trace: str) -> bytes:
        return b"\r\n".join([f"POST /{prefix}{path} HTTP/1.0".encode(), b"Host: x",
                              f"X-Trace: {trace}-1".encode(), TEXT, *headers]) + (
            b"\r\n\r\n" + body)
    return make


def _sent(data: bytes) -> Make:
    return lambda *_: data


# name -> (steps, {request n: the body the app is given, None when servers differ})
PASS_CASES: dict[str, tuple[list[Step], dict[int, Optional[bytes]]]] = {
    "http10-no-length-echo": ([("send", _http10("/echo", b"abc")), ("shut",)], {1: b""}),
    "http10-no-length-unread": ([("send", _http10("/noread", b"abc")), ("shut",)], {1: b""}),
    "http10-length-unread": ([("send", _http10("/noread", b"abc", b"Content-Length: 3"))],
                             {1: b"abc"}),
    # the body sent after the answer, with no 100 Continue asked for
    "expect-body-after-the-answer": (
        [("send", request(1, "POST", "/noread", b"", TEXT, b"Expect: 100-continue", length=5)),
         ("wait", b"HTTP/1.1 200"), ("send", _sent(b"hello")), ("send", then(2))], {1: None}),
    "head-with-a-body": ([("send", both(request(1, "HEAD", "/noread", b"hbody", TEXT),
                                        then(2)))], {1: b"hbody"}),
    "get-with-a-body-echo": ([("send", both(request(1, "GET", "/echo", b"gbody", TEXT),
                                            then(2)))], {1: b"gbody"}),
    "delete-with-a-body-unread": ([("send", both(request(1, "DELETE", "/noread", b"del",
                                                         TEXT), then(2)))], {1: b"del"}),
    "304-with-a-body": ([("send", both(request(1, "POST", "/body-always?status=304", b"p",
                                               TEXT), then(2)))], {1: b"p"}),
    "length-longer-then-shut": ([("send", request(1, "POST", "/echo", b"short", TEXT,
                                                  length=50)), ("shut",)], {1: None}),
    "pipelined-chunked-between": (
        [("send", both(request(1, "POST", "/noread", b"one", TEXT),
                       request(2, "POST", "/noread", b"3\r\ntwo\r\n0\r\n\r\n", TEXT, CHUNKED,
                               length=None),
                       request(3, "POST", "/echo", b"three", TEXT), then(4)))],
        {1: b"one", 2: b"two", 3: b"three"}),
    # a chunk, then 1.5 s of nothing (the wait for a marker that never comes), the end
    "chunked-slow-echo": ([("send", request(1, "POST", "/echo", b"", TEXT, CHUNKED,
                                            length=None)),
                           ("send", _sent(b"3\r\nabc\r\n")), ("wait", b"never"),
                           ("send", _sent(b"0\r\n\r\n")), ("send", then(2))], {1: None}),
}


@pytest.mark.e2e
@pytest.mark.parametrize("limit", ["65536", "4"])
@pytest.mark.parametrize("server", ["werkzeug", "runserver"])
def test_the_rest_of_the_hostile_pass_same_answer_truthful_logs(
        collector: Collector, tmp_path: Path, server: str, limit: str) -> None:
    """No difference found: guards what holds."""
    differ = {}
    with _served(collector, tmp_path, server, README_MAX_BODY_BYTES=limit) as (
            port, logs_of):
        for name, (steps, _) in PASS_CASES.items():
            bare, _ = play(port, "bare", f"b-{name}", steps)
            wrapped, _ = play(port, "wrap", f"w-{name}", steps)
            if normalized(bare) != normalized(wrapped):
                differ[name] = (bare[:300], wrapped[:300])
        traces = _traces(tmp_path / "traces")
        logs = logs_by_trace(logs_of())
    assert not differ
    assert not refused_logs(collector)
    assert {trace: len(logs.get(trace, [])) for trace in traces} == dict.fromkeys(traces, 1)
    assert not wrong_bodies(PASS_CASES, logs)
