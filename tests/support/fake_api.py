"""A real, programmable Metrics API stand-in on 127.0.0.1.

Tests never mock ``requests``: the middleware posts over real TCP to this server, which
records every request and answers as the test programs it (status codes, Retry-After,
hanging, closing the connection).
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

from tests.support.polling import PATIENCE, SERVE_POLL
from tests.support.ports import free_port, free_ports

__all__ = ["INLINE_TIMEOUT", "Collector", "LogsMissing", "Received", "Reply", "basic_auth",
           "describe", "free_port", "free_ports", "inline_timeout"]

#: The ``timeout`` of a middleware whose test counts the logs a collector got and is not
#: about timeouts. A POST answered past README_TIMEOUT's 3 s (this collector's thread
#: starved on a loaded machine: CI31, spec22, flaky58) is sent again, the API having read
#: it: two logs for one exchange, at-least-once delivery as documented. 30 s keeps a real
#: duplicate (a log sent twice with the answer in time) in sight.
INLINE_TIMEOUT = 30.0


def inline_timeout(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of a config (or a Delivery) given ``INLINE_TIMEOUT`` where they are
    inline and set no ``timeout`` of their own: a fixture's (flaky61)."""
    if not options.get("background_worker_mode", True):
        options.setdefault("timeout", INLINE_TIMEOUT)
    return options


class LogsMissing(AssertionError):
    """Fewer logs arrived than a test waited for (a helper running the app's server adds
    that server's own output to the message, and what its exit delivered: the
    ``collector`` that waited, :func:`tests.test_e2e_servers.serve`)."""

    def __init__(self, message: str, collector: Optional[Collector] = None) -> None:
        super().__init__(message)
        self.collector = collector


@dataclass
class Received:
    """One HTTP request the collector received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple = ()  # the client's (address, port): one per TCP connection
    # The body parsed once, by :meth:`Collector._logs_of` (not part of the request).
    _parsed: Optional[list[dict[str, Any]]] = field(default=None, init=False, repr=False,
                                                    compare=False)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """How the collector answers one request."""

    status: int = 202
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to sleep before answering
    delay: float = 0.0  # seconds to wait before a *successful* answer (a slow API)
    drop: bool = False  # close the connection without answering
    gate: Optional[threading.Event] = None  # answer only once it is set (or after 60 s)
    partial: bytes = b""  # send only these bytes of an answer, then reset the connection


class Collector:
    """A threaded HTTP server recording every request; programmable replies.

    ``replies`` is a queue of :class:`Reply` consumed one per POST; when it is empty,
    ``judge(received)`` answers if set (a reply that depends on the POST: its size, a
    log in it), else ``default``. ``GET /v1`` (the docs URL lookup) answers ``get_v1`` if set.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.judge: Optional[Callable[[Received], Reply]] = None
        self.get_v1: Optional[Callable[[Received], Reply]] = None
        self._cond = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _read(self) -> Received:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                return Received(self.command, self.path, dict(self.headers), body,
                                tuple(self.client_address))

            def _answer(self, reply: Reply, answering: Callable[[], None] = lambda: None
                        ) -> None:
                """Answer as ``reply`` says; ``answering()`` right before the first byte
                (or the close) goes out: from then on the client may have it."""
                if reply.gate is not None:
                    reply.gate.wait(60)
                if reply.hang or reply.delay:
                    time.sleep(reply.hang or reply.delay)
                answering()
                if reply.partial:
                    self.close_connection = True
                    self.wfile.write(reply.partial)
                    self.wfile.flush()
                    # A RST, not the server's usual FIN after the answer: close now.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if reply.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_POST(self) -> None:  # noqa: N802
                received = self._read()
                with collector._cond:
                    if collector.replies:
                        reply = collector.replies.popleft()
                    elif collector.judge is not None:
                        reply = collector.judge(received)
                    else:
                        reply = collector.default
                    if (reply.status < 300 and not reply.drop and not reply.hang
                            and not reply.partial):
                        collector.received.append(received)
                        collector._cond.notify_all()
                    else:
                        collector.failed.append(received)
                    collector.in_flight += 1
                    collector.peak_in_flight = max(collector.peak_in_flight,
                                                   collector.in_flight)
                answered = []

                def answering() -> None:  # no longer in flight: the client may have it
                    if not answered:
                        answered.append(True)
                        with collector._cond:
                            collector.in_flight -= 1

                try:
                    self._answer(reply, answering)
                finally:
                    answering()  # (an answer that failed before it began)

            def do_GET(self) -> None:  # noqa: N802
                received = self._read()
                with collector._cond:
                    collector.gets.append(received)
                if collector.get_v1 is not None and self.path.startswith("/v1"):
                    self._answer(collector.get_v1(received))
                else:
                    self._answer(Reply(404, b'{"error": "not found"}'))

        self.failed: list[Received] = []
        self.in_flight = 0  # POSTs read and not yet answered (no byte of the answer sent)
        self.peak_in_flight = 0  # the most POSTs ever in that state at once
        self.gets: list[Received] = []
        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is expected, not noise

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(SERVE_POLL,),
                                        daemon=True)

    def start(self) -> Collector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forget(self) -> None:
        """Drop every request received so far: a test whose servers a module fixture
        keeps (posting here) counts and reads only the logs that came after (each test
        before it waited for all of its own)."""
        with self._cond:
            self.received.clear()

    # -- reading what arrived -------------------------------------------------------

    def _logs_of(self, received: Received) -> list[dict[str, Any]]:
        """``received``'s batch, parsed the first time it is asked for and kept on it:
        a test that polls while many POSTs arrive parses each body once, not once per
        poll. Called with ``_cond`` held."""
        if received._parsed is None:
            received._parsed = received.json()
        return received._parsed

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        """Every accepted POST body, parsed (each once: a new list each call, the same
        log objects: copy one before changing it)."""
        with self._cond:
            return [list(self._logs_of(r)) for r in self.received if r.path == "/v1/request"]

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Every accepted log object, in arrival order (a new list each call, the same
        log objects, as :attr:`batches`)."""
        with self._cond:
            return [log for r in self.received if r.path == "/v1/request"
                    for log in self._logs_of(r)]

    @property
    def urls(self) -> list[str]:
        """The request URL of each accepted log (the first entry's), in arrival order."""
        return [log["request"]["log"]["entries"][0]["request"]["url"] for log in self.logs]

    def wait_for_logs(self, count: int, timeout: float = PATIENCE) -> list[dict[str, Any]]:
        """Block until ``count`` logs arrived (or raise), then return all of them (as
        :attr:`logs`). Each poll parses only the POSTs that arrived since the last."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                have = sum(len(self._logs_of(r)) for r in self.received
                           if r.path == "/v1/request")
                if have >= count:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LogsMissing(f"collector got {have} logs, expected {count}", self)
                self._cond.wait(left)
            return self.logs

    def wait_for_log(self, match: Callable[[dict[str, Any]], bool],
                     timeout: float = PATIENCE) -> dict[str, Any]:
        """Block until a log that ``match`` accepts arrived (or raise), then return the
        first: a test sharing the collector with others finds its own log (by a trace
        header, say), whatever the others sent."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for log in self.logs:
                    if match(log):
                        return log
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LogsMissing(f"no log of the {len(self.logs)} received matched",
                                      self)
                self._cond.wait(left)

    def wait_for_matching(self, match: Callable[[dict[str, Any]], bool], count: int,
                          timeout: float = PATIENCE) -> list[dict[str, Any]]:
        """Block until ``count`` logs that ``match`` accepts arrived (or raise), then
        return those (all of them, in arrival order): :meth:`wait_for_logs` for a test
        sharing the collector with others (tests/support/trace_share.py's ``Share``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                mine = [log for log in self.logs if match(log)]
                if len(mine) >= count:
                    return mine
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LogsMissing(f"collector got {len(mine)} logs of this test's, "
                                      f"expected {count}", self)
                self._cond.wait(left)

    def wait_for_posts(self, count: int, timeout: float = PATIENCE) -> list[Received]:
        """Block until ``count`` accepted POSTs of logs arrived (or raise), then return
        them, unparsed: a test that sends many requests and reads only the last batch
        waits without parsing any body."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                posts = [r for r in self.received if r.path == "/v1/request"]
                if len(posts) >= count:
                    return posts
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LogsMissing(f"collector got {len(posts)} POSTs, expected {count}",
                                      self)
                self._cond.wait(left)

    def wait_for_only(self, count: int, quiet: float = 0.5,
                      timeout: float = PATIENCE) -> list[dict[str, Any]]:
        """:meth:`wait_for_logs` ``count``, then ``quiet`` seconds in which one more (a
        duplicate) would arrive: exactly ``count`` logs, or an AssertionError that
        describes them (:func:`describe`). Returns them."""
        self.wait_for_logs(count, timeout)
        time.sleep(quiet)
        logs = self.logs
        assert len(logs) == count, describe(logs)
        return logs


def describe(logs: list[dict[str, Any]]) -> str:
    """One line per log (method, url, status, ``_id``; a repeated ``_id`` marked): the
    message of a failed count, so that a duplicate or an unexpected log shows which."""
    counts: dict[Any, int] = {}
    for log in logs:
        counts[log.get("_id")] = counts.get(log.get("_id"), 0) + 1
    lines = []
    for log in logs:
        entry = log["request"]["log"]["entries"][0]
        mark = " (repeated)" if counts[log.get("_id")] > 1 else ""
        lines.append(f"{entry['request']['method']} {entry['request']['url']} "
                     f"{entry['response']['status']} {log.get('_id')}{mark}")
    return "\n".join([f"{len(logs)} logs:", *lines])


def basic_auth(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()
