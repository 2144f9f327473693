"""A plain grouping function that held the event loop: said once, with what to do.

Under the ASGI middlewares (FastAPI's and Starlette's included) a plain ``def`` grouping
function is called on the event loop, as the README says: one that looks the caller up
in a database with a blocking client, or calls a service with ``requests``, holds every
other request of the process while it runs. newcomer32 ported a Flask grouping function
that waits 0.5 s to FastAPI: four calls made together took 2.1 s, not 0.5, and nothing
said why. The first :data:`TIMED_CALLS` calls are timed (two clock reads); one over
:data:`BLOCKING_SECONDS`, made on a thread that runs an event loop, is said once, naming
the function and its line, never the request's data. Django's middleware under ASGI calls
the function in a worker thread (``sync_to_async``), where no loop runs: nothing is said
there, nor under WSGI.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

__all__ = ["BLOCKING_SECONDS", "TIMED_CALLS", "blocked_the_loop", "on_a_loop"]

#: A plain grouping function's call longer than this, on an event loop, is said. Far above
#: a header's or ``request.state``'s read (microseconds), under a blocking query's time.
BLOCKING_SECONDS = 0.1

#: The calls timed, each middleware's first: a lookup that blocks does so on its first
#: calls (a cold cache), and two clock reads, 0.1 to 0.3 us here, are not paid after.
TIMED_CALLS = 1000


def on_a_loop() -> bool:
    """True when this thread runs an event loop, asyncio's or trio's (``hypercorn
    --worker-class trio``): the call held it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")  # imported by the server that runs it, if any
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except Exception:  # noqa: BLE001 - RuntimeError outside trio; any other: not known
        return False
    return True


def _where(function: Any) -> str:
    """``grouping_function (app.py:8)``: its name and where it is defined, when known."""
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    code = getattr(function, "__code__", None)
    if code is None:
        code = getattr(getattr(function, "__call__", None), "__code__", None)  # noqa: B004
    if code is None:
        return str(name)
    return f"{name} ({code.co_filename}:{code.co_firstlineno})"


def blocked_the_loop(function: Any, seconds: float) -> str:
    """The warning for a plain grouping function whose call took ``seconds`` on the loop."""
    return (f"readme_metrics: the grouping function {_where(function)}, a plain def, held "
            f"the event loop for {seconds:.2f}s: under an ASGI server it runs there, and no "
            "other request of this process is served while it runs. Make it async def and "
            "await its I/O (a blocking call as await asyncio.to_thread(...)), or read the "
            "caller from request.state, set by your authentication dependency. Said once")
