"""One ASGI HTTP exchange: the wrapped ``receive`` and ``send`` (SPEC section 5).

``send`` records each response message and passes it on at once; ``receive`` and
reading an unread body ahead are the request side (:mod:`.asgi_receive`, the base
class). The grouping function runs once, when the app starts its response; the log is
made once, when the exchange ends, with what the client got (the server's own 400 or
500, or a 499 for a client gone before the start): the log side (:mod:`.asgi_end`,
the base class between the two). What the server did with a message it refused, and
what it knows of the connection, is :mod:`.asgi_server_side`'s (the class between).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Awaitable, MutableMapping, Optional

from readme_metrics.capture.asgi_end import UNKNOWN, LogSide
from readme_metrics.capture.asgi_messages import (
    CLIENT_GONE_REASON,
    CLIENT_GONE_STATUS,
    REASONS,
    answers_trailers_only,
    app_status,
    body_record,
    client_gone_comment,
    content_length,
    file_size,
    start_status,
    trails,
)
from readme_metrics.capture.asgi_outlive import is_cancellation
from readme_metrics.capture.asgi_own_send import own_send
from readme_metrics.capture.asgi_receive import (
    Message,
    Receive,
    Send,
    running_asyncio_loop,
)
from readme_metrics.capture.asgi_scope import ScopeRequest
from readme_metrics.capture.asgi_server_quirks import (
    client_gone,
    cuts_stream_at_length,
    holds_start,
    sends_informational_body,
    sends_later_bodies,
)
from readme_metrics.capture.asgi_server_side import ServerSide
from readme_metrics.capture.recorder import Recorder
from readme_metrics.capture.response_headers import sets_docs_url
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from readme_metrics.capture.asgi import MetricsMiddleware


# Response body messages whose bytes the server reads from a file itself (the ASGI
# extensions Path Send and Zero Copy Send).
_FROM_A_FILE = ("http.response.pathsend", "http.response.zerocopysend")


class ASGIExchange(ServerSide):
    """One HTTP exchange: the wrapped ``receive``/``send``, recorded by a ``Recorder``."""

    __slots__ = (  # (_ended, _starting, _bodied, _odd_status: ServerSide's)
        "middleware", "scope", "request", "recorder", "_send", "_own", "_trailing",
    )

    def __init__(self, middleware: MetricsMiddleware, scope: MutableMapping[str, Any],
                 request: ScopeRequest, receive: Receive, send: Send) -> None:
        self.middleware = middleware
        self.scope = scope
        self.request = request
        # HEAD, 1xx, 204, 304: the server drops any body the app sends (RFC 9110), so the
        # recorder logs none as sent (Starlette sends a HEAD answer's body).
        self.recorder = Recorder(MetricsPipeline.new_id(), middleware.limit,
                                 body_record(scope, request, middleware.limit),
                                 scope.get("method") == "HEAD")
        self.group: Any = UNKNOWN
        LogSide.__init__(self, receive, request.expect)
        self._send = send
        # The server's own send, which says what the server knows (whether the client
        # is gone): the one given, unless a framework's middleware outside this one
        # wrapped it in a closure (Starlette's ServerErrorMiddleware, outside one added
        # with ``app.add_middleware``). Looked for once per exchange, here (a cell or
        # two: :func:`.own_send`), not per message. A bound method is the server's when
        # its class was found to be a server's before (a middleware's object's, Starlette's
        # GZipMiddleware's, holds the server's as an attribute: walked). That look-up
        # hashes the object's class, which may raise (a metaclass with __eq__): it is
        # own_send's, under its guard.
        self._own = own_send(send)
        # When the last of the response went out: work after it (a background task)
        # is not part of the exchange's time.
        self._ended = 0.0
        # Inline mode: the send handed over when the response ended, which the app's
        # call waits for before it returns.
        self._sending: Optional[Future[None]] = None
        # An ``async`` grouping function's answer, started and not yet awaited to its
        # end (a cancellation came while it ran): the log waits for it.
        self._settling: Optional[Awaitable[Optional[Group]]] = None
        # True once the app's response start was handed to the server.
        self._starting = False
        # True once a response body message was (see ``_held``).
        self._bodied = False
        # The app's status when it was no int the server took all the same (see
        # ``_status_refused``).
        self._odd_status: Any = None
        # True once finish_now() finished the recorder (see there).
        self._finished = False
        # True when the response ends with its trailers, not its last body message: the
        # start said ``trailers`` and the server offers the extension (hypercorn's
        # HTTP/2), which ends the stream only once the last trailers message came.
        self._trailing = False

    # -- the response side -------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """The app's ``send``: record, then pass the message on at once."""
        kind = message.get("type")
        if kind == "http.response.body":
            # Recorded once the server took it: a body it refuses (sent before the start
            # or after the end) raises into the app and never reaches the client. Nor
            # does one sent once the client is known to be gone (an http.disconnect
            # received, or the server knows: :func:`.client_gone`), which the servers
            # take and drop without a word.
            chunk = message.get("body")
            if message.get("more_body", False):
                gone = not chunk or self._disconnected or client_gone(self._own)
                try:
                    await self._send(message)
                except BaseException as exc:
                    if not is_cancellation(exc):
                        self._status_refused()
                    raise
                later = self._bodied
                if not later and cuts_stream_at_length(self._own):
                    # What granian drops past the declared length is not logged as sent.
                    self.recorder.cut_at_length = True
                self._bodied = True
                if not gone:
                    self._record(chunk, later and self.recorder.no_body
                                 and sends_later_bodies(self._own))
                elif chunk:  # dropped: the client left mid-answer
                    self.recorder.left = True
                return
            body = self.recorder.request_body  # _body_over() written out
            if body is not None and not body.eof:
                await self.drain_now()  # servers drop the unread body after the last
            told = self._disconnected
            gone = not chunk or told or client_gone(self._own)
            try:
                await self._send(message)
            except BaseException as exc:
                if is_cancellation(exc):
                    if not told and self._disconnected:
                        self._ended_within_send(chunk, gone)
                elif (not gone or not (chunk or told)) and self._short_of_length(chunk):
                    if chunk:
                        self._record(chunk)
                    # The app's answer ended (an empty last message too), short of its
                    # own Content-Length (Exchange.response_body_short): not broken off.
                    self.recorder.ended = True
                else:
                    self._status_refused()
                raise
            # (daphne sends a body-less answer's later messages: sends_later_bodies)
            sent = self._bodied and self.recorder.no_body and sends_later_bodies(self._own)
            self._bodied = True
            if not gone:
                try:  # _record() written out
                    self.recorder.record(chunk, sent)  # type: ignore[arg-type]
                except Exception:  # not bytes: the server will tell the app, not us
                    pass
            elif chunk:  # dropped: the client left mid-answer
                self.recorder.left = True
            if self._trailing:
                return  # the trailers end the response
            # The end (see _end()), written out: a call fewer.
            self._ended = time.perf_counter()
            left = self.finish_now(failed=False)
            if left is not None:
                await left
            return
        elif kind == "http.response.start":
            if self.group is UNKNOWN:
                body = self.recorder.request_body  # _body_over() written out
                if body is None or body.eof:  # the usual case: no coroutine for a plain function
                    pending = self._identify_now()
                    if pending is not None:
                        await self._settle(pending)
                else:
                    await self.identify()
            message, headers = self._start(message)
            # The server took a final start already (its head went out, or goes out with
            # the first body message): one more it refuses is no refused first start.
            again = self._starting and self.recorder.status >= 200
            self._starting = True
            if message.get("trailers"):
                self._trailing = trails(self.scope)
            gone = client_gone(self._own)
            try:
                await self._send(message)
            except BaseException as exc:
                if not (again or is_cancellation(exc)):
                    self._start_refused(message)
                raise
            # Only once the server took it: a start it refuses (a status or header it
            # cannot write) raises into the app, and the server answers 500.
            if gone:  # the client left before the answer: it got none of it
                status = message.get("status")
                self.recorder.client_left(CLIENT_GONE_STATUS, CLIENT_GONE_REASON,
                                          client_gone_comment(status), app_status(status))
                return
            status = message.get("status", 200)
            if status.__class__ is int and 100 <= status <= 999:  # start_status()'s first case
                self.recorder.respond(status, REASONS.get(status, ""), headers)
                if status < 200:
                    if status != 101 and holds_start(self._own):
                        # granian answers its own 500, no body, to a final 1xx but 101
                        self.recorder.server_answered(500, "Internal Server Error",
                                                      "a final 1xx status")
                    elif sends_informational_body(self._own):
                        self.recorder.no_body = False  # the client gets it: logged as sent
                return
            code, reason = start_status(status)
            if status.__class__ is not int and code > 0 and not isinstance(status, int):
                self._odd_status = status
            self.recorder.respond(code, reason, headers)
            return
        elif kind in _FROM_A_FILE:
            # The server sends the file itself: keep its fast path, log the size only,
            # once the server took the message (one it refuses never reached the client,
            # nor does one sent once the client is known to be gone).
            gone = self._disconnected or client_gone(self._own)
            # Sized before the send: Zero Copy Send without an offset reads the file from
            # where it stands, and the server's read (os.sendfile's) moves it to the end.
            recorder = self.recorder
            declared = content_length(recorder.headers)
            before = recorder.body_size if self._bodied else 0
            loop = (running_asyncio_loop()
                    if declared < 0 and kind == "http.response.pathsend" else None)
            if loop is None:
                size = file_size(message, declared, before)
                await self._send(message)
            else:
                # A Path Send's size is a stat of its path: off the loop (a path on a slow
                # network file system holds this send only, as the server's own read of
                # it does, not every request the loop serves).
                sizing = loop.run_in_executor(None, file_size, message, declared, before)
                await self._send(message)
                size = await sizing
            if not gone:
                recorder.omit_body(size)
            self._bodied = True
            if not (message.get("more_body", False) or self._trailing):  # pathsend
                left = self._end()  # has no more_body: the end
                if left is not None:
                    await left
            return
        elif kind == "http.response.trailers":
            await self._send(message)
            if not self._starting and answers_trailers_only(self.scope):
                # (Taken with no start: the server answered 200 with these headers.)
                self._starting = self._trailing = True
                headers = message.get("headers") or ()
                self.recorder.respond(200, REASONS.get(200, ""), tuple(headers))
            if self._trailing and not message.get("more_trailers", False):
                left = self._end()  # the last trailers: the end of the response
                if left is not None:
                    await left
            return
        await self._send(message)

    def _end(self) -> Optional[Awaitable[None]]:
        """The last of the response went out: the log is queued now (a queue put), so
        that work the app does after it (a background task) does not hold it back; what
        is left to await, if anything (:meth:`finish_now`). In inline mode the send
        starts now, off the loop, and is awaited only when the app's call ends: awaited
        here, it would hold back that work instead."""
        self._ended = time.perf_counter()
        return self.finish_now(failed=False)

    def _start(self, message: Message) -> tuple[Message, Any]:
        """The start to send (with x-documentation-url when the exchange is logged and
        the app set none itself), and a copy of its headers as raw byte pairs, decoded
        on the delivery worker."""
        headers = message.get("headers") or []
        if headers.__class__ is not list and headers.__class__ is not tuple:
            headers = list(headers)  # an iterator could be read only once: read it here
            message = {**message, "headers": headers}
        if self.group is not None:
            url = self.middleware.documentation_url(self.recorder.log_id)
            if url is not None and not sets_docs_url(headers):
                headers = [*headers, (b"x-documentation-url", url)]
                message = {**message, "headers": headers}
        # The list sent may be edited in place on its way (Starlette's GZipMiddleware
        # outside this one): the log keeps a copy of what the app sent.
        return message, tuple(headers)
