"""The log side of one ASGI exchange: the grouping call and the one log it ends with.

:class:`LogSide`, the base of :class:`~.asgi_exchange.ASGIExchange` (which adds the
response side, ``send``) over :class:`~.asgi_receive.RequestSide`, calls the grouping
function once (an ``async`` one awaited outside the exchange's task), and makes the log
once, when the exchange ends, with what the client got (the server's own 400 or 500,
a response broken off) and, in inline mode, the send the app's call waits for.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Awaitable, MutableMapping, Optional

from readme_metrics.capture.asgi_inline import HAND_OFF_CODE
from readme_metrics.capture.asgi_messages import (
    CLIENT_GONE_COMMENT,
    CLIENT_GONE_REASON,
    CLIENT_GONE_STATUS,
    CUT_STATUS,
)
from readme_metrics.capture.asgi_outlive import is_cancellation
from readme_metrics.capture.asgi_receive import RequestSide
from readme_metrics.capture.asgi_server_quirks import (
    answered_version,
    client_gone,
    cut_answered,
    daphne_stopping,
    holds_start,
    loaded_answered_version,
    silent_on_cancel,
)
from readme_metrics.capture.pending import Pending
from readme_metrics.delivery.interrupted import began, handed
from readme_metrics.exchange import Group

if TYPE_CHECKING:
    from readme_metrics.capture.asgi import MetricsMiddleware
    from readme_metrics.capture.asgi_scope import ScopeRequest

#: Inline mode's hand-off (to a thread that submits): begun, the log is its own (in line
#: or queued before a raise goes on). Its inner call's, not send_first's: a raise at that
#: call's entry had gone through send_first, the log not in line (lost unsaid, delivery52).
_HANDED_INLINE = HAND_OFF_CODE

__all__ = ["LogSide", "UNKNOWN"]

UNKNOWN: Any = object()  # the grouping function has not run yet


class LogSide(RequestSide):
    """The grouping call and the log of an exchange.

    It reads what the response side sets: ``_starting``, ``_bodied`` (a response body
    message went to the server), ``_ended`` and ``_own`` (the server's own send).
    """

    __slots__ = ("group", "_sending", "_settling", "_finished")

    middleware: MetricsMiddleware
    scope: MutableMapping[str, Any]
    request: ScopeRequest
    _own: Any
    _bodied: bool
    group: Any
    _sending: Optional[Future[None]]
    _settling: Optional[Awaitable[Optional[Group]]]
    _finished: bool

    async def identify(self) -> Optional[Group]:
        """Run the grouping function, once, with the body as far as it has arrived; an
        ``async`` one cancelled while it ran is awaited to its end now."""
        if self.group is UNKNOWN:
            if not self._body_over():
                await self.drain_now()
            pending = self._identify_now()
            if pending is not None:
                await self._settle(pending)
        elif self._settling is not None:
            await self._settle(None)
        return self.group  # type: ignore[no-any-return,unused-ignore]

    def _identify_now(self) -> Optional[Awaitable[Optional[Group]]]:
        """Call the grouping function; an awaitable is returned when it is ``async``."""
        self.group = None  # once, even if what follows raises or is cancelled
        try:
            body = self.recorder.request_body
            request = self.middleware.grouping_request(
                self.scope, body.content() if body is not None and body.size else b"")
            group = self.middleware.identify(request, body)
        except Exception:
            self.middleware.logger.debug("readme_metrics: grouping failed", exc_info=True)
            return None
        if group is None or isinstance(group, Group):
            self.group = group
            return None
        return group

    async def _settle(self, pending: Optional[Awaitable[Optional[Group]]]) -> None:
        """Await an ``async`` grouping function's answer (``pending``; None: the one
        started before). It runs outside the exchange's task (:mod:`.asgi_outlive`): a
        cancellation while it runs goes on, and the log made then waits for the answer,
        as the function is called once."""
        outlive = self.middleware.outlive
        if pending is not None:
            self._settling = outlive.start(pending)
        settling = self._settling
        assert settling is not None
        try:
            self.group = await outlive.wait(settling)
        except Exception:  # pragma: no cover - middleware.identify contains user errors
            self.middleware.logger.debug("readme_metrics: grouping failed", exc_info=True)
        self._settling = None

    def cancelled(self) -> None:
        """The app's call was cancelled. Before its response started, under a server that
        then sends nothing (:func:`.silent_on_cancel`: daphne, at its stop), the client
        got no answer: logged so (500 with a comment saying no answer reached the
        client), or as a client gone (499) when the server knew it had left, not as the
        app's 500, which no client got (blackbox19). Never raises."""
        try:
            recorder = self.recorder
            if recorder.status or not silent_on_cancel(self._own):
                return
            if self._disconnected or client_gone(self._own):
                recorder.client_left(CLIENT_GONE_STATUS, CLIENT_GONE_REASON,
                                     CLIENT_GONE_COMMENT)
            elif daphne_stopping():  # (else an outer layer's: it may answer, delivery54)
                recorder.no_answer("cancelled the app before its response started", 0)
        except Exception:  # pragma: no cover - a look at the server must not cost the log
            self.middleware.logger.debug("readme_metrics: cancelled", exc_info=True)

    async def finish(self, failed: bool) -> None:
        """Turn the exchange into one queued log (exactly once). Never raises, but for a
        cancellation of the task, which goes on once the log is queued."""
        left = self.finish_now(failed)
        if left is not None:
            await left

    def finish_now(self, failed: bool) -> Optional[Awaitable[None]]:
        """:meth:`finish` without a coroutine when nothing is to be waited for (the
        usual case: the caller known, the body over, no inline send to wait for), as
        a coroutine costs more than the rest of queuing the log; else what is left to
        await."""
        recorder = self.recorder
        if failed:
            recorder.fail()
        # Finished twice in the usual case: by the last body message, then when the
        # app's call returns. The recorder's finish() tells a second call by an
        # AttributeError raised and caught (about 3k instructions); this flag first.
        # (The exchange runs on its event loop's thread: no other thread finishes it.)
        if self._finished or not recorder.finish():
            sending = self._sending
            if sending is not None:  # the app's call ends once its inline send is over
                self._sending = None
                return self.middleware.sent(sending)
            return None
        self._finished = True
        group = self.group
        if group is not UNKNOWN and self._settling is None:
            try:
                body = recorder.request_body
                if group is None or body is None or body.eof:  # _log() would not wait
                    self._queue(group)
                    return None
            except BaseException as error:
                # A signal handler's raise before _queue's own handler could run (at its
                # entry): the log is queued first, then it goes on (delivery49). Before,
                # the recorder finished and nothing queued: the log lost unsaid.
                if group is not None and not began(error, _QUEUE):
                    self._queue_interrupted(group, None)
                raise
        return self._finish_log()

    async def _finish_log(self) -> None:
        """:meth:`finish`'s log, when it may wait (see :meth:`_log`)."""
        try:
            await self._log()
        except BaseException as exc:
            if not is_cancellation(exc):
                raise  # pragma: no cover - _log contains every error
            # Cancelled while the log waited (the rest of the body, an ``async``
            # grouping function): this was the one finish, so the log is made outside
            # the cancelled task, from where it stopped.
            await self.middleware.outlive.run(self._log)
            raise

    def _answered(self) -> None:
        """The server ended the request body before the app's start: under the servers
        :func:`.cut_answered` names, the client got the server's own answer (400 for a
        malformed body, which they report to the app as ``http.disconnect``), or nothing
        if it left mid-body, logged as that 400 too; not the app's answer, which the
        server drops."""
        if self._cut and cut_answered(self._receive, self._own):
            self.recorder.server_answered(
                CUT_STATUS, "Bad Request",
                "a malformed request body, or one the client left before sending")

    def _held(self) -> None:
        """The app started its response and ended (returned, raised, or was cancelled)
        before any body message: under a server that writes the head only with the
        first one (:func:`.holds_start`), the client got the server's 500 instead
        (unless the log already says what the client got: granian's 500 to a final 1xx)."""
        if (self._starting and not self._bodied and self.recorder.comment is None
                and holds_start(self._own)):
            self.recorder.server_answered(500, "Internal Server Error",
                                          "the app ended before any body message")

    async def _log(self) -> None:
        """Make the log and hand it over. Every await comes before anything is handed
        over, and may be cancelled: run again, it goes on from where it stopped."""
        recorder = self.recorder
        try:
            group = self.group
            if group is UNKNOWN or self._settling is not None:
                group = await self.identify()  # no response was started: identify now
            if group is None:
                self.middleware.skip()
                return
            body = recorder.request_body
            if body is not None and not body.eof:
                await self.drain_now()
                if not body.eof and body.room > 0:
                    body.give_up()  # the log says the body is incomplete
        except Exception:
            self.middleware.logger.exception("readme_metrics: could not record a request")
            return
        self._queue(group)

    def _queue(self, group: Optional[Group]) -> None:
        """Hand the log over (the end of :meth:`_log`, which nothing awaits); None: the
        exchange is not logged."""
        pending: Optional[Pending] = None
        try:
            if group is None:
                self.middleware.skip()
                return
            # _answered() and _held() called only when their first test holds: the
            # usual exchange was not cut, and ended with a body message.
            if self._cut:
                self._answered()
            if not self._bodied:
                self._held()
            if self._ended:
                # (A body left short of its Content-Length is the app's: the client is
                # there, Pending.to_exchange looks.)
                self.recorder.ended = not self._disconnected
            elif self._head_written() and not self.recorder.ended:
                # The app's call ended with no last body message: the servers close the
                # connection (hypercorn's HTTP/2 one too), no last chunk or short of the
                # Content-Length, and the log says so (Exchange.response_body_cut). Not
                # when the client left first: the app (Starlette's StreamingResponse,
                # told http.disconnect) stopped because of it, and broke nothing off:
                # the log says the client left (Exchange.response_client_left).
                if self._disconnected or client_gone(self._own):
                    self.recorder.left = True
                else:
                    self.recorder.broke_off = True
            if self.scope.get("http_version") == "1.0":  # uvicorn answers HTTP/1.1
                # (Neither known, behind a middleware's bound method: the servers loaded.)
                self.recorder.answered = (answered_version(self._own, self._receive)
                                          or loaded_answered_version())
            pending = Pending(self.recorder, self.request, group,
                              self._ended or time.perf_counter())
            middleware = self.middleware
            if middleware.background:
                middleware.submit(pending)
            else:
                sending = middleware.submit_inline(pending)
                if self._ended:  # else the server owes its answer (its 500): no wait
                    self._sending = sending
        except Exception:
            self.middleware.logger.exception("readme_metrics: could not record a request")
        except BaseException as error:
            # A signal handler's raise (one that raises: uvicorn's and hypercorn's own
            # only set a flag) in the loop's thread, the main one: the log is queued
            # first, a queue put (the exit sends it), then it goes on unchanged, as the
            # WSGI end does (delivery/interrupted.py). Before, lost unsaid (delivery49).
            # Asked of the log (handed: Batcher.put marked it), not of how far submit
            # got: a raise just after the put returned would queue it twice (review134).
            if group is not None and not ((pending is not None and handed(pending))
                                          or began(error, _HANDED_INLINE)):
                self._queue_interrupted(group, pending)
            raise

    def _queue_interrupted(self, group: Group, pending: Optional[Pending]) -> None:
        """:meth:`_queue` cut short before the log reached the queue: queued now, as it
        is (no send: a queue put). Never raises."""
        try:
            if pending is None:
                pending = Pending(self.recorder, self.request, group,
                                  self._ended or time.perf_counter())
            self.middleware.submit(pending, send=False)
        except Exception:  # pragma: no cover - never into the server
            pass


#: :meth:`LogSide._queue`'s code: a raise that went through it past its entry was its own
#: handler's to queue.
_QUEUE = LogSide._queue.__code__
