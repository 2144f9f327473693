"""Hostile clients and misbehaving apps under real servers: same bytes, valid logs.

Raw sockets against waitress, gunicorn (sync and gthread), werkzeug's development server,
wsgiref, cheroot, uvicorn, hypercorn and daphne, each serving tests/support/hostile_apps.py:
the same app bare (``/bare/...``) and wrapped (``/wrap/...``) in one process. Each
request goes to both; the two answers must be the same bytes (Date, Server and
x-documentation-url aside), every wrapped call that reached the app must show up as
exactly one log the collector's own validator accepts (the Metrics API refuses a whole
batch for one invalid log), and the logs' request bodies and response sizes must be
what the app read and what the client got.
"""

from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.cli.collector.validation import validate_batch
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import serve, server_env

pytestmark = pytest.mark.e2e

SAFETY = 20.0  # seconds: only reached when a server never answers nor closes
IGNORED = (b"date:", b"server:", b"x-documentation-url:")

WSGI = "tests.support.hostile_apps:wsgi_root"
ASGI = "tests.support.hostile_apps:asgi_root"
SERVERS: dict[str, Callable[[int], list[str]]] = {
    "waitress": lambda port: WSGI_SERVERS["waitress"](port, WSGI),
    "gunicorn-sync": lambda port: WSGI_SERVERS["gunicorn-sync"](port, WSGI),
    "gunicorn-gthread": lambda port: WSGI_SERVERS["gunicorn-gthread"](port, WSGI),
    "werkzeug": lambda port: [WSGI_SERVERS["werkzeug"](port, WSGI)[0],
                              "-m", "tests.support.hostile_apps", str(port)],
    "uvicorn": lambda port: ASGI_SERVERS["uvicorn"](port, ASGI),
    "hypercorn": lambda port: ASGI_SERVERS["hypercorn"](port, ASGI),
    "hypercorn-trio": lambda port: ASGI_SERVERS["hypercorn-trio"](port, ASGI),
    # (Not granian 2.8: its worker panics on the bare app's one-digit status, and exits.)
    "wsgiref": lambda port: [WSGI_SERVERS["wsgiref"](port, WSGI)[0],
                             "-m", "tests.support.hostile_apps", str(port), "wsgiref"],
    "cheroot": lambda port: WSGI_SERVERS["cheroot"](port, WSGI),
    "daphne": lambda port: ASGI_SERVERS["daphne"](port, ASGI),
}

GZIP_BOMB = gzip.compress(b"\0" * (20 << 20))
DEEP_JSON = b"[" * 100000 + b"]" * 100000


def _request(method: str, path: str, body: bytes = b"", headers: tuple[bytes, ...] = (),
             length: bool = True) -> Callable[[int, str, str], bytes]:
    """A raw request for ``path`` under ``prefix``, closing its connection."""
    def make(port: int, prefix: str, trace: str) -> bytes:
        lines = [f"{method} /{prefix}{path} HTTP/1.1".encode("latin-1"),
                 f"Host: 127.0.0.1:{port}".encode(), f"X-Trace: {trace}".encode(),
                 b"Connection: close", *headers]
        if length and body:
            lines.append(f"Content-Length: {len(body)}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body
    return make


def _pipelined(first: Callable[[int, str, str], bytes], second: Callable[[int, str, str], bytes]
               ) -> Callable[[int, str, str], bytes]:
    """Two requests in one write, the first kept alive: the second must be served as sent."""
    def make(port: int, prefix: str, trace: str) -> bytes:
        return (first(port, prefix, trace).replace(b"Connection: close", b"Connection: keep-alive")
                + second(port, prefix, trace + "-2"))
    return make


def _post(path: str, body: bytes, *headers: bytes) -> Callable[[int, str, str], bytes]:
    return _request("POST", path, body, headers)


CASES: dict[str, Callable[[int, str, str], bytes]] = {
    # statuses no status line can carry
    "status-one-digit": _request("GET", "/status/1%20X"),
    "status-letters": _request("GET", "/status/abc"),
    "status-four-digits": _request("GET", "/status/2000%20OK"),
    "status-empty": _request("GET", "/status/"),
    # bytes that are not UTF-8, and percent-encoded garbage
    "obs-text-header": _request("GET", "/noread", headers=(b"X-Odd: caf\xe9 \xff\x80",)),
    "obs-text-path": _request("GET", "/noread/\xff\xfe\xe9"),
    "obs-text-query": _request("GET", "/noread?a=\xff\xfe&b=\xe9"),
    "percent-garbage-query": _request("GET", "/noread?%=%%&a=%zz&b=%E2%82&&=&c=%00"),
    "percent-garbage-path": _request("GET", "/noread/%ff%fe/%zz/%"),
    # content codings that do not decode, or decode to far too much
    "gzip-garbage": _post("/echo", b"not gzip at all", b"Content-Encoding: gzip",
                          b"Content-Type: application/json"),
    "gzip-bomb": _post("/echo", GZIP_BOMB, b"Content-Encoding: gzip",
                       b"Content-Type: application/json"),
    "deflate-truncated": _post("/echo", zlib.compress(b'{"a": "b"}' * 50)[:20],
                               b"Content-Encoding: deflate", b"Content-Type: text/plain"),
    "br-garbage": _post("/echo", b"\xff\xfe\xfd" * 10, b"Content-Encoding: br",
                        b"Content-Type: application/json"),
    "codings-stacked": _post("/echo", gzip.compress(gzip.compress(b"{}")),
                             b"Content-Encoding: gzip, gzip, identity, x-unknown",
                             b"Content-Type: application/json"),
    # charsets: unknown, lying, utf-16
    "charset-unknown": _post("/echo", b"caf\xe9", b"Content-Type: text/plain; charset=x-nope"),
    "charset-lying": _post("/echo", b"caf\xe9 \xff", b"Content-Type: text/plain; charset=utf-8"),
    "charset-utf16-odd": _post("/echo", b"\xff\xfea\x00b", b"Content-Type: text/plain; "
                               b"charset=utf-16"),
    "charset-utf16-json": _post("/echo", '{"password": "x"}'.encode("utf-16"),
                                b"Content-Type: application/json; charset=utf-16"),
    "charset-quoted-odd": _post("/echo", b"x", b'Content-Type: text/plain; charset="\xff\\"'),
    # forms
    "multipart-no-boundary": _post("/echo", b"--x\r\n\r\n", b"Content-Type: multipart/form-data"),
    "multipart-truncated": _post("/echo", b'--b\r\nContent-Disposition: form-data; name="a"\r'
                                 b"\n\r\nvalue without end", b"Content-Type: multipart/form-data;"
                                 b" boundary=b"),
    "multipart-huge-part-header": _post(
        "/echo", b"--b\r\nContent-Disposition: form-data; name=\"" + b"n" * 200000
        + b'"\r\n\r\nv\r\n--b--\r\n', b"Content-Type: multipart/form-data; boundary=b"),
    "multipart-odd-names": _post(
        "/echo", b'--b\r\nContent-Disposition: form-data; name="\xff\xfe"; filename="\xe9\x00'
        b'.txt"\r\nContent-Type: \xff/\xfe\r\n\r\n\x00\xff\r\n--b--\r\n',
        b"Content-Type: multipart/form-data; boundary=b"),
    "form-not-utf8": _post("/echo", b"a=%ff%fe&b=\xff\xe9&%zz=1&=&&c",
                           b"Content-Type: application/x-www-form-urlencoded"),
    # JSON that is not a plain object
    "json-array": _post("/echo", b"[1, 2, 3]", b"Content-Type: application/json"),
    "json-string": _post("/echo", b'"just a string"', b"Content-Type: application/json"),
    "json-duplicate-keys": _post("/echo", b'{"a": 1, "a": 2}', b"Content-Type: application/json"),
    "json-deep": _post("/echo", DEEP_JSON, b"Content-Type: application/json"),
    "json-nan": _post("/echo", b'{"a": NaN, "b": -Infinity, "c": 1e999}',
                      b"Content-Type: application/json"),
    "json-lone-surrogate": _post("/echo", b'{"a": "\\ud800"}', b"Content-Type: application/json"),
    # framing from the client
    "length-and-chunked-trailers": _request(
        "POST", "/echo", b"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
        (b"Transfer-Encoding: chunked", b"Content-Type: text/plain"), length=False),
    "chunk-extensions": _request(
        "POST", "/echo", b"3;ext=1\r\nabc\r\n0\r\n\r\n",
        (b"Transfer-Encoding: chunked", b"Content-Type: text/plain"), length=False),
    # Transfer-Encoding and Content-Length both: the length means nothing (RFC 9112 6.3)
    "chunked-and-length-below": _request(
        "POST", "/echo", b"5\r\nhello\r\n0\r\n\r\n",
        (b"Content-Length: 3", b"Transfer-Encoding: chunked", b"Content-Type: text/plain"),
        length=False),
    "chunked-and-length-above": _request(
        "POST", "/echo", b"5\r\nhello\r\n0\r\n\r\n",
        (b"Transfer-Encoding: chunked", b"Content-Length: 30", b"Content-Type: text/plain"),
        length=False),
    "chunked-unread": _request(
        "POST", "/noread", b"5\r\nhello\r\n0\r\n\r\n",
        (b"Transfer-Encoding: chunked", b"Content-Type: text/plain"), length=False),
    "expect-continue": _post("/echo", b'{"a": 1}', b"Expect: 100-continue",
                             b"Content-Type: application/json"),
    "expect-continue-unread": _post("/noread", b"hello", b"Expect: 100-continue",
                                    b"Content-Type: text/plain"),
    "unread-body": _post("/noread", b"x" * 20000, b"Content-Type: application/octet-stream"),
    # the app reads 5 bytes and leaves the rest: the rest is logged too (werkzeug discards it)
    "partly-read": _post("/read-some", b"0123456789" * 2000, b"Content-Type: text/plain"),
    "partly-read-chunked": _request(
        "POST", "/read-some", b"8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
        (b"Transfer-Encoding: chunked", b"Content-Type: text/plain"), length=False),
    # pipelined: an unread body must not be taken from the next request
    "pipelined-unread": _pipelined(_post("/noread", b"x" * 5000), _post("/echo", b"second")),
    "pipelined-unread-chunked": _pipelined(
        _request("POST", "/noread", b"5\r\nhello\r\n0\r\n\r\n",
                 (b"Transfer-Encoding: chunked",), length=False),
        _post("/echo", b"second")),
    "pipelined-client-length-short": _pipelined(
        _request("POST", "/noread", b"abc", (b"Content-Length: 2",), length=False),
        _request("GET", "/noread")),
    # answers with bodies they must not carry, and lying lengths from the app
    "head-with-body": _request("HEAD", "/body-always"),
    "204-with-body": _request("GET", "/body-always?status=204"),
    "304-with-body": _request("GET", "/body-always?status=304"),
    "app-length-short": _request("GET", "/length-short"),
    "app-length-long": _request("GET", "/length-long"),
    # apps that break the protocol
    "raise-mid-stream": _request("GET", "/raise-mid"),
    **{f"chunk-{kind}": _request("GET", f"/chunk/{kind}")
       for kind in ("str", "int", "none", "bytearray", "memoryview")},
    "return-bytes": _request("GET", "/return-bytes"),
    "return-str": _request("GET", "/return-str"),
    "start-twice": _request("GET", "/start-twice"),
    "body-after-end": _request("GET", "/body-after-end"),
    "write-callable": _request("GET", "/write"),
    # the caller's key (the client's X-Api-Key here) spanning the url's structure
    "key-spans-query": _request("GET", "/noread?a=1&b=22&c=3",
                                headers=(b"X-Api-Key: 1&b=22&c",)),
    "key-holds-the-scheme": lambda port, prefix, trace: _request(
        "GET", "/noread?a=1", headers=(f"X-Api-Key: http://127.0.0.1:{port}/{prefix}".encode(),)
    )(port, prefix, trace),
    "key-spans-port": lambda port, prefix, trace: _request(
        "GET", "/noread", headers=(f"X-Api-Key: {port}/{prefix}/noread".encode(),)
    )(port, prefix, trace),
    # response headers in shapes PEP 3333 does not allow (WSGI)
    **{f"headers-{shape}": _request("GET", f"/headers/{shape}")
       for shape in ("tuple", "generator", "three", "int-value", "bytes-pair", "string")},
    # very many and very long headers, both ways
    "many-request-headers": _request("GET", "/noread", headers=tuple(
        f"X-Many-{i}: {i}".encode() for i in range(90))),
    "long-request-header": _request("GET", "/noread", headers=(b"X-Long: " + b"v" * 7000,)),
    "many-response-headers": _request("GET", "/many-headers?n=500&size=20"),
    "long-response-header": _request("GET", "/many-headers?n=1&size=60000"),
    # servers8: more framing, header and charset shapes
    "obs-fold-header": _request("GET", "/noread", headers=(b"X-Fold: first", b"  folded on")),
    "obs-fold-echo": _post("/echo", b"abc", b"X-Fold: first", b"\tfolded",
                           b"Content-Type: text/plain"),
    "header-64k": _request("GET", "/noread", headers=(b"X-Huge: " + b"h" * 65536,)),
    "headers-300": _request("GET", "/noread", headers=tuple(
        f"X-Many-{i}: {i}".encode() for i in range(300))),
    "latin1-header-echo": _post("/echo", b"abc", b"X-Name: Ren\xe9e", b"Content-Type: text/plain"),
    "http10-no-length": lambda port, prefix, trace: (
        f"POST /{prefix}/echo HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-Trace: {trace}\r\n"
        "Content-Type: text/plain\r\n\r\n").encode(),
    "http10-length": lambda port, prefix, trace: (
        f"POST /{prefix}/echo HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-Trace: {trace}\r\n"
        "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello").encode(),
    "options-path": _request("OPTIONS", "/noread"),
    "head-noread": _request("HEAD", "/noread"),
    "odd-method": _request("PROPFIND", "/echo", b"<x/>", (b"Content-Type: text/xml",)),
    "charset-quoted-utf8": _post("/echo", "caf\u00e9".encode(),
                                 b'Content-Type: text/plain; charset="utf-8"'),
    "charset-latin1": _post("/echo", b"caf\xe9", b"Content-Type: text/plain; charset=latin1"),
    "charset-unknown-xyz": _post("/echo", b"caf\xe9",
                                 b"Content-Type: text/plain; charset=unknown-xyz"),
    "charset-utf16-no-bom": _post("/echo", "hi caf\u00e9".encode("utf-16-le"),
                                  b"Content-Type: text/plain; charset=utf-16"),
    "json-latin1": _post("/echo", b'{"a": "caf\xe9"}',
                         b"Content-Type: application/json; charset=latin1"),
    "query-invalid-escapes": _request("GET", "/noread?a=%G0&b=%&c=%e9%ff&d=\xe9"),
    "pipelined-client-length-short-echo": _pipelined(
        _request("POST", "/echo", b"abcdef", (b"Content-Length: 3", b"Content-Type: text/plain"),
                 length=False),
        _request("GET", "/noread")),
    "gzip-echo": _post("/echo", gzip.compress(b'{"a": "b"}'), b"Content-Encoding: gzip",
                       b"Content-Type: application/json"),
    "deflate-echo": _post("/echo", zlib.compress(b'{"a": "b"}'), b"Content-Encoding: deflate",
                          b"Content-Type: application/json"),
    "gzip-bomb-unread": _post("/noread", GZIP_BOMB, b"Content-Encoding: gzip",
                              b"Content-Type: application/json"),
    **{f"status-{code}": _request("GET", f"/body-always?status={code}")
       for code in ("100", "101", "103", "199")},
}

# werkzeug reads an unread body to the client's end before it closes; uvicorn takes a
# half-close for a disconnect and drops any answer not sent before it sees the FIN (the
# bare app's too, once it awaits anything), so only werkzeug's client half-closes.
# Logged request bodies that must be whole (no "incomplete" or "truncated" comment).
WHOLE_BODIES = {"chunked-and-length-below": "hello", "chunked-and-length-above": "hello",
                "expect-continue": '{"a": 1}', "json-nan": '{"a": NaN, "b": -Infinity, "c": 1e999}'}

# Unread bodies: logged whole, or with a comment saying what is missing, never as none.
SHOWN_BODIES = {"chunked-unread": "hello", "expect-continue-unread": "hello",
                "unread-body": "x" * 20000, "partly-read": "0123456789" * 2000,
                "partly-read-chunked": "0123456789abcdef"}
# Servers where an unread chunked body can only be flagged incomplete (none now: werkzeug's
# and cheroot's dechunking readers would wait on the client, so the chunks are copied from
# their buffer and the socket instead, as under gunicorn).
CHUNKED_UNREAD_INCOMPLETE: set[str] = set()
# Servers where the rest of a chunked body the app read part of is only said incomplete:
# gunicorn's and cheroot's readers keep where the app is in a chunk to themselves.
PARTLY_READ_CHUNKED_INCOMPLETE = {"gunicorn-sync", "gunicorn-gthread", "cheroot"}
# wsgiref knows no chunked framing: the app reads by the Content-Length, as the log says,
# and a chunked body it read part of is the framing as sent (what the app reads there).
NO_CHUNKED = {"wsgiref"}
PARTLY_READ_FRAMED = "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n"
# Reach the app but are never logged (OPTIONS is in skip_methods by default).
NOT_LOGGED = {"options-path"}
# Answers a server must not give a body (RFC 9110 6.4.1), from an app that gives one all
# the same: the log's response size must be the body bytes the client got, none where
# the server left it out (gunicorn, waitress, hypercorn), all where it sent it (werkzeug,
# wsgiref and cheroot send every such body; uvicorn and daphne a 1xx's).
BODY_NOT_ALLOWED = ("status-100", "status-101", "status-103", "status-199", "204-with-body",
                    "304-with-body", "head-with-body")

# daphne neither ends nor closes a response whose app raised or sent an invalid message
# (bare too): each such case would only wait out SAFETY twice, so they are not sent there.
# hypercorn's trio worker exits on a final 101 (bare too): the cases after it would find
# no server.
HANGS = {"hypercorn-trio": {"status-101"},
         "daphne": {"status-letters", "status-empty", "raise-mid-stream", "start-twice",
                    *(f"chunk-{kind}" for kind in ("str", "int", "none", "bytearray",
                                                   "memoryview"))}}
# (wsgiref reads by the Content-Length, 30 bytes of which 15 come: the end ends its read.)
HALF_CLOSE = {("werkzeug", "unread-body"), ("werkzeug", "partly-read"),
              ("werkzeug", "gzip-bomb-unread"), ("wsgiref", "chunked-and-length-above")}


def _answer(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Everything the server sends until it closes the connection (each case's last
    request says ``Connection: close``), or until SAFETY runs out. ``half_close``: the
    client shuts its side once sent (werkzeug reads an unread body to the client's end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before taking the whole body
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:  # reset after the answer (a body left unread), or SAFETY out
            pass
        return answer


def _body_sent(answer: bytes) -> int:
    """Bytes of body the answer's one response carried (chunked framing undone)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"\r\ntransfer-encoding: chunked" not in head.lower():
        return len(body)
    size = 0
    while body:
        line, _, body = body.partition(b"\r\n")
        chunk = int(line.split(b";")[0] or b"0", 16)
        size, body = size + chunk, body[chunk + 2:]
        if not chunk:
            break
    return size


def _normalized(answer: bytes) -> list[bytes]:
    """The answer's lines without Date, Server and x-documentation-url (of each response
    it holds), a server's quote of the request line under the bare prefix."""
    lines = answer.replace(b"/wrap/", b"/bare/").split(b"\r\n")
    return [line for line in lines if not line.lower().startswith(IGNORED)]


def _traces(path: Path) -> list[str]:
    return path.read_text(encoding="latin-1").split() if path.exists() else []


def _logs_for(collector: Collector, count: int) -> list[dict[str, Any]]:
    """Every log posted, once ``count`` have arrived (or the wait is over)."""
    deadline = time.monotonic() + SAFETY
    while len(collector.logs) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return collector.logs


def _trace_of(log: dict[str, Any]) -> str:
    request = log["request"]["log"]["entries"][0]["request"]
    return next(h["value"] for h in request["headers"] if h["name"].lower() == "x-trace")


@pytest.mark.parametrize("server", list(SERVERS))
def test_hostile_input_same_answer_and_valid_logs(collector: Collector, tmp_path: Path,
                                                  server: str) -> None:
    traces = tmp_path / "traces"
    port = free_port()
    # A docs URL, so x-documentation-url is added (and left out of the comparison).
    env = server_env(collector, HOSTILE_TRACES=str(traces), README_MAX_BODY_BYTES="65536",
                     README_BASE_LOG_URL="https://docs.example.test")
    differ = {}
    sent = {}
    with serve(SERVERS[server](port), env, tmp_path, port):
        for name, make in CASES.items():
            if name in HANGS.get(server, ()):
                continue
            half = (server, name) in HALF_CLOSE
            bare = _normalized(_answer(port, make(port, "bare", f"bare-{name}"), half))
            answer = _answer(port, make(port, "wrap", name), half)
            wrapped = _normalized(answer)
            if wrapped != bare:
                differ[name] = (bare[:1], wrapped[:1])
            if name in BODY_NOT_ALLOWED and answer:
                sent[name] = _body_sent(answer)
        reached = [trace for trace in _traces(traces) if trace not in NOT_LOGGED]
        logs = _logs_for(collector, len(reached))
    assert not differ, f"answers differ (bare, wrapped): {differ}"
    invalid = {}
    for batch in collector.batches:
        for index, problems in validate_batch(batch).items():
            invalid[_trace_of(batch[index]) if index >= 0 else "?"] = problems[:3]
    assert not invalid, f"logs the Metrics API refuses: {json.dumps(invalid, indent=1)}"
    bodies = {_trace_of(log): log["request"]["log"]["entries"][0]["request"].get("postData")
              for log in logs}
    wrong = {name: bodies[name] for name, text in WHOLE_BODIES.items()
             if name in bodies and not (server in NO_CHUNKED and name.startswith("chunked"))
             and bodies[name] != {"mimeType": "text/plain", "text": text}
             and bodies[name] != {"mimeType": "application/json", "text": text}}
    assert not wrong, f"bodies not logged whole: {wrong}"
    shown = dict(SHOWN_BODIES)
    if server in NO_CHUNKED:
        shown["partly-read-chunked"] = PARTLY_READ_FRAMED
    hidden = {name: bodies[name] for name, text in shown.items() if name in bodies
              and (bodies[name] or {}).get("text") != text
              and not str((bodies[name] or {}).get("comment")).startswith("incomplete")}
    assert not hidden, f"unread bodies neither logged nor said incomplete: {hidden}"
    if server not in CHUNKED_UNREAD_INCOMPLETE and "chunked-unread" in bodies:
        assert bodies["chunked-unread"] == {"mimeType": "text/plain", "text": "hello"}
    if server not in PARTLY_READ_CHUNKED_INCOMPLETE:
        assert bodies["partly-read-chunked"] == {"mimeType": "text/plain", "text": (
            PARTLY_READ_FRAMED if server in NO_CHUNKED else "0123456789abcdef")}
    sizes = {_trace_of(log): log["request"]["log"]["entries"][0]["response"]["content"]["size"]
             for log in logs if _trace_of(log) in sent}
    assert sizes == sent, "response sizes logged (left) differ from the bytes sent (right)"
    logged = sorted(_trace_of(log) for log in logs)
    assert logged == sorted(reached), "every call that reached the app is one log"
    assert {"status-four-digits", "gzip-bomb", "json-deep"} <= set(reached)
