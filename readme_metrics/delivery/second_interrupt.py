"""A Ctrl-C while a server's stop waits for the library (the ASGI lifespan's flush): the
delivery ends at once, said, and the server's own handler runs as before.

uvicorn takes SIGINT itself (``handle_exit``, a Python handler): a second Ctrl-C during
the lifespan's shutdown raises nothing, so the flush went on waiting for the Metrics API
for its whole ``shutdown_timeout`` (delivery42: an API holding its answers, a 20 s bound,
the process exited 20.6 s after the second Ctrl-C; uvicorn's ``force_exit`` does not cut
a lifespan shutdown under way). hypercorn's CLI runs the app in a worker process that
ignores SIGINT (its parent ignores a second Ctrl-C too): no handler here sees it there,
and the flush keeps its bound, said (20.4 s at a 20 s bound; review126). While such a wait lasts,
:func:`watching` puts a wrapper around the SIGINT handler that has every tracked object
end its close now (:func:`.process.interrupted`, from a thread of its own: the signal
handler runs in the loop's thread, which may hold the queue's lock), saying what it gave
up on, then calls the handler it replaced. Outside such a wait the exit's close meets
the KeyboardInterrupt itself (:mod:`.closing_interrupt`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Optional

from readme_metrics.delivery import process
from readme_metrics.threads import start_thread

__all__ = ["watching"]


@contextmanager
def watching() -> Iterator[None]:
    """While the block runs, a SIGINT ends every delivery's close of this process at
    once (said), then goes to the handler it had. Only where the handler is a Python
    callable other than Python's default (which raises KeyboardInterrupt: the waiting
    code meets it) and in the main thread (the only one that may set it). Never
    raises."""
    handler = _wrap()
    try:
        yield
    finally:
        if handler is not None:
            try:
                if signal.getsignal(signal.SIGINT) is handler:
                    signal.signal(signal.SIGINT, handler.previous)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass


class _Handler:
    """The wrapper: the delivery's end begun in a thread, then the handler replaced."""

    def __init__(self, previous: Callable[[int, Optional[FrameType]], Any]) -> None:
        self.previous = previous

    def __call__(self, signum: int, frame: Optional[FrameType]) -> Any:
        start_thread(process.interrupted, "readme-metrics-interrupt",
                     args=(KeyboardInterrupt(),))
        return self.previous(signum, frame)


def _wrap() -> Optional[_Handler]:
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous) or previous is signal.default_int_handler:
            return None
        handler = _Handler(previous)
        signal.signal(signal.SIGINT, handler)
        return handler
    except (ValueError, OSError, TypeError):  # pragma: no cover - no signals here
        return None
