"""Walking a thread's stack: a frame and the frames that called it, innermost first.

What each walk looks for (a test client's call, gunicorn's worker, Starlette building
its middleware, ...) stays with the module that asks. The generator holds one frame at
a time, and none once it is done or dropped (a ``return`` from the caller's ``for``
ends it): a frame kept alive keeps the app's locals alive.
"""

from __future__ import annotations

from types import FrameType
from typing import Iterator, Optional

__all__ = ["frames"]


def frames(start: Optional[FrameType]) -> Iterator[FrameType]:
    """``start``, then its caller, its caller's caller, ... to the outermost (nothing
    for None)."""
    frame = start
    del start
    while frame is not None:
        yield frame
        frame = frame.f_back
