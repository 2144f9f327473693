"""The sweeps' profile hook (delivery46): at the Nth landing point in the library's code
(a function's entry, a C call's return: where CPython runs a signal handler), the main
thread is sent a real signal, whose handler raises there.

Imported by the servers the sweeps run in a subprocess (tests/test_delivery46_findings.py's
wsgiref and werkzeug server, tests/support/landing_django.py's runserver site). Counting
begins at :func:`arm`; ``over(code)`` tells the code whose first event ends the request
(the hook is then removed); the hook's ``state`` says where the raise landed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import CodeType
from typing import Any, Callable, Optional

MAIN = threading.main_thread().ident
LIB = os.path.dirname(__import__("readme_metrics").__file__) + os.sep


def hook(over: Callable[[CodeType], bool], signum: int = signal.SIGTERM) -> Any:
    """The profile function: counts the library's landing points until ``over``. Its
    ``state``: the point to raise at, the points counted so far, where the raise landed
    (or None)."""
    state: dict[str, Any] = {"target": -1, "count": 0, "raised": None}

    def landing(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        if over(code):
            sys.setprofile(None)  # the request is over
            return
        if event in ("call", "c_return") and code.co_filename.startswith(LIB):
            if state["count"] == state["target"]:
                sys.setprofile(None)
                state["raised"] = f"{code.co_filename[len(LIB):]}:{code.co_name}:{event}"
                print("raised at", state["raised"], flush=True)
                signal.pthread_kill(MAIN, signum)  # its handler raises here
            state["count"] += 1

    landing.state = state  # type: ignore[attr-defined]
    return landing


def arm(target: int, landing: Any) -> None:
    """Count from now on, in this thread, raising at the ``target``-th point."""
    landing.state.update(target=target, count=0, raised=None)
    sys.setprofile(landing)


def traced(tracer: Any, call: Callable[[], Any]) -> Optional[BaseException]:
    """``call()`` under ``sys.settrace(tracer)`` (a tracer that raises where it lands, in
    the test's own thread): the exception that came out of it, as a server would see it,
    else None."""
    sys.settrace(tracer)
    try:
        call()
    except BaseException as error:  # noqa: B036 (what the server would see)
        return error
    finally:
        sys.settrace(None)
    return None
