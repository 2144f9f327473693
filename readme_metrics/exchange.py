"""The plain-data record of one request/response exchange (SPEC section 3).

Adapters (WSGI, Flask, Django) only ever produce an :class:`Exchange`; everything after
that (HAR building, redaction, delivery) is shared, framework-free and works on this
record alone. It holds raw material, not HAR: bytes as received, headers as sent, so the
expensive shaping can happen later on the worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

#: ``Exchange.status`` when the app's status cannot be read as an HTTP status code
#: (``"abc"``, ``"2000 OK"``, ``""``): ``status_text`` then holds it as the app gave it.
INVALID_STATUS = -1

#: ``Exchange.request_body_declared`` of a chunked body uWSGI kept out of ``wsgi.input``
#: (it gives one only to ``uwsgi.chunked_read()``): of unknown length, as -1, and the
#: log says where it went.
WITHHELD_CHUNKED = -2


@dataclass
class Group:
    """The caller, as returned by the grouping function (``id`` is not yet masked)."""

    id: str
    label: Optional[str] = None
    email: Optional[str] = None


@dataclass
class Exchange:
    """One request and its response, as captured.

    Times are seconds: ``started`` is the epoch time the request arrived, ``wait`` the time
    until the app started its response, ``duration`` the time until the response was
    closed. ``status`` is the code the app answered (:data:`INVALID_STATUS` when it gave
    none a status line can carry, ``status_text`` then quoting what it gave). Body fields
    hold at most ``max_body_bytes`` bytes; the ``*_size`` fields are the real sizes (-1
    when unknown), so truncation is visible.
    """

    id: str
    started: float
    method: str
    url: str
    http_version: str
    request_headers: list[tuple[str, str]]
    client_ip: str
    group: Group
    request_body: bytes = b""
    request_body_size: int = 0
    # True when the body the app left unread could not all be had without waiting for
    # the client: ``request_body_size`` is what had arrived (SPEC 4: bytes received),
    # ``request_body_declared`` the length the client declared.
    request_body_incomplete: bool = False
    status: int = 500
    status_text: str = "Internal Server Error"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    response_body_size: int = 0
    # True when the body was not captured on purpose (a wsgi.file_wrapper response): the
    # size is known from Content-Length (or the rest of its file), the content is not
    # recorded.
    response_body_omitted: bool = False
    # Why ``status`` is none the client read in a status line (the HAR response's
    # comment): the client left before the response started (ASGI's 499).
    response_comment: Optional[str] = None
    wait: float = 0.0
    duration: float = 0.0
    # The HTTP version of the server's status line when it is not ``http_version`` (the
    # request's): wsgiref answers HTTP/1.0 to an HTTP/1.1 request.
    response_http_version: Optional[str] = None
    # Set when the app's answer broke off after its head went out, before its body's
    # end (a streaming response whose generator raised, a WSGI iterable raising
    # mid-stream): the server closed the connection (hypercorn's HTTP/2 one too) with
    # no end of the body, and the client got ``response_body_size`` bytes of it. The
    # Content-Length the app declared (-1: none); None for an answer that ended.
    response_body_cut: Optional[int] = None
    # With ``response_body_cut``: the body did not break off, the process exited while
    # it was still being sent (a WSGI stream in flight at exit, or one the server never
    # closed): ``response_body_size`` bytes were recorded by then, what came later is
    # not in the log.
    response_cut_at_exit: bool = False
    # With ``request_body_incomplete``: the Content-Length the client declared (-1: none,
    # a chunked body; WITHHELD_CHUNKED: one uWSGI kept out of wsgi.input). None in an
    # exchange made without it: ``request_body_size`` is then taken as the declared
    # length and ``request_body`` as what arrived.
    request_body_declared: Optional[int] = None
    # With ``response_body_cut`` (the Content-Length): the app's answer came to its end
    # as the app gave it, shorter than its own Content-Length; the servers send what
    # they got and close the connection (or leave the client waiting for the rest):
    # the client got a broken answer of ``response_body_size`` bytes.
    response_body_short: bool = False
    # A request body neither the app nor the capture read to its end (an app that did
    # not read it all, the capture stopping at max_body_bytes, the server throwing the
    # rest away): how many bytes of it were read; None for one read to its end.
    request_body_read: Optional[int] = None
    # The client left after the response started, before its end (a stream it stopped
    # reading): the server told the app (ASGI http.disconnect), or knew (uvicorn, daphne,
    # hypercorn) and dropped what the app sent later. ``response_body_size`` bytes went
    # out before; the rest reached no one.
    response_client_left: bool = False

    def to_exchange(self) -> Exchange:
        """Queue items are turned into exchanges on the worker; an Exchange already is one."""
        return self

    @property
    def nbytes(self) -> int:
        """Bytes this exchange holds (url, headers, bodies), for the queue's memory bound."""
        headers = sum(len(k) + len(v) for k, v in self.request_headers)
        headers += sum(len(k) + len(v) for k, v in self.response_headers)
        return (len(self.url) + headers + len(self.request_body)
                + len(self.response_body))


class PendingExchange(Protocol):
    """What the delivery queue holds: anything that becomes an Exchange on the worker.

    The capture enqueues a light object (:class:`readme_metrics.capture.pending.Pending`)
    that keeps the raw request pieces and builds the :class:`Exchange` only when the worker
    asks, so the request thread does no parsing. ``nbytes`` counts everything it holds.
    """

    nbytes: int

    def to_exchange(self) -> Exchange: ...
