"""The collector's HTTP side: its server, and the handler answering each request.

Routes (:mod:`.routes`): ``POST /v1/request`` (the Metrics API), ``GET /v1`` (the
docs-URL lookup: its ``baseUrl`` is this dashboard, so ``x-documentation-url`` opens the
call here), ``GET /`` and ``GET /logs/<id>`` (the dashboard), ``GET /api/logs``, ``GET
/api/logs/<id>``, ``GET /api/summary`` (its JSON) and ``DELETE /api/logs`` (its clear
button). Another method on one of these paths is answered ``405`` with ``Allow``
(``OPTIONS``: ``204`` with ``Allow``), an unknown path ``404``; a POST body may be sent
chunked, as HTTP/1.1 allows (:mod:`.framing`).

On a loopback address only loopback Host names are answered (:mod:`.hosts`: no DNS
rebinding); ``DELETE`` also needs a same-origin ``Origin``, so another site cannot clear
the dashboard. A connection's reads are bounded in time (:mod:`.timed_reader`).

Each answer goes out in one write (buffered ``wfile``, flushed once per request) on a
socket without Nagle's algorithm: a client that pools connections would otherwise wait
for a delayed ACK on every batch.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from readme_metrics.cli.collector.framing import (
    MAX_POST_BYTES,
    Refused,
    closes_after_chunked,
    misframed,
    read_body,
)
from readme_metrics.cli.collector.hosts import is_loopback_name, loopback_host
from readme_metrics.cli.collector.receiver import Receiver
from readme_metrics.cli.collector.routes import (
    CSP,
    DASHBOARD_FILES,
    allowed_methods,
    dashboard_file,
)
from readme_metrics.cli.collector.timed_reader import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    IDLE_TIMEOUT,
    TimedReader,
)
from readme_metrics.version import __version__

# (MAX_POST_BYTES, the timeouts, allowed_methods and the Host checks: from their modules,
# importable from here as they were.)
__all__ = [
    "BODY_TIMEOUT", "HEAD_TIMEOUT", "IDLE_TIMEOUT", "MAX_POST_BYTES", "CollectorServer", "Handler",
    "allowed_methods", "is_loopback_name", "loopback_host", "make_server",
]


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
            self._files[name] = dashboard_file(name)
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
        self._reader = TimedReader(
            self.connection, self.server.idle_timeout, self.server.head_timeout,
            self.server.body_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.start_head()
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self._reader.end_head()  # the body: bounded by the body timeout from here
        problem = misframed(self.headers) if parsed else None
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
        if "Transfer-Encoding" in self.headers and closes_after_chunked(
                self.headers, self.request_version):
            self.close_connection = True
        body = read_body(self.rfile, self.headers)
        if isinstance(body, Refused):
            return self._refused(body.status, body.error)
        return body

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
        elif path in DASHBOARD_FILES or path.startswith("/logs/"):
            name, content_type = DASHBOARD_FILES.get(path, DASHBOARD_FILES["/"])
            self._send(200, self.server.dashboard_file(name), content_type,
                       {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"})
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
