"""A signal handler's raise in the hand-off of a log: queue first, then let it go on.

A handler set with ``signal.signal`` runs in the main thread between two instructions
(CPython 3.11+: at a call, a function's entry or a loop's jump); one that raises
(``sys.exit`` on SIGTERM, KeyboardInterrupt on Ctrl-C; gevent's Timeout the same way)
raises there. Under a server that runs the app in its main thread (wsgiref and
``bottle.run``, werkzeug's and runserver's without threads, an event loop) it may land
in the library's own code after the app's last byte, as the log is handed to the queue.
Each step there either finishes before it goes on (:meth:`Delivery.submit
<readme_metrics.delivery.core.Delivery.submit>`, :meth:`Batcher.put
<readme_metrics.delivery.batcher.Batcher.put>`) or has its caller finish it in an
``except BaseException`` that ends with a bare ``raise``: the server and the app see
the very exception they would have seen without the middleware.

The same raise may land in a log's build (inline mode builds in the request thread, the
main one under wsgiref): :func:`signal_raised` tells it from the build's own SystemExit,
which drops that one log (sender.py), so that it goes on instead (delivery49).
"""

from __future__ import annotations

import signal
import threading
from types import CodeType
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["began", "handed", "said_dropped", "signal_raised"]


def began(error: BaseException, code: CodeType) -> bool:
    """Whether ``error`` went through a frame running ``code`` past that frame's first
    instruction (a raise at a function's very entry, before its ``try``, leaves it
    undone: that function's own handler never ran). Never raises."""
    try:
        trace: Any = error.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code is code:
                return bool(trace.tb_lasti > _entry(code))
            trace = trace.tb_next
    except Exception:  # pragma: no cover - a traceback is the interpreter's
        pass
    return False


def handed(item: object) -> bool:
    """Whether :meth:`Batcher.put <readme_metrics.delivery.batcher.Batcher.put>` took
    ``item`` (queued or counted refused, or to be before a raise goes on). What a caller
    that a raise reached asks, rather than how far :meth:`Delivery.submit` got (a
    traceback's): a raise also lands right after the queueing call returned, in the
    caller's own frame (CPython 3.9/3.10 after any call, 3.11+ after a C callable's),
    where the traceback tells nothing."""
    return getattr(item, "handed", False) is True


def said_dropped(pipeline: MetricsPipeline, error: BaseException) -> None:
    """A log that ``error`` cut short before it could be built (it landed in the
    grouping function, which had not answered: no caller to log it under): counted
    dropped ("shutdown", as a stop's) and said. Never raises (but a second raise)."""
    try:
        pipeline.delivery.count_dropped_at_exit(1)
        pipeline.logger.warning(
            "readme_metrics: %s was raised while the grouping function ran (a signal "
            "handler's, in the main thread): 1 log not sent (its caller unknown)",
            type(error).__name__)
    except Exception:  # pragma: no cover - never into the server
        pass


_ENTRIES: dict[CodeType, int] = {}


def _entry(code: CodeType) -> int:
    """The offset of ``code``'s RESUME (where a function checks for signals as it
    starts), 0 before 3.11."""
    offset = _ENTRIES.get(code)
    if offset is None:
        import dis  # (only here: a raise in the hand-off is rare)

        offset = next((instruction.offset for instruction in dis.get_instructions(code)
                       if instruction.opname == "RESUME"), 0)
        _ENTRIES[code] = offset
    return offset


def signal_raised(error: BaseException) -> bool:
    """Whether ``error`` (not an Exception) came from a signal handler: in the main
    thread, a KeyboardInterrupt (Python's SIGINT handler is C: no frame of its own), or
    a raise whose traceback holds the frame of a handler set now. Never raises."""
    try:
        if isinstance(error, Exception) or (
                threading.current_thread() is not threading.main_thread()):
            return False
        if isinstance(error, KeyboardInterrupt):
            return True
        codes: set[CodeType] = set()
        for signum in signal.valid_signals():
            code = _code(signal.getsignal(signum))
            if code is not None:
                codes.add(code)
        trace: Any = error.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code in codes:
                return True
            trace = trace.tb_next
    except Exception:  # pragma: no cover - never into the caller
        pass
    return False


def _code(handler: Any) -> Optional[CodeType]:
    """The code object a Python handler runs (a function, a method, a partial)."""
    for _ in range(4):
        code = getattr(handler, "__code__", None)
        if isinstance(code, CodeType):
            return code
        handler = getattr(handler, "__func__", None) or getattr(handler, "func", None)
        if handler is None:
            return None
    return None
