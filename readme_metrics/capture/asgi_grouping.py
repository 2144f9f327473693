"""The grouping function where what it returns may be awaited: under an event loop.

The ASGI middlewares and Django's middleware under its ASGI handler accept an ``async``
grouping function, or a plain one returning an awaitable (a lambda around an async
function, a decorator's plain wrapper). The function is called here, not by the
:class:`~readme_metrics.grouping.Identifier`, so that what it returns may be awaited
first; the Identifier then checks and reports the value, or the exception replayed (see
:class:`_Raised`), so that one place reports it, naming the user's line.
"""

from __future__ import annotations

import inspect
import logging
from time import perf_counter
from typing import Any, Awaitable, Callable, Optional, Union

from readme_metrics._logging import QuietLogger
from readme_metrics.capture.body import BodyRecord
from readme_metrics.exchange import Group
from readme_metrics.grouping import Identifier
from readme_metrics.grouping_blocking import (
    BLOCKING_SECONDS,
    TIMED_CALLS,
    blocked_the_loop,
    on_a_loop,
)

__all__ = ["AwaitingIdentifier"]


def _given(value: Any) -> Any:
    """What the grouping function returned, for the Identifier to check."""
    return value


class _Raised:
    """What the grouping function raised, raised again inside the Identifier."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __call__(self) -> Any:
        raise self.error


class AwaitingIdentifier:
    """Calls ``grouping_function(request)``: the Group (None: do not log), or, when the
    function is ``async`` or returns an awaitable, an awaitable of it. Never raises."""

    __slots__ = ("_grouping", "_identifier", "_logger", "_raised", "_timing_left")

    def __init__(self, grouping_function: Callable[[Any], Any],
                 logger: Union[logging.Logger, QuietLogger], readme_key: str = "") -> None:
        self._grouping = grouping_function
        # The Identifier makes its own QuietLogger of the logger (a QuietLogger given
        # keeps its secrets: the API key stays out of the tracebacks it writes).
        # Bound ``__call__`` methods, not the instances: 3.11 runs a bound method of a
        # Python function in the caller's loop, an instance's call through a C slot.
        self._identifier = Identifier(_given, logger, readme_key).__call__
        self._raised = Identifier(_Raised.__call__, logger).__call__
        self._logger = QuietLogger(logger)
        # The first calls are timed (see grouping_blocking): a lookup that blocks does so
        # on a cold cache first. Two clock reads cost 0.1 to 0.3 us: none after these.
        self._timing_left = TIMED_CALLS

    def __call__(self, request: Any, copy: Optional[BodyRecord] = None
                 ) -> Union[Optional[Group], Awaitable[Optional[Group]]]:
        """``copy``: the record of the body the request reads (see Identifier)."""
        if self._timing_left:
            return self._timed(request, copy)
        try:
            result = self._grouping(request)
        except Exception as exc:  # user code: reported by the Identifier, contained
            return self._raised(_Raised(exc), copy)
        if result.__class__ is not dict and inspect.isawaitable(result):
            return self._later(result, copy)
        return self._identifier(result, copy)

    def _timed(self, request: Any, copy: Optional[BodyRecord]
               ) -> Union[Optional[Group], Awaitable[Optional[Group]]]:
        """:meth:`__call__`, a plain function's call timed: one that held the event loop
        over BLOCKING_SECONDS is said once (see :mod:`readme_metrics.grouping_blocking`)."""
        self._timing_left -= 1
        started = perf_counter()
        try:
            result = self._grouping(request)
        except Exception as exc:
            self._held(started)
            return self._raised(_Raised(exc), copy)
        if result.__class__ is not dict and inspect.isawaitable(result):
            return self._later(result, copy)  # async def: its waits let the loop run
        self._held(started)
        return self._identifier(result, copy)

    def _held(self, started: float) -> None:
        took = perf_counter() - started
        if took > BLOCKING_SECONDS and on_a_loop():
            self._timing_left = 0  # said once: no more timing
            self._logger.warning("%s", blocked_the_loop(self._grouping, took))

    async def _later(self, result: Awaitable[Any], copy: Optional[BodyRecord]
                     ) -> Optional[Group]:
        try:
            value = await result
        except Exception as exc:
            return self._raised(_Raised(exc), copy)
        return self._identifier(value, copy)
