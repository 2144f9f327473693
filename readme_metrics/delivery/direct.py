"""POSTs to the Metrics API over kept-alive sockets of its own (the direct path).

requests spends several times the CPU of the HTTP exchange itself on each POST
(preparing, hooks, adapters, urllib3's pool and response wrappers), and so does
``http.client`` reading the answer (a buffered file over the socket and the ``email``
package's parser). Where no proxy is involved, a POST needs none of that: this module
sends the very headers the transport's ``requests.Session`` prepared (so the bytes on
the wire are the same), as one header block made once by ``http.client`` itself, the
body in the same ``sendmsg`` (the pieces of a :class:`~.encode.Body` as they are, the
batch never joined; over TLS, which has no ``sendmsg``, in writes of up to 64 KiB, a
larger piece alone); reads the answer with :mod:`.reader` (``http.client``'s rules,
without its machinery); verifies TLS as requests does (:mod:`.tls`); sends back cookies
the API sets through the session's own jar; and keeps each connection alive between
POSTs, like requests' pool. A POST takes three system calls when the answer comes in
one segment: the idle check, the send, one ``recv``.

What it does not trust: the server, nor the name server. Each POST is bounded as a
whole by the watchdog (a server dripping its answer is cut at the deadline; while the
watchdog runs the socket blocks, so a read is one system call; when it cannot run,
socket timeouts bound each step, and the send's system calls and the answer's reads
share what is left of the timeout); the host name's lookup, which nothing can cut, is
waited for only until the same deadline (:mod:`.resolve`); a kept-alive connection the
server closed or wrote to while idle is replaced before use; a connection is reused only
after an answer read in full, with nothing after it, and never after an error. Nothing is
retried here: a POST that fails raises the ``requests`` exception requests would have
raised (``Timeout``, ``ConnectionError``, ``SSLError``) and the delivery policy decides,
as before; but once the answer's status line and headers came, a body that breaks after
them gives the answer all the same (``reader.read_answer``'s ``verdict_first``).

Its parts: the connection (:mod:`.direct_connect`), the writes (:mod:`.direct_send`).
"""

from __future__ import annotations

import http.client
import math
import re
import select
import ssl
import threading
import time
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import requests
from requests.cookies import MockRequest, MockResponse, get_cookie_header

from readme_metrics.delivery import post_progress, reader, resolve, tls, watchdog
from readme_metrics.delivery.answer import MAX_CONTENT, Answer
from readme_metrics.delivery.direct_connect import Connection as _Connection
from readme_metrics.delivery.direct_connect import open_socket as _open
from readme_metrics.delivery.direct_send import gather as _gather
from readme_metrics.delivery.direct_send import send as _send
from readme_metrics.delivery.direct_send import write as _write
from readme_metrics.delivery.direct_send import write_one as _write_one
from readme_metrics.delivery.encode import Body
from readme_metrics.delivery.errors import requests_error
from readme_metrics.delivery.limits import MAX_SENDERS

# (its connection and its writes are direct_connect's and direct_send's: importable from
# here as before)
__all__ = ["DirectPoster", "Headers", "_Connection", "_dropped", "_gather", "_open",
           "_send", "_write", "_write_one"]

#: The headers of a POST: those before ``Content-Length`` and those after it, encoded.
Headers = tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]


#: A header value ``http.client`` refuses to send (a line break not folding the line).
_ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search


def _put_head(connection: http.client.HTTPConnection, path: str, headers: Headers,
              length: bytes) -> None:
    """Start a POST of ``path`` on ``connection``: ``headers`` with Content-Length
    ``length`` in its place among them (the block is sent by ``endheaders``)."""
    connection.putrequest("POST", path, skip_accept_encoding=True)
    before, after = headers
    for name, value in before:
        connection.putheader(name, value)
    connection.putheader(b"Content-Length", length)
    for name, value in after:
        connection.putheader(name, value)


def _template(host: str, port: int, default_port: int, path: str,
              headers: Headers) -> Optional[tuple[bytes, bytes]]:
    """The header block ``http.client`` sends for a POST with ``headers``, made once by
    ``http.client`` itself: (what comes before the ``\\r\\nContent-Length: `` line,
    what comes after its value). None if it cannot be made."""
    probe = http.client.HTTPConnection(host, port)
    probe.default_port = default_port
    sent: list[bytes] = []
    probe.send = sent.append  # type: ignore[method-assign,assignment]  # nothing connects
    try:
        _put_head(probe, path, headers, b"0")
        probe.endheaders()
    except (ValueError, http.client.HTTPException, UnicodeError):
        return None
    head = b"".join(sent)
    marker = b"\r\nContent-Length: 0\r\n"
    if head.count(marker) != 1:
        return None
    before, _, after = head.partition(marker)
    return before, b"\r\n" + after


def _dropped(sock: Any) -> bool:
    """True when an idle kept-alive socket is readable: the server closed it (or sent
    something unasked), so it must not carry the next request. As urllib3 checks."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
    except AttributeError:  # Windows: no poll, and no fd limit on select there
        return bool(select.select([sock], [], [], 0)[0])
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _encoded(headers: dict[str, str]) -> Headers:
    """``headers`` as bytes (http.client sends bytes as they are), in their order, split
    where their ``Content-Length`` is (the one of each body goes there)."""
    before: list[tuple[bytes, bytes]] = []
    after: list[tuple[bytes, bytes]] = []
    current = before
    for name, value in headers.items():
        if name.lower() == "content-length":
            current = after
        else:
            current.append((name.encode("ascii"), value.encode("latin-1")))
    return before, after


class DirectPoster:
    """POSTs to one http(s) URL, reached without a proxy; thread-safe.

    ``template`` is the request the session prepared for ``url``: its headers are sent
    with every POST, in their order (the ``Content-Length`` among them is replaced by
    that of each body; the ``Cookie`` header comes from the jar at each POST, just
    before it), and its URL says where to connect; ``cookies`` is the session's jar
    (cookies the API sets are kept there and sent back); ``verify`` is requests' merged
    setting (True, or a CA bundle path).
    """

    route = "direct"

    def __init__(self, url: str, template: requests.PreparedRequest, verify: tls.Verify,
                 cookies: requests.cookies.RequestsCookieJar) -> None:
        # Where to connect and what to ask for come from the URL as requests prepared it
        # (an international host name in IDNA, the path percent-encoded), as it goes on
        # the wire through requests.
        parts = urlsplit(template.url or url)
        self.tls = parts.scheme == "https"
        self.url = url
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self.tls else 80)
        self.resolver = resolve.Resolver(self._host, self._port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The jar's Cookie header of the moment is added to each POST (see _head).
        headers = _encoded({name: value for name, value in template.headers.items()
                            if name.lower() != "cookie"})
        # The whole header block, made once by http.client: each POST only adds its
        # Content-Length (and the Cookie header, when the jar holds one).
        self._block = _template(self._host, self._port, 443 if self.tls else 80, path,
                                headers)
        if self._block is not None:
            self._length_at = self._block[0] + b"\r\nContent-Length: "
        self._verify = verify
        self._context: Optional[ssl.SSLContext] = None
        self._cookies = cookies
        self._has_cookies = bool(cookies)  # a jar is slow to ask, so the answer is kept
        self._cookie_request = template  # what the jar matches cookies against
        self._idle: list[_Connection] = []  # kept-alive connections, last used first
        self._lock = threading.Lock()
        self._closed = False
        #: The line of the check in flight (:meth:`answers`), cut by :meth:`end_check`.
        self._checking: Optional[watchdog.Line] = None
        #: :meth:`end_check` was called (close): no check more, one connecting stops.
        self._checks_ended = False

    def context(self) -> ssl.SSLContext:
        """The TLS context, made on first use (a missing CA bundle fails that POST only)."""
        if self._context is None:
            self._context = tls.context_for(self._verify)
        return self._context

    def post(self, body: Union[bytes, Body], seconds: float,
             stretch: Optional[watchdog.Stretch] = None, until: float = math.inf) -> Answer:
        """One POST of ``body`` (a :class:`~.encode.Body`'s pieces sent as they are) and
        its answer (body up to ``MAX_CONTENT``), within ``seconds`` (or ``stretch``'s
        bound, should it grow meanwhile, up to ``until``: :func:`.watchdog.limit`).

        Raises ``requests.RequestException``; ``requests.Timeout`` when cut at the deadline.
        """
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = _Connection(self)
        limit: Optional[watchdog.Limit] = None
        try:
            with watchdog.limit(seconds, connection.line, stretch, until) as limit:
                answer, reusable = self._exchange(connection, body, seconds,
                                                  limit.watched)
            if limit.fired and not limit.verdict_at:
                # The cut came while the status line or header lines did: the reader
                # took the shut-down socket for the server's close (an API stalled
                # after "HTTP/1.1 202"). No answer: sent again, as any timeout.
                raise TimeoutError("cut before the answer's header lines ended")
        except BaseException as exc:
            connection.close()
            if isinstance(exc, Exception):
                fired = limit is not None and limit.fired
                if fired and limit is not None:  # the bound it was cut at (it may have grown)
                    seconds = max(seconds, limit.bound)
                # Cut before its request went (while connecting, or as it connected:
                # watchdog.watch) is a connect timeout, not an answer late (review109).
                raise requests_error(exc, fired, seconds, connection.connecting or (
                    fired and limit is not None and not limit.connected)) from None
            raise
        if limit.fired or not reusable:
            # Cut just after the answer came (the socket is shut down), or the answer
            # was not read in full: that connection carries nothing more.
            connection.close()
            if limit.fired and limit.verdict_at:  # answered in time, its body cut
                answer.waited = limit.verdict_at - limit.began
        else:
            self._keep(connection)
        return answer

    def answers(self, seconds: float) -> bool:
        """True if the Metrics API's host answers a request that carries no logs within
        ``seconds``: a ``GET`` of the POSTs' own path, on a connection of its own (never a
        kept-alive one: a connection it black-holed stays so), without the API key (no
        ``Authorization``: nothing is counted or logged for it). Any status counts, a 404
        or a 401 too: only whether the host answers is asked (:mod:`.checks`). Never
        raises."""
        connection = _Connection(self)
        self._checking = connection.line
        try:
            if self._checks_ended:  # (read after _checking is set: see end_check)
                return False
            with watchdog.limit(seconds, connection.line) as limit:
                deadline = None if limit.watched else time.monotonic() + seconds
                sock = connection.connect(seconds, self._ended)
                if limit.watched:
                    connection.set_timeout(None)
                _write_one(sock, self._check_head, deadline)
                got = b""
                while len(got) < 5:
                    if deadline is not None:
                        reader.time_left(sock, deadline)
                    chunk = sock.recv(64)
                    if not chunk:
                        break
                    got += chunk
            return got.startswith(b"HTTP/") and not limit.fired
        except Exception:
            return False
        finally:
            self._checking = None
            connection.close()

    def end_check(self) -> None:
        """Cut the check in flight, if any (its socket shut down, as the watchdog cuts one
        at its deadline, a TCP connect too), and make no check more: close() does not
        wait for it past shutdown_timeout. Never raises."""
        self._checks_ended = True  # (set before _checking is read: see answers)
        line = self._checking
        if line is not None:
            watchdog.cut(line)

    def _ended(self) -> bool:
        """True once :meth:`end_check` was called (for :func:`_open`)."""
        return self._checks_ended

    @property
    def _check_head(self) -> bytes:
        """The head of :meth:`answers`' GET: the POST's own request line's path and
        ``Host`` and ``User-Agent`` headers, nothing else (no key)."""
        lines = self._block[0].split(b"\r\n") if self._block is not None else [b""]
        path = lines[0].split(b" ")[1] if lines[0].count(b" ") == 2 else b"/"
        keep = [line for line in lines[1:]
                if line.lower().startswith((b"host:", b"user-agent:"))]
        return b"\r\n".join([b"GET " + path + b" HTTP/1.1", *keep,
                              b"Connection: close", b"", b""])

    def _exchange(self, connection: _Connection, body: Union[bytes, Body], seconds: float,
                  watched: bool) -> tuple[Answer, bool]:
        """Send the request and read the whole answer on ``connection``; the answer,
        and whether the connection may carry another POST."""
        # Without the watchdog, the answer's reads share what is left of ``seconds``: a
        # timeout per read alone would let a server dripping its answer hold the POST.
        deadline = None if watched else time.monotonic() + seconds
        sock = connection.sock
        if sock is not None and _dropped(sock):
            connection.close()
            sock = None
        if sock is None:
            sock = connection.connect(seconds)
            if watched:  # cut as it connected: cut now (before its socket blocks)
                watchdog.watch(connection.line)
        # The watchdog bounds the POST: a socket that blocks reads in one system call,
        # where one with a timeout polls first. Without it, the send's system calls and
        # the answer's reads share what is left of ``seconds``.
        if watched:
            connection.set_timeout(None)
        pieces = body.pieces if isinstance(body, Body) else (body,)
        post_progress.writing()
        failed = _send(sock, self._head(len(body)), pieces, deadline)
        if failed is None:  # (its last byte went: the API may have it from now on)
            post_progress.written()
        try:
            answer, reusable = reader.read_answer(
                reader.Stream(sock, deadline), MAX_CONTENT, verdict_first=True,
                on_verdict=watchdog.verdict if watched else None)
        except Exception:
            if failed is not None:  # no answer came: the send's error is the story
                raise failed from None
            raise
        if deadline is not None:  # the reads left the socket's timeout at what was left
            connection.timeout = sock.gettimeout()
        headers = answer.headers
        if "set-cookie" in headers.index or "set-cookie2" in headers.index:
            self._cookies.extract_cookies(
                MockResponse(headers),  # type: ignore[arg-type]
                MockRequest(self._cookie_request))  # type: ignore[arg-type]
            self._has_cookies = bool(self._cookies)
        # Part of the body still unsent when the server answered: never reuse the line.
        return answer, reusable and failed is None

    def _head(self, length: int) -> bytes:
        """The header block of a POST of ``length`` bytes: the one ``http.client`` made,
        with the jar's Cookie header (checked as ``http.client`` checks a value) and
        the length."""
        block = self._block
        if block is None:  # requests prepared headers no HTTP/1.1 request can carry
            raise http.client.HTTPException("the request's headers cannot be sent")
        size = str(length).encode("ascii")
        cookie = (get_cookie_header(self._cookies, self._cookie_request)
                  if self._has_cookies else None)
        if not cookie:
            return self._length_at + size + block[1]
        value = cookie.encode("latin-1")
        if _ILLEGAL_VALUE(value):
            raise ValueError("invalid Cookie header value")
        return b"".join((block[0], b"\r\nCookie: ", value, b"\r\nContent-Length: ",
                         size, block[1]))

    def _keep(self, connection: _Connection) -> None:
        """Keep ``connection`` for the next POST, or close it (transport closed, or as
        many idle as senders already)."""
        with self._lock:
            if not self._closed and len(self._idle) < MAX_SENDERS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle connections; one in use is closed when its POST ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
