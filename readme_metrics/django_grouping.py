"""The grouping function's call for the exchanges of the Django middleware
(:mod:`readme_metrics.django`): who the caller is, asked once the view has answered.

The function is user code that may touch the database (``request.user``), so the async
chain calls it in a thread (``sync_to_async``). Under ASGI an ``async`` function (or an
awaitable one returned) is awaited on the event loop: from the async chain directly,
from the sync chain (a sync-only middleware below this one) through ``async_to_sync``;
under WSGI there is no loop, and the pipeline's call says so. An answer awaited for the
async chain outlives the request's task (:mod:`.capture.asgi_outlive`): Django cancels
that task when the client leaves, which lost the log.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any, Optional

from asgiref.sync import async_to_sync

from readme_metrics.capture.asgi_grouping import AwaitingIdentifier
from readme_metrics.capture.asgi_outlive import Outlive
from readme_metrics.config import MetricsApiConfig
from readme_metrics.django_exchange import Capture
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

__all__ = ["Grouping"]


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class Grouping:
    """One middleware chain's calls of its configuration's grouping function, each
    exchange's answer taken by its :class:`~readme_metrics.django_exchange.Capture`."""

    __slots__ = ("pipeline", "_awaiting", "_outlive")

    def __init__(self, config: MetricsApiConfig, pipeline: MetricsPipeline) -> None:
        self.pipeline = pipeline
        # Under ASGI, an ``async`` grouping function (or an awaitable returned) is awaited
        # on the event loop; under WSGI there is no loop: the pipeline's says so.
        self._awaiting = AwaitingIdentifier(config.grouping_function, pipeline.logger,
                                            config.api_key)
        self._outlive = Outlive()

    def identify(self, capture: Capture, response: Any = None, on_loop: bool = False
                 ) -> Any:
        """The caller per the grouping function, or, ``on_loop``, the awaitable an
        ``async`` one gave (for the caller to await on the event loop: :meth:`settle`)."""
        try:
            capture.settle_request_body(bool(getattr(response, "streaming", False)))
        except Exception:
            self.pipeline.logger.debug("readme_metrics: request body not settled",
                                       exc_info=True)
        request = capture.request
        copy = capture.given_copy()
        if not isinstance(getattr(request, "scope", None), dict):
            # WSGI: no event loop to await an async function on (a clear error).
            capture.asking = True  # (a raise from here on may cut its answer short)
            return self.grouped(capture, self.pipeline.identify(request, copy))
        capture.asking = True
        group = self._awaiting(request, copy)
        if group is None or group.__class__ is Group:
            return self.grouped(capture, group)
        if on_loop:
            return group
        # The sync chain under ASGI (a sync-only middleware below this one), or a
        # failure: this thread is Django's, off the loop, which awaits the function.
        try:
            return self.grouped(capture, async_to_sync(_awaited)(group))
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not await the grouping "
                                           "function; the request is not logged")
            return self.grouped(capture, None)

    def grouped(self, capture: Capture, group: Optional[Group]) -> Optional[Group]:
        """The grouping function's answer, ``group``, taken: the capture's from now on."""
        capture.group = group
        capture.asked = True
        try:
            capture.grouped()
        except Exception:  # pragma: no cover - attribute reads and writes only
            self.pipeline.logger.debug("readme_metrics: request body not handed back",
                                       exc_info=True)
        return group

    async def settle(self, capture: Capture, pending: Any) -> Optional[Group]:
        """Await an ``async`` grouping function's answer, outside the request's task
        (:mod:`.capture.asgi_outlive`): Django cancels that task when the client leaves,
        and the function, cancelled with it, lost the log. Then, as for a cancellation
        of the view, the log has status 500 (nothing was sent) and the cancellation goes
        on once it is queued."""
        outlive = self._outlive
        started = outlive.start(pending)
        try:
            return self.grouped(capture, await outlive.wait(started))
        except asyncio.CancelledError:
            await outlive.run(partial(self._settled_cancelled, capture, started))
            raise

    async def _settled_cancelled(self, capture: Capture, started: Any) -> None:
        group = self.grouped(capture, await started)
        capture.recorder.responded = time.perf_counter()
        capture.recorder.fail()
        if group is None:
            self.pipeline.skip()
        else:
            capture.finish()
