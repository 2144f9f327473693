"""Walking a thread's stack: a frame and the frames that called it, innermost first.

What each walk looks for (a test client's call, gunicorn's worker, Starlette building
its middleware, ...) stays with the module that asks. The generator holds one frame at
a time, and none once it is done or dropped (a ``return`` from the caller's ``for``
ends it): a frame kept alive keeps the app's locals alive.
"""

from __future__ import annotations

import gc
import sys
from types import FrameType
from typing import Iterator, Optional

__all__ = ["frames", "thread_frame"]


def frames(start: Optional[FrameType]) -> Iterator[FrameType]:
    """``start``, then its caller, its caller's caller, ... to the outermost (nothing
    for None)."""
    frame = start
    del start
    while frame is not None:
        yield frame
        frame = frame.f_back


def thread_frame(ident: Optional[int]) -> Optional[FrameType]:
    """The innermost frame of another thread (``ident``), None if it has none.

    ``sys._current_frames()`` is called with the garbage collector off: CPython 3.11
    allocates its dict while it holds the interpreter's thread-state lock, and a
    collection started there runs finalisers that may let the GIL go, while a thread
    being started or ended waits for that lock holding the GIL: the process hangs for
    good (flaky57: a test's look of the same kind hung hypercorn's worker at its loop's
    close, 8 of 140 stops under load)."""
    if ident is None:
        return None
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sys._current_frames().get(ident)
    finally:
        if enabled:
            gc.enable()
