"""The ``requests.Session`` of a transport, and POSTs through it (the proxy path).

The session is made for every transport: it holds the headers every POST carries
(``User-Agent``, ``Content-Type``, Basic auth with the API key, requests' defaults) and
the cookie jar, and it reads the environment's proxy and CA bundle settings, so both the
direct path (:mod:`readme_metrics.delivery.direct`) and this one send the same request.
:class:`SessionPoster` posts through it when the direct path does not apply (a proxy).

Public API of requests and urllib3 only: ``Session.send`` of a request prepared once, an
``HTTPAdapter`` subclass through its documented ``init_poolmanager`` /
``proxy_manager_for`` hooks, and urllib3's connection and pool classes subclassed so that
:mod:`readme_metrics.delivery.watchdog` can bound a whole POST (and, where no watchdog
runs, the answer's reads share what is left of the timeout, as on the direct route).
"""

from __future__ import annotations

import base64
import http.client
import io
import math
from collections.abc import Mapping
from typing import Any, Optional, Union

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from readme_metrics.delivery import post_progress, reader, watchdog
from readme_metrics.delivery.answer import MAX_CONTENT, Answer, FinalResponse
from readme_metrics.delivery.encode import Body
from readme_metrics.delivery.errors import requests_error
from readme_metrics.delivery.limits import MAX_SENDERS
from readme_metrics.version import __version__

USER_AGENT = f"readme-metrics-python@{__version__}"


def basic_token(api_key: str) -> str:
    """The Basic credentials ReadMe expects: base64 of ``"{api_key}:"`` (empty password)."""
    return base64.b64encode(f"{api_key}:".encode()).decode("ascii")


class BasicToken(requests.auth.AuthBase):
    """Sets our Authorization header (and keeps ~/.netrc from replacing it): the key as
    UTF-8, where requests' own ``auth=(key, "")`` encodes it as latin-1 and fails on any
    other character."""

    def __init__(self, token: str) -> None:
        self._header = f"Basic {token}"

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "BasicToken([REDACTED])"


def make_session(api_key: str) -> requests.Session:
    """A session sending our headers and credentials, with watched pooled connections."""
    session = requests.Session()
    session.headers.update({
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
    })
    session.auth = BasicToken(basic_token(api_key))
    adapter = _Adapter(pool_connections=1, pool_maxsize=MAX_SENDERS, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Response(FinalResponse):
    """:class:`.answer.FinalResponse`, whose reads share what is left of the running
    limit when no watchdog can cut the socket (a first POST at interpreter exit, where
    Python 3.12+ starts no thread): requests' timeout bounds each read only, and a
    server (or proxy) dripping its answer would hold the POST for as long as it drips.
    Also the answer to a proxy's ``CONNECT`` (``http.client`` reads it with this class).
    Header lines past ``http.client``'s limits leave the POST's status its verdict
    (``verdict_first``). A head that ended before the connection did is the verdict
    the running limit is told of (:func:`.watchdog.verdict`, as the direct route's
    reader does), the proxy's answer to a ``CONNECT`` excepted.
    """

    verdict_first = True

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        running = watchdog.current()
        if running is not None and not running.watched:
            sock = _Deadlined(sock, running.deadline)
        super().__init__(sock, *args, **kwargs)

    def begin(self) -> None:
        super().begin()
        if self.head_ended and getattr(self, "_method", None) != "CONNECT":
            watchdog.verdict()


class _Deadlined:
    """A socket as an answer sees it (``makefile`` only), whose reads wait only until
    ``deadline`` (:func:`.reader.time_left`)."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlinedIO(self._sock, self._deadline))


class _DeadlinedIO(io.RawIOBase):
    """The socket's raw reads (its own ``makefile``, which keeps it open for the answer
    as ``http.client`` expects), each within what is left until ``deadline``; the
    socket's timeout is put back once the answer is closed (urllib3 1.26 sends the next
    request on a reused connection with it)."""

    def __init__(self, sock: Any, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline
        self._timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Optional[int]:
        reader.time_left(self._sock, self._deadline)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            try:
                self._sock.settimeout(self._timeout)
            except OSError:  # already closed
                pass
            self._raw.close()
        super().close()


class _Watched(HTTPConnection):
    """Joins the running watchdog limit whenever it connects or sends a request, and
    reads answers past interim ones (:class:`_Response`).

    Mixed in before urllib3's HTTP or HTTPS connection class: ``super()`` is that class.
    """

    response_class = _Response

    #: While it connects, its TLS handshake included (a cut then is a connect timeout).
    connecting = False

    def connect(self) -> None:
        watchdog.watch(self)  # its ``sock`` is the socket being connected
        self.connecting = True
        try:
            super().connect()
        finally:
            self.connecting = False
        # Cut as it connected (the watchdog found no socket then): cut now, before its
        # request is written. Cut only after it, the POST went to the API in full past
        # its bound, was taken for one the API may have read and was sent again: an API
        # answering at once got its logs twice (review109).
        watchdog.watch(self)

    def send(self, data: Any) -> None:
        """http.client's, which connects first if it must: the request is marked being
        written (:mod:`.post_progress`) only once connected, as its bytes go to the
        socket. Marked before ``request`` connected, a POST cut while connecting (a
        close's deadline) was counted unknown, "the Metrics API may have them", though
        no byte of it went (delivery81). Not the CONNECT of a proxy's tunnel (sent while
        connecting)."""
        if self.sock is None and self.auto_open:
            self.connect()
        if not self.connecting:
            post_progress.writing()
        super().send(data)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watchdog.watch(self)  # connecting (if it must) and sending
        result = super().request(*args, **kwargs)
        post_progress.written()  # (returned: its body went in full)
        if self.sock is not None:  # reading the answer, whoever holds the socket then
            watchdog.watch(watchdog.Line(self.sock), sent=True)
        return result


class _WatchedHTTPConnection(_Watched):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter, whose pools make watched connections (direct or via a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools keep socket timeouts only
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def _bounded_content(response: requests.Response) -> bytes:
    """The answer's body up to :data:`MAX_CONTENT` bytes (see :mod:`.answer`).

    Left unread past that, the response is not "consumed": ``Response.close`` then
    closes its connection instead of pooling it. A body that ends short of its
    Content-Length is an error, as on the direct route: urllib3 2 raises it itself, but
    urllib3 1.26 ends such a body without a word. The caller keeps the answer all the
    same, with an empty body, as the direct route's ``reader.read_answer(...,
    verdict_first=True)`` does: the status came, and it is the API's verdict.
    """
    pieces: list[bytes] = []
    size = 0
    for piece in response.iter_content(16 * 1024):
        pieces.append(piece)
        size += len(piece)
        if size > MAX_CONTENT:
            break
    else:
        if getattr(response.raw, "length_remaining", None):
            raise requests.exceptions.ChunkedEncodingError(
                f"Connection broken: IncompleteRead({size} bytes read, "
                f"{response.raw.length_remaining} more expected)")
    return b"".join(pieces)[:MAX_CONTENT]


class SessionPoster:
    """POSTs to ``url`` with ``session.send``, the environment's settings read once.

    ``settings`` is ``session.merge_environment_settings(url, ...)`` (proxies, verify,
    cert), read by the transport when it chose this path; ``template`` the request the
    session prepared for ``url``. Thread-safe (requests' pool).
    Raises the usual ``requests`` exceptions; the caller bounds the call with the watchdog.
    """

    route = "requests"

    def __init__(self, session: requests.Session, url: str, settings: Mapping[str, Any],
                 template: requests.PreparedRequest) -> None:
        self.session = session
        self.url = url
        self._send_options = {key: settings[key] for key in ("proxies", "verify", "cert")}
        # Preparing a request (headers, auth, cookies) is a large share of the CPU of
        # Session.post: the transport did it once (``template``, the session's request
        # for ``url``), and each POST copies it and sets its body.
        self._template = template
        proxy = select_proxy(url, settings["proxies"])
        #: The watchdog can cut its connections (not through a SOCKS proxy, whose pools
        #: keep socket timeouts only: :class:`_Adapter`), so a POST may follow a stretch.
        self.watched = proxy is None or not proxy.lower().startswith("socks")

    def post(self, body: Union[bytes, Body], seconds: float,
             stretch: Optional[watchdog.Stretch] = None, until: float = math.inf) -> Answer:
        """One POST of ``body`` (a :class:`~.encode.Body` joined into one ``bytes``) and
        its answer (body up to ``MAX_CONTENT``), within ``seconds`` (or ``stretch``'s
        bound, should it grow meanwhile, up to ``until``: :func:`.watchdog.limit`).

        Raises ``requests.RequestException``; ``requests.Timeout`` when cut at the deadline.
        """
        data = bytes(body)
        response: Optional[requests.Response] = None
        if not self.watched:
            stretch = None  # each read bounded to `seconds` is all that bounds it
        try:
            with watchdog.limit(seconds, stretch=stretch, until=until) as limit:
                # requests' timeout bounds each read: where the watchdog can move the
                # deadline, reads may wait as long as the bound can grow (it cuts them).
                reads = (seconds if stretch is None or not limit.watched else
                         max(seconds, min(stretch.longest, until - limit.began)))
                try:
                    response = self._send(data, (seconds, reads))
                    if limit.fired and not limit.verdict_at:
                        # Cut while the status line or header lines came: http.client
                        # took the shut-down socket for the server's close (an API
                        # stalled after "HTTP/1.1 202"). No answer: sent again.
                        raise requests.exceptions.ReadTimeout(
                            "cut before the answer's header lines ended")
                except Exception as exc:
                    if limit.fired:  # the bound it was cut at (it may have grown)
                        seconds = max(seconds, limit.bound)
                    raise requests_error(exc, limit.fired, seconds,
                                         limit.fired and not limit.connected) from None
                try:
                    content = _bounded_content(response)
                except (requests.RequestException, http.client.HTTPException, OSError):
                    # The status and headers came: they are the API's verdict. A body
                    # broken after them (closed or reset early, a bad chunk, cut at the
                    # deadline) must not have the logs sent again (reader.read_answer's
                    # verdict_first); its connection is closed, not pooled (below).
                    content = b""
                # urllib3's headers (those of response.headers), where a repeated
                # header's values can still be told apart (Answer.first).
                answer = Answer(response.status_code, response.reason or "",
                                response.raw.headers, content)
            if limit.fired and limit.verdict_at:  # answered in time, its body cut
                answer.waited = limit.verdict_at - limit.began
            return answer
        finally:
            # Only once the limit is over does the connection go back to the pool, so
            # the watchdog can never cut it under the next POST (closed, not pooled,
            # when its body was left unread).
            if response is not None:
                response.close()

    def _send(self, body: bytes, seconds: tuple[float, float]) -> requests.Response:
        """``Session.post`` of ``body``, from the request prepared at construction."""
        if self.session.cookies:
            # The Metrics API set a cookie: prepare afresh so that it is sent back.
            return self.session.post(self.url, data=body, timeout=seconds,
                                     allow_redirects=False, stream=True,
                                     **self._send_options)
        prepared = self._template.copy()
        prepared.prepare_body(body, None)
        return self.session.send(prepared, timeout=seconds, allow_redirects=False,
                                 stream=True, **self._send_options)

    def close(self) -> None:
        """Nothing of its own: the transport closes the session."""
