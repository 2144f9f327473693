"""What one ASGI exchange leaves behind: the request body copy and the queued record.

:class:`RequestBody` keeps at most ``max_body_bytes`` of the request body while counting
all of it. :class:`ASGIPending` is what the event loop enqueues: references and a few
numbers; the delivery worker turns it into an :class:`~readme_metrics.exchange.Exchange`
(url, headers and client IP are read from the scope snapshot there, not on the loop).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics.capture import asgi_scope
from readme_metrics.exchange import Exchange, Group

if TYPE_CHECKING:
    from readme_metrics.capture.asgi import _Exchange


class RequestBody:
    """The request body as it passes through ``receive``: bounded copy, full count."""

    __slots__ = ("captured", "size", "declared", "eof", "limit")

    def __init__(self, length: Optional[str], chunked: bool, version: Optional[str],
                 limit: int) -> None:
        try:
            declared: Optional[int] = int(length) if length is not None else None
        except ValueError:
            declared = None
        if declared is not None and declared < 0:
            declared = None
        self.declared = declared
        self.captured = bytearray()
        self.size = 0
        self.limit = limit
        # HTTP/1.x without Content-Length and Transfer-Encoding has no body (RFC 9112);
        # HTTP/2 and 3 may have one of unknown length.
        self.eof = declared == 0 or (declared is None and not chunked
                                     and version in (None, "1.0", "1.1"))

    @property
    def room(self) -> int:
        """Bytes that may still be kept."""
        return self.limit - len(self.captured)

    @property
    def body_size(self) -> int:
        """Bytes of the body: all of it once read, else declared, else -1 if unknown."""
        if self.eof:
            return self.size
        if self.declared is not None:
            return self.declared
        return -1 if self.size else 0

    def add(self, chunk: Any, more: bool) -> None:
        """Count and keep (bounded) one ``http.request`` body chunk."""
        n = len(chunk)
        if n:
            self.size += n
            room = self.limit - len(self.captured)
            if room > 0:
                self.captured += chunk[:room] if n > room else chunk
        if not more:
            self.eof = True

    def recorded(self) -> bytes:
        """The kept bytes (the whole body unless it went past ``max_body_bytes``)."""
        return bytes(self.captured)


def _status_text(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _header_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return asgi_scope._text(bytes(value))


class ASGIPending:
    """What the event loop enqueues; the worker builds the Exchange from it."""

    __slots__ = ("scope", "trusted_proxies", "log_id", "started", "group", "request_body",
                 "request_body_size", "status", "response_headers", "response_body",
                 "response_body_size", "response_body_omitted", "wait", "duration",
                 "nbytes")

    def __init__(self, exchange: _Exchange, group: Group, finished: float) -> None:
        self.scope = exchange.snapshot
        self.trusted_proxies = exchange.middleware.config.trusted_proxies
        self.log_id = exchange.log_id
        self.started = exchange.started
        self.group = group
        body = exchange.request_body
        self.request_body = bytes(body.captured)
        self.request_body_size = body.body_size
        self.status = exchange.status or 500
        self.response_headers = exchange.headers_out
        self.response_body = b"".join(exchange.chunks)
        self.response_body_size = exchange.body_size
        self.response_body_omitted = exchange.omitted
        begin = exchange.begin
        self.wait = max(0.0, (exchange.responded or finished) - begin)
        self.duration = max(self.wait, finished - begin)
        self.nbytes = len(self.request_body) + len(self.response_body)

    def to_exchange(self) -> Exchange:
        """The plain record the HAR builder takes (runs on the delivery worker)."""
        scope = self.scope
        return Exchange(
            id=self.log_id,
            started=self.started,
            method=scope.get("method", "GET"),
            url=asgi_scope.request_url(scope, self.trusted_proxies),
            http_version=asgi_scope.http_version(scope),
            request_headers=asgi_scope.request_headers(scope),
            client_ip=asgi_scope.client_ip(scope, self.trusted_proxies),
            group=self.group,
            request_body=self.request_body,
            request_body_size=self.request_body_size,
            status=self.status,
            status_text=_status_text(self.status),
            response_headers=[(_header_text(k), _header_text(v))
                              for k, v in self.response_headers],
            response_body=self.response_body,
            response_body_size=self.response_body_size,
            response_body_omitted=self.response_body_omitted,
            wait=self.wait,
            duration=self.duration,
        )
