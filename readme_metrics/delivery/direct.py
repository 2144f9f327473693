"""POSTs to the Metrics API over kept-alive ``http.client`` connections (the direct path).

requests spends several times the CPU of the HTTP exchange itself on each POST
(preparing, hooks, adapters, urllib3's pool and response wrappers). Where no proxy is
involved, a POST needs none of that: this module sends the very headers the transport's
``requests.Session`` prepared (so the bytes on the wire are the same) over a plain
``http.client`` connection, verifies TLS as requests does (:mod:`.tls`), sends back
cookies the API sets through the session's own jar, and keeps each connection alive
between POSTs, like requests' pool. The header block is made once, by ``http.client``
itself, and each POST only adds its Content-Length (a POST carrying a cookie has its
block built by ``http.client`` each time); the answer is read by ``http.client``.

What it does not trust: the server. Each POST is bounded as a whole by the watchdog
(a server dripping its answer is cut at the deadline); a kept-alive connection the
server closed or wrote to while idle is replaced before use; a connection is reused only
after an answer read in full and never after an error. Nothing is retried here: a POST
that fails raises the ``requests`` exception requests would have raised (``Timeout``,
``ConnectionError``, ``SSLError``) and the delivery policy decides, as before.
"""

from __future__ import annotations

import errno
import http.client
import select
import socket
import ssl
import threading
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests
from requests.cookies import MockRequest, MockResponse, get_cookie_header

from readme_metrics.delivery import tls, watchdog
from readme_metrics.delivery.answer import MAX_CONTENT, Answer, FinalResponse
from readme_metrics.delivery.errors import requests_error
from readme_metrics.delivery.policy import MAX_SENDERS

#: The headers of a POST: those before ``Content-Length`` and those after it, encoded.
Headers = tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]


#: Largest body sent in one piece with the header block (larger ones are sent apart).
_COALESCE_MAX = 64 * 1024


class _Connection(http.client.HTTPConnection):
    """``http.client``'s connection with TCP_NODELAY (as urllib3), optional TLS, and a
    socket the watchdog can reach while it connects or reads; interim answers passed over."""

    response_class = FinalResponse

    def __init__(self, host: str, port: int, poster: DirectPoster) -> None:
        self.default_port = 443 if poster.tls else 80  # no ":443" in the Host header
        super().__init__(host, port)
        self.line = watchdog.Line()
        self.connecting = False
        self.reusable = True  # False once a POST on it ended with its body unsent
        self._poster = poster
        self._held: Optional[bytes] = None

    def connect(self) -> None:
        """TCP (then TLS) connection to the Metrics API, each step within ``timeout``."""
        self.connecting = True
        self.line.sock = None
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP after all (some test doubles): no harm
            pass
        self.sock = self.line.sock = sock
        if self._poster.tls:
            # Wrapping detaches ``sock``: the watchdog must hold the TLS socket from then
            # on, or a deadline would shut down a dead descriptor and leave a server
            # dripping its answer over TLS unbounded. The handshake comes after, each
            # read of it within ``timeout`` and all of it within the limit.
            wrapped = self._poster.context().wrap_socket(
                sock, server_hostname=tls.server_name(self.host),
                do_handshake_on_connect=False)
            self.sock = self.line.sock = wrapped
            wrapped.do_handshake()
        self.connecting = False

    def post(self, path: str, headers: Headers, body: bytes) -> None:
        """Send a POST of ``body`` with ``headers``, its ``Content-Length`` in between.

        ``http.client`` writes the header block and the body with two ``send`` calls; for
        a body of common size they go out as one here (see :meth:`send`), one system call
        and one TCP segment fewer per POST.
        """
        _put_head(self, path, headers, str(len(body)).encode("ascii"))
        if len(body) > _COALESCE_MAX:  # copying it would cost more than a system call
            self.endheaders(body)
            return
        self._held = body
        try:
            self.endheaders()
        finally:
            self._held = None

    def send(self, data: Any) -> None:
        """``http.client``'s send, with the held body appended to the header block."""
        held = self._held
        if held is not None:
            self._held = None
            data = data + held
        super().send(data)

    def post_prepared(self, head: bytes, body: bytes) -> None:
        """Send a request whose header block ``head`` was made beforehand (see
        :func:`_template`), then ``body``; connects first if needed."""
        if self.sock is None:
            self.connect()
        sock = self.sock
        if len(body) > _COALESCE_MAX:
            sock.sendall(head)
            sock.sendall(body)
        else:
            sock.sendall(head + body)

    def read_answer(self) -> http.client.HTTPResponse:
        """The answer to a request sent with :meth:`post_prepared`, status and headers
        read, as ``getresponse`` reads them (the same parser; the connection is closed
        when the answer says it will be, its socket kept by the answer until read)."""
        response = self.response_class(self.sock, method="POST")
        try:
            try:
                response.begin()
            except ConnectionError:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response
        except BaseException:
            response.close()
            raise


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
    ``http.client`` itself: (what comes before the Content-Length value, what comes after
    it). None if it cannot be made (each POST then goes through ``http.client``, which
    raises the same error)."""
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
    prefix, _, suffix = head.partition(marker)
    return prefix + b"\r\nContent-Length: ", b"\r\n" + suffix


def _send(post: Callable[[], None]) -> Optional[OSError]:
    """``post()``; the error if the server stopped reading, else None.

    A server may answer before it read the whole body (``413`` and ``Connection:
    close``, then it closes): sending then fails with a broken pipe or a reset, but the
    answer may be there to read. As urllib3 does, the caller still reads it, and only
    if there is none is the POST a connection error.
    """
    try:
        post()
    except OSError as exc:
        if (isinstance(exc, ssl.SSLError)
                or exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EPROTOTYPE)):
            raise
        return exc
    return None


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
    that of each body; the ``Cookie`` header comes from the jar at each POST), and its
    URL says where to connect; ``cookies`` is the session's jar (cookies the API sets
    are kept there and sent back); ``verify`` is requests' merged setting (True, or a CA
    bundle path).
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
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The jar's Cookie header of the moment is added to each POST (see _exchange).
        self._headers = _encoded({name: value for name, value in template.headers.items()
                                  if name.lower() != "cookie"})
        # The whole header block, made once: most POSTs only add their Content-Length.
        self._template = _template(self._host, self._port, 443 if self.tls else 80,
                                   self._path, self._headers)
        self._verify = verify
        self._context: Optional[ssl.SSLContext] = None
        self._cookies = cookies
        self._has_cookies = bool(cookies)  # a jar is slow to ask, so the answer is kept
        self._cookie_request = template  # what the jar matches cookies against
        self._idle: list[_Connection] = []  # kept-alive connections, last used first
        self._lock = threading.Lock()
        self._closed = False

    def context(self) -> ssl.SSLContext:
        """The TLS context, made on first use (a missing CA bundle fails that POST only)."""
        if self._context is None:
            self._context = tls.context_for(self._verify)
        return self._context

    def post(self, body: bytes, seconds: float) -> Answer:
        """One POST of ``body`` and its answer (body up to ``MAX_CONTENT``), within ``seconds``.

        Raises ``requests.RequestException``; ``requests.Timeout`` when cut at the deadline.
        """
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = _Connection(self._host, self._port, self)
        limit: Optional[watchdog.Limit] = None
        try:
            with watchdog.limit(seconds) as limit:
                answer = self._exchange(connection, body, seconds)
        except BaseException as exc:
            connection.close()
            if isinstance(exc, Exception):
                fired = limit is not None and limit.fired
                raise requests_error(exc, fired, seconds, connection.connecting) from None
            raise
        if limit.fired or not connection.reusable:
            # Cut just after the answer came (the socket is shut down), or answered
            # before the body was all sent: that connection carries nothing more.
            connection.close()
        else:
            self._keep(connection)
        return answer

    def _exchange(self, connection: _Connection, body: bytes, seconds: float) -> Answer:
        """Send the request and read the whole answer on ``connection``."""
        sock = connection.sock
        if sock is not None:
            if _dropped(sock):
                connection.close()
            else:
                sock.settimeout(seconds)
        watchdog.watch(connection.line)
        connection.timeout = seconds  # each step of connecting, if it has to
        headers = self._headers
        cookie = (get_cookie_header(self._cookies, self._cookie_request)
                  if self._has_cookies else None)
        template = self._template
        if template is not None and not cookie:
            # The block http.client would send, with this body's length: the same bytes
            # without building them again (its request steps cost more than the send).
            head = template[0] + str(len(body)).encode("ascii") + template[1]
            failed = _send(lambda: connection.post_prepared(head, body))
            read: Callable[[], http.client.HTTPResponse] = connection.read_answer
        else:
            if cookie:
                headers = ([*headers[0], (b"Cookie", cookie.encode("latin-1"))], headers[1])
            failed = _send(lambda: connection.post(self._path, headers, body))
            read = connection.getresponse
        try:
            response = read()
        except Exception:
            if failed is not None:  # no answer came: the send's error is the story
                raise failed from None
            raise
        if failed is not None:  # part of the body is still unsent: never reuse the line
            connection.reusable = False
        lengths = response.msg.get_all("Content-Length") or []
        if len(set(lengths)) > 1:  # which is right? requests refuses the answer too
            raise http.client.HTTPException(f"conflicting Content-Length: {lengths}")
        content = response.read(MAX_CONTENT + 1)
        if len(content) <= MAX_CONTENT and response.length:
            # Ended short of its Content-Length (cut, or the server hung up): an error,
            # as requests has it (a read of a set size does not raise it by itself).
            raise http.client.IncompleteRead(content, response.length)
        if len(content) > MAX_CONTENT or not response.isclosed():
            # More than anyone reads: the rest is left unread, so the line is closed.
            content = content[:MAX_CONTENT]
            connection.reusable = False
        message = response.msg
        if "Set-Cookie" in message or "Set-Cookie2" in message:
            self._cookies.extract_cookies(
                MockResponse(message),  # type: ignore[arg-type]
                MockRequest(self._cookie_request))  # type: ignore[arg-type]
            self._has_cookies = bool(self._cookies)
        return Answer(response.status, response.reason, message, content)

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
