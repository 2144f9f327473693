"""The ``lifespan`` scope of the ASGI middleware: the queue is flushed when it ends.

The flush cannot wait for interpreter exit: uvicorn ends on SIGTERM (how Docker, systemd
and Kubernetes stop it) by raising the signal again once it has shut down, and at-exit
hooks do not run then. So the lifespan's end is where queued logs go out.

The app's lifespan messages pass unchanged, the flush runs just before
``lifespan.shutdown.complete`` (or ``.failed``) reaches the server. An app whose lifespan
call ends without either (it returned once started, or raised on ``lifespan.shutdown``)
still gets the flush: once its call ended after ``lifespan.shutdown``, or, for one that
returned once started, when the server's ``lifespan.shutdown`` comes, which the servers
still send (the server sees the call end as bare). One that returned as soon as it took
``lifespan.startup``, having said nothing, the servers take as started: the middleware
says ``lifespan.startup.complete`` for it (as the servers take the call's end) and waits
for that shutdown. An app that does not
speak the protocol at all (Django's ASGI handler, an app asserting ``scope["type"] ==
"http"``) raises, or returns, before it takes or sends any message; the server would then go
on without a lifespan and never say when it stops, and every log still queued would be
lost on SIGTERM. In that case alone the middleware answers the protocol itself: startup
complete at once (the app had nothing to start), and the flush at shutdown. An app that
fails after receiving ``lifespan.startup`` fails as it would bare.

Without an asyncio loop (trio) the flush runs in the loop's thread: nothing is served any
more when the server shuts the app down (ASGI sends ``lifespan.shutdown`` after closing
every connection).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from readme_metrics.asgi_types import ASGIApp, Message, Receive, Scope, Send
from readme_metrics.capture.asgi_outlive import Outlive
from readme_metrics.capture.asgi_receive import running_asyncio_loop
from readme_metrics.delivery import (
    gunicorn_stop,
    second_interrupt,
    uvicorn_exit,
    uvicorn_worker_quit,
)

__all__ = ["Lifespan"]

_ENDS = ("lifespan.shutdown.complete", "lifespan.shutdown.failed")


class Lifespan:
    """Runs the lifespan scope of an app; ``flush(timeout)`` sends the queued logs."""

    def __init__(self, flush: Callable[[Optional[float]], bool], timeout: float,
                 logger: Any, outlive: Outlive, queued: Callable[[], int],
                 stopping: Callable[[], object] = lambda: None,
                 stopped: Callable[[], object] = lambda: None) -> None:
        self.flush = flush
        #: Told as the flush at shutdown begins: a close after it (the exit's) ends
        #: within the same ``timeout`` (:meth:`Delivery.stop_begins
        #: <readme_metrics.delivery.core.Delivery.stop_begins>`).
        self.stopping = stopping
        #: Told as it ended (the server's exit follows: :func:`stop_mark.holds
        #: <readme_metrics.delivery.stop_mark.holds>`).
        self.stopped = stopped
        self.timeout = timeout
        #: The flush's bound and gunicorn's graceful timeout where that set it (else
        #: ``timeout`` and None: :func:`~readme_metrics.delivery.gunicorn_stop.close_bound`).
        self.bound: tuple[float, Optional[gunicorn_stop.Limit]] = (timeout, None)
        self.logger = logger
        self.outlive = outlive
        #: How many logs are still queued (``stats["queued"]``): said if the flush left any.
        self.queued = queued

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send
                       ) -> None:
        asked = False  # the app took or sent a message: it speaks the protocol
        # What of the protocol went by: the server's lifespan.startup and lifespan.shutdown
        # given to the app, the app's startup end (.complete or .failed), and the flush
        # made (before its shutdown end).
        told_start = shutdown = started = start_failed = flushed = False

        async def app_receive() -> Message:
            nonlocal asked, told_start, shutdown
            asked = True
            message = await receive()
            kind = message.get("type")
            if kind == "lifespan.shutdown":
                shutdown = True
            elif kind == "lifespan.startup":
                told_start = True
                # Serving from here on, the server's signal handlers set: under
                # uvicorn-worker's UvicornWorker, note when its SIGTERM comes (the
                # flush at shutdown is bounded from then: gunicorn_stop).
                gunicorn_stop.watch_stop()
                # and its SIGQUIT (gunicorn's quick stop) stop it: uvicorn_worker_quit.
                uvicorn_worker_quit.watch_quit()
                # and, where its loop ends at a raise, SIGTERM until the exit's close.
                uvicorn_exit.watch()
            return message

        async def app_send(message: Message) -> None:
            nonlocal asked, started, start_failed, flushed
            asked = True
            kind = message.get("type")
            if kind in _ENDS:
                flushed = True
                await self.flush_off_loop()
            elif kind == "lifespan.startup.complete":
                started = True
            elif kind == "lifespan.startup.failed":
                start_failed = True
            await send(message)

        try:
            await app(scope, app_receive, app_send)
        except Exception:
            if asked:
                if shutdown and not flushed:  # it failed at shutdown without a word
                    await self.flush_off_loop()
                raise  # a real startup or shutdown failure: the server sees it as bare
            self.logger.debug("readme_metrics: the app does not support the lifespan "
                              "protocol; the middleware answers it", exc_info=True)
        if not asked:
            await self._answer(receive, send)
        elif not flushed and (shutdown or started):
            await self._shut_down(shutdown, receive)
        elif told_start and not (flushed or start_failed):
            # It took lifespan.startup and returned, having said nothing: the servers
            # take that as started (a call that ended without an error), and still send
            # lifespan.shutdown. The call must end for them to go on, or end to be waited
            # for at shutdown: lifespan.startup.complete, which they take alike, lets
            # them go on while the flush waits for that shutdown.
            await send({"type": "lifespan.startup.complete"})
            await self._shut_down(False, receive)

    async def _shut_down(self, told: bool, receive: Receive) -> None:
        """The app's lifespan call returned without a shutdown end: the flush is made now
        if the app was told ``lifespan.shutdown``; if it returned once started, at the
        server's shutdown, which uvicorn, hypercorn and granian still send (the app's
        call returned: nobody else reads it). Nothing is sent to the server, which goes
        on as it does bare once the call returns."""
        if not told and (await receive()).get("type") != "lifespan.shutdown":
            return
        await self.flush_off_loop()

    async def _answer(self, receive: Receive, send: Send) -> None:
        """The lifespan protocol, for an app that does not speak it."""
        kind = (await receive()).get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            kind = (await receive()).get("type")
        if kind == "lifespan.shutdown":
            await self.flush_off_loop()
            await send({"type": "lifespan.shutdown.complete"})

    async def flush_off_loop(self) -> None:
        """Send what is queued, within the timeout, from the loop's executor (trio: here).

        The logs of the exchanges the server cancelled before (uvicorn does after its
        graceful timeout) may still be made outside their tasks: they are waited for
        first, within the same timeout."""
        try:
            self.stopping()
            # In a gunicorn worker (uvicorn-worker's: its SIGTERM ends the process with
            # no exit hook, so this flush is the last), it ends before the master's kill.
            self.bound = gunicorn_stop.close_bound(self.timeout)
            bound = self.bound[0]
            loop = running_asyncio_loop()
            if loop is None:
                self._flush(bound)
                return
            # A Ctrl-C meanwhile (uvicorn's second; hypercorn's, which its worker
            # ignores) ends the wait at once, said: the server's handler alone let it
            # run to its bound (delivery42, delivery43); a SIGTERM that would kill the
            # process (hypercorn's worker) says so first.
            with second_interrupt.watching(ignored_sigint=True):
                left = await self.outlive.settle(bound)
                await loop.run_in_executor(None, self._flush, left)
        except Exception:  # never into the app's shutdown
            self.logger.debug("readme_metrics: flush at shutdown failed", exc_info=True)

    def _flush(self, timeout: Optional[float]) -> None:
        """The flush, and one warning if logs are left queued after it: uvicorn ends on
        SIGTERM without the exit hooks, so no close would say they were lost (before
        blackbox6 an unanswering API at a uvicorn stop lost them without a word). The
        exit's close has no bound of its own after it (delivery34's stop_begins): the
        line said "else the exit tries again" before review114. ``shutdown_timeout``
        0: no flush (no POST begins: the stop sends nothing, as the exit; delivery61).
        Told ended once said, ``stopped``."""
        try:
            if self.timeout > 0 and self.flush(timeout):
                return
            left = self.queued()
            if left:
                self.logger.warning(
                    "readme_metrics: the flush at the ASGI lifespan's shutdown gave up after "
                    "%s: %d log%s not delivered yet, still queued; they are lost if the "
                    "process ends without Python's exit hooks (uvicorn on SIGTERM), else the "
                    "exit's close says what became of them, within this same shutdown_timeout "
                    "(one of its own if a log comes first)", self._had(timeout), left,
                    "" if left == 1 else "s")
        finally:
            self.stopped()  # (its warning said: the server's exit follows)

    def _had(self, timeout: Optional[float]) -> str:
        """The time the flush had: all of shutdown_timeout, or what was left of it once
        the logs of the exchanges the server cancelled were made (:meth:`Outlive.settle
        <readme_metrics.capture.asgi_outlive.Outlive.settle>`). The full timeout was
        said of a flush that had 0.0 s of it (delivery33)."""
        whole = f"shutdown_timeout (README_SHUTDOWN_TIMEOUT) of {self.timeout:g}s"
        bound, graceful = self.bound
        if graceful is not None:
            whole = (f"{round(bound, 1):g}s, not {whole}: {graceful.said()} "
                     f"{graceful.kills()}")
            if timeout is None or timeout >= bound:
                return whole
        elif timeout is None or timeout >= self.timeout:
            return whole
        return (f"the {timeout:.1f}s left of {whole}, the rest spent waiting for the logs "
                "of the exchanges the server cancelled")
