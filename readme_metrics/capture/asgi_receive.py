"""The request side of one ASGI exchange: the app's ``receive``, and reading ahead.

``receive`` hands the app the server's messages as they are (the same objects), copying
request body chunks on the way. A request body the app left unread is read only as far
as it has already arrived (:func:`receive_within`, :data:`GRACE`), never waiting on the
client, and is owed to the app if it asks later: its next ``receive()`` gets what was
read ahead first, and never reads beside a read ahead still in flight (a server's queue
would hand the next message to one reader and the one after to the other). Under
asyncio a read ahead is a task of its own; under trio, which has no neutral way to start
one, it runs in the caller's task within a cancel scope. One message read within a
time (asyncio's or trio's) is :mod:`.asgi_receive_within`'s.

:class:`RequestSide` is the base of :class:`~.asgi_end.LogSide` (the grouping call and the
log), itself the base of :class:`~.asgi_exchange.ASGIExchange` (the response side).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Optional, Union

from readme_metrics.asgi_types import Message, Receive, Send
from readme_metrics.capture.asgi_eager import eager_future, if_no_wait
from readme_metrics.capture.asgi_outlive import running_trio
from readme_metrics.capture.asgi_receive_within import (
    TrioRead,
    receive_within,
    running_asyncio_loop,
    trio_within,
)
from readme_metrics.capture.asgi_server_quirks import ends_receive_with_response
from readme_metrics.capture.asgi_servers import (
    server_transport,
    trio_ready,
    uvicorn_half_closed,
    uvicorn_unread,
)
from readme_metrics.capture.asgi_watch import watched_within
from readme_metrics.capture.tls_feed import Owed
from readme_metrics.capture.tls_records import past_body

if TYPE_CHECKING:
    from readme_metrics.capture.recorder import Recorder

__all__ = ["GRACE", "Message", "Receive", "RequestSide", "Send", "receive_within",
           "running_asyncio_loop"]


# How long an exchange may spend, in all, reading a request body the app left unread:
# bytes the client already sent reach the app's receive() within this, even when the
# client wrote head and body apart (urllib3 does) or the server hands them over from
# another thread (granian). A client that declared more than it sends delays the end of
# its response by at most this; nothing is ever waited for beyond it.
GRACE = 0.005


class RequestSide:
    """The request side of an exchange: the app's ``receive``, reading ahead, draining.

    It reads the exchange's ``recorder`` (the request body record), ``_starting`` (the
    app's response start went to the server) and ``_ended`` (the response is complete),
    which the response side sets, and asks it :meth:`_head_written` and
    :meth:`_expect_readable`.
    """

    __slots__ = ("_receive", "_pending", "_receiving", "_reading", "_disconnected",
                 "_no_drain", "_drain_until", "_cut", "_peeked")

    recorder: Recorder
    _starting: bool
    _ended: float

    def __init__(self, receive: Receive, no_drain: bool) -> None:
        self._receive = receive
        # Read ahead by us, owed to the app: a deque made with the first (most
        # exchanges read nothing ahead), until then an empty tuple.
        self._pending: Union[deque[Message], tuple[()]] = ()
        self._receiving = 0  # receive() calls in flight
        # Our last read ahead: a task (asyncio) or a TrioRead (trio).
        self._reading: Optional[Any] = None
        self._disconnected = False
        # "Expect: 100-continue": reading the body before the response head is written
        # would make the server (uvicorn, granian) send 100 Continue, telling the client
        # to send a body the app chose not to read. After it, none does (see drain_now);
        # but granian then reads on from the connection: never there.
        self._no_drain = no_drain
        self._drain_until = 0.0  # set by the first drain: GRACE for the whole exchange
        # The server ended the request body (http.disconnect) before the app's start:
        # what the app answers then never reaches the client (see ``LogSide._answered``).
        self._cut = False
        # Bytes of the body recorded from the server's socket, unread by the server (see
        # _record_unread): the server's next messages give them again, not recorded twice.
        self._peeked = 0

    async def _pull(self) -> Message:
        """The server's next message, recorded on its way."""
        self._receiving += 1
        try:
            message = await self._receive()
        finally:
            self._receiving -= 1
        self._took(message)
        return message

    def _took(self, message: Message) -> None:
        """Record a message of the server's on its way (to the app, or owed to it)."""
        kind = message.get("type")
        if kind == "http.request":
            body = self.recorder.request_body
            assert body is not None
            chunk = message.get("body")
            if chunk:
                if self._peeked:
                    self._peeked = body.feed_after(chunk, self._peeked)
                else:
                    body.feed(chunk)
            if not message.get("more_body", False):
                body.end()
        elif kind == "http.disconnect":
            self._disconnected = True
            if not self._starting and not self._body_over():
                self._cut = True

    async def receive(self) -> Message:
        """The app's ``receive``: what we read ahead first, then the server's, as is."""
        reading = self._reading
        if not self._pending and reading is not None and not reading.done():
            # A read ahead of ours waits for the next message (GRACE at most): it comes
            # first. Reading beside it, the app could get the one after it (a server's
            # queue serves two readers in turn); counted as in receive(), so that the
            # read ahead stops there.
            self._receiving += 1
            try:
                if isinstance(reading, TrioRead):
                    await reading.wait()
                else:
                    await asyncio.wait([reading])
            finally:
                self._receiving -= 1
        if self._pending:
            pending = self._pending
            if not (self._ended and ends_receive_with_response(self._receive)):
                return pending.popleft()
            # Read ahead by us, and the response is complete: this server says
            # http.disconnect now, whatever body is left, and so does it to the app.
            pending.clear()
        return await self._pull()

    def _read_ahead(self) -> asyncio.Future[Message]:
        """The next message, owed to the app, read in a task of its own (known to
        ``receive`` from the start, before it first runs); the message is queued for the
        app before the task ends, so that an app waiting on the task finds it there.
        Started at once (:func:`.eager_future`): a message the server has already is
        read without a turn of the event loop, in which uvicorn would take a client's
        half-close for a disconnect and drop the answer (hostile14)."""
        self._reading = eager_future(self._queued())
        return self._reading

    def _read_ahead_now(self) -> Optional[Message]:
        """The next message if the server has it at once (owed to the app), else None,
        without a turn of the event loop: nothing is left in flight."""
        return if_no_wait(self._queued())[1]

    async def _queued(self) -> Message:
        message = await self._pull()
        self._owe(message)
        return message

    def _owe(self, message: Message) -> None:
        """Queue a message read ahead for the app."""
        pending = self._pending
        if pending.__class__ is tuple:
            pending = self._pending = deque()
        pending.append(message)  # type: ignore[union-attr]

    def _trio_read_now(self) -> Optional[Message]:
        """The next message if the server's trio channel holds it (owed to the app),
        else None, without a checkpoint (:func:`.trio_ready`): nothing is left in
        flight."""
        message = trio_ready(self._receive)
        if message is not None:
            self._took(message)
            self._owe(message)
        return message

    async def _trio_read_ahead(self, trio: Any, timeout: float) -> Optional[Message]:
        """The next message within ``timeout`` (None without), owed to the app, read in
        this task: trio has no neutral way to start one. The app's ``receive`` in
        another task waits for it (:class:`.TrioRead`) rather than reading beside it."""
        reading = self._reading = TrioRead(trio)
        try:
            message = await trio_within(trio, self._pull, timeout)
            if message is not None:
                self._owe(message)
            return message
        finally:
            reading.end()

    def _head_written(self) -> bool:
        """Whether the response head is on the wire (the response side knows)."""
        return False

    def _half_closed(self) -> bool:
        """Whether the client has shut its side and the server has not read that yet
        (uvicorn's, known from its ``receive``; the response side also knows
        hypercorn's)."""
        return uvicorn_half_closed(self._receive)

    def _client_done(self) -> bool:
        """:meth:`_half_closed`, or over TLS the socket holds more than the body's rest
        (its close_notify: :func:`.tls_records.past_body`): the server must not read it
        before the answer went out (delivery75)."""
        if self._half_closed():
            return True
        body = self.recorder.request_body
        transport = self._server_transport()
        return (body is not None and transport is not None
                and past_body(transport, body.remaining))

    def _expect_readable(self) -> bool:
        """Whether a body sent with ``Expect: 100-continue`` may be read now (the
        response side knows the server)."""
        return True

    def _server_transport(self) -> Any:
        """The asyncio transport the server reads the connection through (uvicorn's,
        known from its ``receive``; the response side also knows hypercorn's)."""
        return server_transport(self._receive, None)

    def _body_over(self) -> bool:
        body = self.recorder.request_body
        return body is None or body.eof

    def _record_unread(self) -> None:
        """Record the rest of a body the server has not read yet from its socket, left
        there (uvicorn's, known from its ``receive``; see :func:`.uvicorn_unread`): a
        client that half-closed sent all it will, and a turn of the loop would lose the
        answer. Only a body of a declared length (a chunked one's bytes there are its
        framing), at most what it declared; past ``max_body_bytes`` counted, not
        copied. The server's later messages give those bytes again: not recorded
        twice (``_peeked``)."""
        body = self.recorder.request_body
        remaining = None if body is None else body.remaining
        if body is None or not remaining or self._peeked:
            return
        kept, there = uvicorn_unread(self._receive, remaining, body.room)
        if there:
            body.feed(kept)
            body.feed_past_limit(there - len(kept))
            self._peeked = there

    async def drain_now(self) -> None:
        """Read the body the app has not received, as far as it has arrived (GRACE).

        Bounded by ``max_body_bytes``; the server never gives more than the body. What
        is read is owed to the app: its next ``receive()`` gets it (waiting for a read
        still in flight rather than reading beside it). Skipped while the app itself
        waits in ``receive()`` (a second reader would steal its messages) and after a
        disconnect. With ``Expect: 100-continue``, only once the response head is
        written: then no server answers 100 Continue any more (uvicorn forgets it at the
        start, granian's hyper once the head is out; hypercorn and daphne send it
        themselves before the app runs), so what the client sent all the same (without
        waiting for the 100, or after hypercorn's or daphne's) is recorded as far as it
        has arrived, and a client that waits is never asked for its body, nor answered
        later than by the bare app (no grace before the response's end). Never under
        granian (:func:`.reads_on_for_expect`): its hyper reads on from the connection,
        taking a waiting client's next request for the body. Nor while the server would
        still answer the read with its 100 (:func:`.awaits_continue`): uvicorn, when a
        middleware outside this one holds the start the app sent (Starlette's
        ``GZipMiddleware``); such a body is logged incomplete.
        """
        body = self.recorder.request_body
        if body is None:
            return
        if self._no_drain and not self._expect_readable():
            return
        if self._no_drain and not self._ended:
            if not self._head_written():
                return
            # A client waiting for the 100 sends nothing: the grace would only make
            # each answer to one end later than the bare app's. Where the server's
            # receive still gives the body once the response is out (hypercorn,
            # granian), it is read then; uvicorn says http.disconnect then, so what
            # has arrived is read now, without the grace.
            if not ends_receive_with_response(self._receive):
                return
            until = time.perf_counter()
        else:
            if not self._drain_until:
                self._drain_until = time.perf_counter() + GRACE
            until = self._drain_until
        trio = None if running_asyncio_loop() is not None else running_trio()
        began = time.perf_counter()  # (the app is held back from here)
        owed = Owed()  # (a TLS record handed over in part: its rest, across the waits)
        try:
            while (not body.eof and not self._disconnected and not self._receiving
                   and body.room > 0):
                left = until - time.perf_counter()
                if self._client_done():
                    # No more will come, and a turn of the loop would lose the answer
                    # (uvicorn takes the end for a disconnect then, hypercorn answers
                    # its own 400 to a short body; under trio, a checkpoint, in which
                    # hypercorn's trio worker reads the end and answers its 400): what
                    # the server has only.
                    if trio is not None:
                        message = self._trio_read_now()
                        if message is None:
                            return
                        continue
                    message = self._read_ahead_now()
                    if message is None:
                        self._record_unread()
                elif trio is not None:
                    message = await self._trio_read_ahead(trio, left)
                else:
                    transport = self._server_transport()
                    if transport is None:
                        message = await receive_within(self._read_ahead, left)
                    else:
                        # The server does not read while we wait (asgi_watch): a
                        # client's end that comes meanwhile is read after the answer.
                        message, ended = await watched_within(
                            self._read_ahead, left, transport, self._client_done, began,
                            sized=body.remaining is not None, remaining=body.remaining,
                            owed=owed)
                        if ended:
                            continue  # (half-closed: what the server has, above)
                if message is None:
                    return
        except Exception:  # a broken receive, or neither asyncio nor trio: stop here
            return
