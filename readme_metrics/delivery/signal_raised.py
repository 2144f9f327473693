"""Whether an exception is a signal handler's raise (in the main thread), not the code's.

A build (the HAR of a log) that raises SystemExit drops that one log, said, and the
batch goes on (sender.py). In inline mode the build runs in the request thread, the main
one under wsgiref: a SIGTERM handler's ``sys.exit`` (Ctrl-C's KeyboardInterrupt) landing
in it was taken for the build's, that log dropped and the raise swallowed (the server
served on; delivery49). Told apart here: the handler's frame is in the raise's traceback.
"""

from __future__ import annotations

import signal
import threading
from types import CodeType
from typing import Any, Optional

__all__ = ["signal_raised"]


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
