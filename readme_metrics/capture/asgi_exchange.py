"""One ASGI HTTP exchange: the wrapped ``receive`` and ``send`` (SPEC section 5).

``receive`` hands the app the server's messages as they are (the same objects), copying
request body chunks on the way; ``send`` records each response message and passes it on
at once. A request body the app left unread is read only as far as it has already
arrived (:func:`receive_within`, :data:`GRACE`), never waiting on the client, and is
owed to the app if it asks later. The grouping function runs once, when the app starts
its response.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping, Optional

from readme_metrics.capture.asgi_pending import ASGIPending, RequestBody
from readme_metrics.capture.asgi_scope import header, snapshot
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from readme_metrics.capture.asgi import MetricsMiddleware

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_UNKNOWN: Any = object()  # the grouping function has not run yet
# How long an exchange may spend, in all, reading a request body the app left unread:
# bytes the client already sent reach the app's receive() within this, even when the
# client wrote head and body apart (urllib3 does) or the server hands them over from
# another thread (granian). A client that declared more than it sends delays the end of
# its response by at most this; nothing is ever waited for beyond it.
GRACE = 0.005
_TURNS = 2  # event loop turns given to a receive() even when the grace is used up


async def receive_within(receive: Receive, timeout: float) -> Optional[Message]:
    """One message from ``receive`` if it comes within ``timeout`` seconds, else None.

    Cancelling a pending ``receive()`` is safe with the servers' implementations
    (uvicorn waits on an event, hypercorn and granian on a queue): nothing is consumed.
    """
    task = asyncio.ensure_future(receive())
    for _ in range(_TURNS):
        if task.done():
            break
        await asyncio.sleep(0)
    if not task.done() and timeout > 0:
        await asyncio.wait([task], timeout=timeout)
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


class _Exchange:
    """One HTTP exchange: the wrapped ``receive``/``send`` and what they saw."""

    __slots__ = (
        "middleware", "scope", "snapshot", "log_id", "started", "begin", "responded",
        "finished", "status", "headers_out", "chunks", "kept", "body_size", "omitted",
        "request_body", "group", "done", "_receive", "_send", "_pending", "_receiving",
        "_disconnected", "_no_drain", "_drain_until",
    )

    def __init__(self, middleware: MetricsMiddleware, scope: MutableMapping[str, Any],
                 receive: Receive, send: Send) -> None:
        self.middleware = middleware
        self.begin = time.perf_counter()
        self.started = time.time()
        self.scope = scope
        self.snapshot = snapshot(scope)
        self.log_id = MetricsPipeline.new_id()
        self.responded = 0.0
        self.finished = 0.0
        self.status = 0
        self.headers_out: Any = ()
        self.chunks: list[bytes] = []  # kept response chunks, by reference
        self.kept = 0
        self.body_size = 0
        self.omitted = False
        length = header(scope, b"content-length")
        chunked = header(scope, b"transfer-encoding") is not None
        self.request_body = RequestBody(length, chunked, scope.get("http_version"),
                                        middleware.limit)
        self.group: Any = _UNKNOWN
        self.done = False
        self._receive = receive
        self._send = send
        self._pending: deque[Message] = deque()  # read ahead by us, owed to the app
        self._receiving = 0  # receive() calls in flight
        self._disconnected = False
        # "Expect: 100-continue": reading the body would make the server send 100
        # Continue, telling the client to send a body the app chose not to read.
        self._no_drain = header(scope, b"expect") is not None
        self._drain_until = 0.0  # set by the first drain: GRACE for the whole exchange

    # -- the request side --------------------------------------------------------------

    async def _pull(self) -> Message:
        """The server's next message, recorded on its way."""
        self._receiving += 1
        try:
            message = await self._receive()
        finally:
            self._receiving -= 1
        kind = message.get("type")
        if kind == "http.request":
            self.request_body.add(message.get("body", b""), message.get("more_body", False))
        elif kind == "http.disconnect":
            self._disconnected = True
        return message

    async def receive(self) -> Message:
        """The app's ``receive``: what we read ahead first, then the server's, as is."""
        if self._pending:
            return self._pending.popleft()
        return await self._pull()

    async def drain_now(self) -> None:
        """Read the body the app has not received, as far as it has arrived (GRACE).

        Bounded by ``max_body_bytes``; the server never gives more than the body. What
        is read is owed to the app: its next ``receive()`` gets it. Skipped while the app
        itself waits in ``receive()`` (a second reader would steal its messages) and
        after a disconnect.
        """
        body = self.request_body
        if self._no_drain:
            return
        if not self._drain_until:
            self._drain_until = time.perf_counter() + GRACE
        try:
            while (not body.eof and not self._disconnected and not self._receiving
                   and body.room > 0):
                left = self._drain_until - time.perf_counter()
                message = await receive_within(self._pull, left)
                if message is None:
                    return
                self._pending.append(message)
        except Exception:  # not an asyncio loop (trio), or a broken receive: stop here
            return

    # -- the response side -------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """The app's ``send``: record, then pass the message on at once."""
        kind = message.get("type")
        if kind == "http.response.body":
            self._record(message.get("body", b""))
            if not message.get("more_body", False):
                if not self.request_body.eof:
                    await self.drain_now()  # servers drop the unread body after this
                await self._send(message)
                self.finished = time.perf_counter()
                return
        elif kind == "http.response.start":
            message = await self._start(message)
        elif kind == "http.response.pathsend":
            # The server sends the file itself: keep its fast path, log size only.
            self.omitted = True
            self.body_size = self._content_length()
            await self._send(message)
            self.finished = time.perf_counter()
            return
        await self._send(message)

    async def _start(self, message: Message) -> Message:
        self.status = message.get("status", 200)
        self.responded = time.perf_counter()
        headers = message.get("headers") or []
        if headers.__class__ is not list and headers.__class__ is not tuple:
            headers = list(headers)  # an iterator could be read only once: read it here
            message = {**message, "headers": headers}
        group = await self.identify()
        if group is not None:
            url = self.middleware.documentation_url(self.log_id)
            if url is not None:
                headers = [*headers, (b"x-documentation-url", url)]
                message = {**message, "headers": headers}
        self.headers_out = headers
        return message

    def _record(self, chunk: Any) -> None:
        try:
            n = len(chunk)
            self.body_size += n
            room = self.middleware.limit - self.kept
            if room > 0 and n:
                part = chunk[:room] if n > room else chunk
                if part.__class__ is not bytes:  # a buffer the app may reuse: copy it
                    part = bytes(part)
                self.chunks.append(part)
                self.kept += len(part)
        except Exception:  # not bytes: the server will tell the app, not us
            pass

    def _content_length(self) -> int:
        for name, value in self.headers_out:
            if bytes(name).lower() == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return -1
        return -1

    # -- identification and the end ----------------------------------------------------

    async def identify(self) -> Optional[Group]:
        """Run the grouping function, once, with the body as far as it has arrived."""
        if self.group is not _UNKNOWN:
            return self.group  # type: ignore[no-any-return,unused-ignore]
        self.group = None  # once, even if what follows raises or is cancelled
        try:
            if not self.request_body.eof:
                await self.drain_now()
            request = self.middleware.grouping_request(self.scope,
                                                       self.request_body.recorded())
            self.group = await self.middleware.identify(request)
        except Exception:
            self.middleware.logger.debug("readme_metrics: grouping failed", exc_info=True)
        return self.group  # type: ignore[no-any-return,unused-ignore]

    async def finish(self, failed: bool) -> None:
        """Turn the exchange into one queued log (exactly once). Never raises."""
        if self.done:
            return
        self.done = True
        try:
            if failed and not self.status:
                self.status = 500
            finished = self.finished or time.perf_counter()
            group = await self.identify()
            if group is None:
                self.middleware.skip()
                return
            if not self.request_body.eof:
                await self.drain_now()
            await self.middleware.submit(ASGIPending(self, group, finished))
        except Exception:
            self.middleware.logger.exception("readme_metrics: could not record a request")
