"""The ``lifespan`` scope of the ASGI middleware: the queue is flushed when it ends.

The flush cannot wait for interpreter exit: uvicorn ends on SIGTERM (how Docker, systemd
and Kubernetes stop it) by raising the signal again once it has shut down, and at-exit
hooks do not run then. So the lifespan's end is where queued logs go out.

The app's lifespan messages pass unchanged, the flush runs just before
``lifespan.shutdown.complete`` (or ``.failed``) reaches the server. An app that does not
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

__all__ = ["Lifespan"]

_ENDS = ("lifespan.shutdown.complete", "lifespan.shutdown.failed")


class Lifespan:
    """Runs the lifespan scope of an app; ``flush(timeout)`` sends the queued logs."""

    def __init__(self, flush: Callable[[Optional[float]], bool], timeout: float,
                 logger: Any, outlive: Outlive) -> None:
        self.flush = flush
        self.timeout = timeout
        self.logger = logger
        self.outlive = outlive

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send
                       ) -> None:
        asked = False  # the app took or sent a message: it speaks the protocol

        async def app_receive() -> Message:
            nonlocal asked
            asked = True
            return await receive()

        async def app_send(message: Message) -> None:
            nonlocal asked
            asked = True
            if message.get("type") in _ENDS:
                await self.flush_off_loop()
            await send(message)

        try:
            await app(scope, app_receive, app_send)
        except Exception:
            if asked:
                raise  # a real startup or shutdown failure: the server sees it as bare
            self.logger.debug("readme_metrics: the app does not support the lifespan "
                              "protocol; the middleware answers it", exc_info=True)
        if not asked:
            await self._answer(receive, send)

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
            loop = running_asyncio_loop()
            if loop is None:
                self.flush(self.timeout)
                return
            left = await self.outlive.settle(self.timeout)
            await loop.run_in_executor(None, self.flush, left)
        except Exception:  # never into the app's shutdown
            self.logger.debug("readme_metrics: flush at shutdown failed", exc_info=True)
