"""The collector's HTTP side: routes, the dashboard's files and JSON, the Host guard.

Routes: ``POST /v1/request`` (the Metrics API), ``GET /v1`` (the docs-URL lookup: its
``baseUrl`` is this dashboard, so ``x-documentation-url`` opens the call here), ``GET /``
and ``GET /logs/<id>`` (the dashboard), ``GET /api/logs``, ``GET /api/logs/<id>``,
``GET /api/summary`` (its JSON) and ``DELETE /api/logs`` (its clear button). Another
method on one of these paths is answered ``405`` with ``Allow`` (``OPTIONS``: ``204`` with
``Allow``), an unknown path ``404``; a POST body may be sent chunked, as HTTP/1.1 allows.

On a loopback address only loopback Host names are answered (an IP literal such as
``127.0.0.1`` or ``[::1]``, or ``localhost``, with this port), so a web page cannot read
the captured traffic through DNS rebinding; ``DELETE`` also needs a same-origin
``Origin``, so another site cannot clear the dashboard.

Each answer goes out in one write (buffered ``wfile``, flushed once per request) on a
socket without Nagle's algorithm: a client that pools connections would otherwise wait
for a delayed ACK on every batch.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from readme_metrics.cli.collector.receiver import Receiver
from readme_metrics.version import __version__

__all__ = [
    "BODY_TIMEOUT", "HEAD_TIMEOUT", "IDLE_TIMEOUT", "MAX_POST_BYTES", "CollectorServer", "Handler",
    "allowed_methods", "is_loopback_name", "loopback_host", "make_server",
]

# Bigger POST bodies are refused: with max_body_bytes of 256 KiB per body and batches of
# tens of logs, a legitimate batch stays far below this.
MAX_POST_BYTES = 64 * 1024 * 1024
_DASHBOARD_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/charts.js": ("charts.js", "text/javascript; charset=utf-8"),
    "/curl.js": ("curl.js", "text/javascript; charset=utf-8"),
    "/detail.js": ("detail.js", "text/javascript; charset=utf-8"),
    "/util.js": ("util.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# The methods each route answers (the Allow header of a 405); every other dashboard path
# (its files, /logs/<id>, /api/logs/<id>, /api/summary) is GET and HEAD.
_ALLOWED = {"/v1/request": "POST", "/v1": "GET, HEAD", "/api/logs": "GET, HEAD, DELETE"}
_READ_ONLY = "GET, HEAD"
# A chunk's size line and a trailer line as RFC 9112 7.1 writes them (a bare LF may end
# a line, 2.2); anything else (a blank before the size, a bare CR, a trailer without a
# colon or folded) is refused: a proxy in front may read it otherwise.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_TRAILER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*\r?\n")
# Bounds for the lines of a chunked body (a chunk's size line with its extensions, a
# trailer line) and for the number of trailer lines: a client cannot make one unbounded.
_MAX_LINE = 8192
_MAX_TRAILERS = 100
_MALFORMED = "malformed chunked body"
# A connection's limits (a slowloris client held a handler thread forever): each read
# waits this long at most (a kept-alive connection idle as long is closed; the library's
# pool opens another), a request's line and headers, from their first byte, must all
# arrive within HEAD_TIMEOUT, and its body within BODY_TIMEOUT of the head's end (a
# batch is a few MiB at most; the library's POST gives up after its timeout, 3 s by
# default). Attributes of the server, so tests can shorten them.
IDLE_TIMEOUT = 30.0
HEAD_TIMEOUT = 60.0
BODY_TIMEOUT = 60.0
_DIGITS = re.compile(r"[0-9]+")


def allowed_methods(path: str) -> Optional[str]:
    """The ``Allow`` value for a route of the collector, or None for an unknown path."""
    path = path.rstrip("/") or "/"
    if path in _ALLOWED:
        return _ALLOWED[path]
    if (path in _DASHBOARD_FILES or path in ("/api/summary", "/favicon.ico")
            or path.startswith(("/logs/", "/api/logs/"))):
        return _READ_ONLY
    return None


# The dashboard loads nothing from outside, and this makes the browser hold it to that.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def is_loopback_name(name: str) -> bool:
    """``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``), nothing else."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_host(host_header: str, port: int) -> bool:
    """True when a Host header names this server by a loopback name and its port."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name, rest = host[:end + 1], host[end + 1:]
    else:
        name, sep, port_text = host.partition(":")
        rest = sep + port_text
    if rest:
        if rest != f":{port}":
            return False
    elif port != 80:  # the port is left out only when it is the default one
        return False
    return is_loopback_name(name)


def _misframed(headers: Any) -> Optional[str]:
    """Why a request's parsed ``headers`` (``http.client.parse_headers``) leave its body's
    length in doubt, if they do (RFC 9112 5.1, 5.2, 6.3: a 400 then). http.client ends
    the headers at a line it cannot read (a blank before the colon, none at all), so a
    Content-Length after it was never seen; it keeps a folded line in the previous
    field's value; and a proxy in front may read either otherwise, or take another of
    two lengths: the body would pass for the next request."""
    if headers.defects or headers.get_payload():
        return "a header line is not 'name: value' (no blank before the colon)"
    if any("\n" in value or "\r" in value for value in headers.values()):
        return "a header line is folded onto the next (obs-fold)"
    lengths = {part.strip() for line in headers.get_all("Content-Length", [])
               for part in line.split(",")}
    if len(lengths) > 1 or not all(_DIGITS.fullmatch(length) for length in lengths):
        return "Content-Length must be one number"
    return None


def _dashboard_file(name: str) -> bytes:
    return (resources.files("readme_metrics") / "dashboard" / name).read_bytes()


class _TimedReader(io.RawIOBase):
    """A connection's reads, bounded: each waits ``idle`` seconds at most; between
    :meth:`start_head` (its first byte) and :meth:`end_head` a request's head must arrive
    within ``head`` seconds, and after it its body within ``body`` seconds, however
    slowly their bytes trickle in. Raises TimeoutError, which
    ``BaseHTTPRequestHandler.handle_one_request`` answers by closing."""

    def __init__(self, sock: socket.socket, idle: float, head: float, body: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._head = head
        self._body = body
        self._in_head = False
        self._deadline: Optional[float] = None

    def readable(self) -> bool:
        return True

    def start_head(self) -> None:
        self._in_head, self._deadline = True, None

    def end_head(self) -> None:
        # Until the next request's start_head: only its body is read meanwhile.
        self._in_head, self._deadline = False, time.monotonic() + self._body

    def readinto(self, buffer: Any) -> int:
        timeout = self._idle
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's head or body took too long")
            timeout = min(timeout, left)
        self._sock.settimeout(timeout)
        count = self._sock.recv_into(buffer)
        if self._in_head and self._deadline is None:
            self._deadline = time.monotonic() + self._head
        return count


class CollectorServer(ThreadingHTTPServer):
    """The HTTP server of one collector; handlers reach the receiver through it."""

    daemon_threads = True
    idle_timeout = IDLE_TIMEOUT
    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT

    def __init__(self, address: tuple[str, int], receiver: Receiver, *,
                 loopback_only: bool) -> None:
        self.receiver = receiver
        self.loopback_only = loopback_only
        self._files: dict[str, bytes] = {}
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a reset or closed connection: an app killed with
        unread data on its kept-alive connection) is nothing to report; anything else
        keeps socketserver's traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def dashboard_file(self, name: str) -> bytes:
        """A dashboard file from the package data (read once, then kept)."""
        if name not in self._files:
            self._files[name] = _dashboard_file(name)
        return self._files[name]


class CollectorServer6(CollectorServer):
    """The same on an IPv6 address."""

    address_family = socket.AF_INET6


def make_server(host: str, port: int, receiver: Receiver, *,
                loopback_only: bool) -> CollectorServer:
    """Bind ``host:port`` (0: any free port); raises OSError if it cannot."""
    server_class = CollectorServer6 if ":" in host else CollectorServer
    return server_class((host, port), receiver, loopback_only=loopback_only)


class Handler(BaseHTTPRequestHandler):
    """One connection to the collector (keep-alive: the middleware pools connections)."""

    server: CollectorServer
    protocol_version = "HTTP/1.1"
    server_version = f"readme-metrics-collect/{__version__}"
    disable_nagle_algorithm = True
    wbufsize = -1  # answers are buffered and flushed once per request: one write

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per log is printed instead; polling would drown it

    # -- a connection's time limits (see IDLE_TIMEOUT) ---------------------------------

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket's own reader, replaced by a bounded one
        self._reader = _TimedReader(
            self.connection, self.server.idle_timeout, self.server.head_timeout,
            self.server.body_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.start_head()
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self._reader.end_head()  # the body: bounded by the body timeout from here
        problem = _misframed(self.headers) if parsed else None
        if problem is not None:  # nothing after this head can be told from a request
            self._refused(400, f"malformed request head: {problem}")
            return False
        return parsed

    # -- answers ----------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str,
              extra: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        if status != 204:  # RFC 9110 8.6: a 204 has no body, and no Content-Length
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self.close_connection:  # said, so that a pooling client does not reuse it
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, extra: Optional[dict[str, str]] = None) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace")
        self._send(status, body, "application/json; charset=utf-8", extra)

    # -- guards -----------------------------------------------------------------------

    def _host_ok(self) -> bool:
        if not self.server.loopback_only:
            return True
        host = self.headers.get("Host") or ""
        if loopback_host(host, self.server.server_address[1]):
            return True
        self._json(403, {"error": f"Host {host!r} is not served here"})
        return False

    def _auth_ok(self, what: str, body: bytes = b"") -> bool:
        receiver = self.server.receiver
        header = self.headers.get("Authorization")
        if receiver.authorized(header):
            return True
        receiver.unauthorized(what, header, body)
        self._json(401, {"error": "missing or wrong API key (Basic auth)"},
                   {"WWW-Authenticate": 'Basic realm="readme-metrics"'})
        return False

    def _method_not_allowed(self, path: str) -> bool:
        """Answer 405 (with ``Allow``) when ``path`` is a route that does not take this
        method; True when answered. An unknown path is left to the caller's 404."""
        allow = allowed_methods(path)
        if allow is None or self.command in allow.split(", "):
            return False
        self._json(405, {"error": f"{self.command} is not allowed on {path} (only {allow})"},
                   {"Allow": f"{allow}, OPTIONS"})
        return True

    def _read_body(self) -> Optional[bytes]:
        """The request body (Content-Length or chunked), or None once answered 4xx."""
        if "Transfer-Encoding" in self.headers:
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        # One number, maybe listed again ("5, 5"): checked with the head (misframed).
        length = -1 if length_header is None else int(length_header.split(",")[0])
        if length < 0:
            return self._refused(411, "Content-Length required")
        if length > MAX_POST_BYTES:
            return self._refused(413, f"body over {MAX_POST_BYTES} bytes")
        return self.rfile.read(length)

    def _refused(self, status: int, error: str) -> Optional[bytes]:
        """Answer a body that cannot be read (the rest of it is left unread) and close the
        connection after it: None, what :meth:`_read_body` returns then."""
        self.close_connection = True
        self._json(status, {"error": error})
        return None

    def _optional_body(self) -> Optional[bytes]:
        """The body of a request that may come without one (b""), read whatever the route
        does with it: left unread on a kept-alive connection, it was taken for the next
        request. None once answered 4xx, as :meth:`_read_body`."""
        if "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            return self._read_body()
        return b""

    def _read_chunked(self) -> Optional[bytes]:
        """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1), bounded by MAX_POST_BYTES.

        HTTP/1.1 clients may send any body so (a stream, a proxy that re-frames); it
        was refused with 411. The connection is closed after a refusal (the rest of the
        body is not read), and when Content-Length came too or the request is HTTP/1.0
        (which has no chunked coding), as RFC 9112 6.1 and 6.3 ask.
        """
        if "Content-Length" in self.headers or self.request_version == "HTTP/1.0":
            self.close_connection = True
        codings = [coding.strip().lower()
                   for line in self.headers.get_all("Transfer-Encoding", [])
                   for coding in line.split(",")]  # two lines are one list (RFC 9110 5.3)
        if codings != ["chunked"]:
            return self._refused(501, "Transfer-Encoding other than chunked is not supported")
        body = bytearray()
        while True:
            sized = _SIZE_LINE.fullmatch(self.rfile.readline(_MAX_LINE + 1))
            if sized is None:
                return self._refused(400, _MALFORMED)
            size = int(sized[1], 16)
            if size == 0:
                break
            if len(body) + size > MAX_POST_BYTES:
                return self._refused(413, f"body over {MAX_POST_BYTES} bytes")
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                return self._refused(400, _MALFORMED)
            body += data
        for _ in range(_MAX_TRAILERS + 1):  # trailer fields, ignored, then the blank line
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return bytes(body)
            if not _TRAILER_LINE.fullmatch(line):
                break
        return self._refused(400, _MALFORMED)

    # -- methods ----------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        if body is None or not self._host_ok():
            return
        path = urlsplit(self.path).path
        if self._method_not_allowed(path):
            return
        if path.rstrip("/") != "/v1/request":
            self._json(404, {"error": "not found"})
            return
        if not self._auth_ok("POST /v1/request", body):
            return
        receiver = self.server.receiver
        try:
            status, answer = receiver.receive(body, self.headers.get("Content-Type") or "")
        except OSError as exc:  # the HAR file could not be written: retry later
            receiver.console.refused("har", 1, f"cannot write the HAR file: {exc}")
            status, answer = 503, {"error": "cannot write the HAR file"}
        self._json(status, answer)

    def do_DELETE(self) -> None:  # noqa: N802
        if self._optional_body() is None or not self._host_ok() or self._method_not_allowed(
                urlsplit(self.path).path):
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host')}":
            self._json(403, {"error": "cross-origin requests may not clear the dashboard"})
        elif urlsplit(self.path).path == "/api/logs":
            self.server.receiver.store.clear()
            self._json(200, {"cleared": True, "generation": self.server.receiver.store.generation})
        else:
            self._json(404, {"error": "not found"})

    def do_PUT(self) -> None:  # noqa: N802
        """PUT and PATCH: no route takes them (405 on a route, else 404); they were
        answered 501 in HTML by http.server, unlike every other answer here."""
        if self._optional_body() is None or not self._host_ok():
            return
        if not self._method_not_allowed(urlsplit(self.path).path):
            self._json(404, {"error": "not found"})

    do_PATCH = do_PUT

    def do_OPTIONS(self) -> None:  # noqa: N802
        """The methods a route takes, in ``Allow`` (no CORS headers: the dashboard is
        read from its own origin only)."""
        if self._optional_body() is None or not self._host_ok():
            return
        allow = allowed_methods(urlsplit(self.path).path)
        if allow is None:
            self._json(404, {"error": "not found"})
        else:
            self._send(204, b"", "text/plain", {"Allow": f"{allow}, OPTIONS"})

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if self._optional_body() is None or not self._host_ok():
            return
        parts = urlsplit(self.path)
        path = parts.path
        if self._method_not_allowed(path):
            return
        store = self.server.receiver.store
        routes: dict[str, Callable[[], None]] = {
            "/v1": self._v1,
            "/api/logs": lambda: self._logs(parts.query),
            "/api/summary": lambda: self._json(200, store.summary()),
            "/favicon.ico": lambda: self._send(204, b"", "image/x-icon"),
        }
        if path in routes:
            routes[path]()
        elif path in _DASHBOARD_FILES or path.startswith("/logs/"):
            name, content_type = _DASHBOARD_FILES.get(path, _DASHBOARD_FILES["/"])
            self._send(200, self.server.dashboard_file(name), content_type,
                       {"Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"})
        elif path.startswith("/api/logs/"):
            found = store.detail(unquote(path[len("/api/logs/"):]))
            if found is None:
                self._json(404, {"error": f"no such log (kept: the last {store.keep})"})
            else:
                self._json(200, found)
        else:
            self._json(404, {"error": "not found"})

    def _v1(self) -> None:
        """The docs-URL lookup (``GET /v1``): this dashboard is the project's docs site."""
        if self._auth_ok("GET /v1 (the documentation URL lookup)"):
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
            self._json(200, {"baseUrl": f"http://{host}"})

    def _logs(self, query: str) -> None:
        params = parse_qs(query)
        try:
            after = int(params.get("after", ["0"])[0])
            limit = min(max(int(params.get("limit", ["500"])[0]), 1), 5000)
        except ValueError:
            self._json(400, {"error": "after and limit must be integers"})
            return
        store = self.server.receiver.store
        self._json(200, {"logs": store.rows(after, limit), "last": store.seq,
                         "generation": store.generation})
