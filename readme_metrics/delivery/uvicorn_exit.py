"""A uvicorn process ending at a raise in its loop: SIGTERM at its default until the
exit's close, which a stop then killed unsaid.

uvicorn's ``Server.serve`` sets its own handlers for SIGINT and SIGTERM as it starts
(``capture_signals``) and puts back the ones it found as it ends. In a worker of
``uvicorn --workers N`` (a process ``multiprocessing`` spawned) the app is imported
after that, so a site's own SIGTERM handler is the one in force there (README's lines
for Django's ``settings.py``: ``sys.exit(0)``). At a SIGTERM to the worker its raise ends
the event loop, and SIGTERM is back at its default (the worker's, as spawned) for the
whole of the worker's exit: asyncio's tear-down of the loop (its tasks cancelled, the
executor's threads waited for: a blocking call in ``run_in_executor`` runs to its end),
``multiprocessing``'s and ``threading``'s exit hooks, then ``atexit``, where the
library's close begins (:func:`.process.close_all`, which watches SIGTERM from then on:
:mod:`.second_interrupt`). A SIGTERM before that killed the worker outright, every log
it held lost, nothing said: uvicorn's parent sends one to each worker still alive at its
own stop, and systemd's ``KillMode=control-group`` (``kill -TERM -- -<pgid>``) signals
the parent and the workers at once (delivery67: ``uvicorn --workers 2``, a site with
README's SIGTERM lines, 40 calls held for the close and 4 in a 3 s executor call: the
group's SIGTERM, 0 of 44 delivered, nothing said; flaky42's delivery57 test lost its 2
logs so in 3 runs of 61 with no slow call at all).

:func:`watch`, on uvicorn's loop in the main thread (as the delivery is made, the app
imported inside ``serve``; at the ASGI lifespan's startup), adds a callback to uvicorn's
``serve`` task: run once it ended, its handlers put back, on the same loop, which
asyncio's tear-down still runs (at a raise, or cancelled: a raise out of the loop
itself has asyncio cancel it). Where SIGTERM is then at its default,
:func:`.hypercorn_stop.take_sigterm` sets the library's handler: a SIGTERM then has the
close run first (within ``shutdown_timeout``, saying what it gives up on), then ends the
process by that signal, as bare. uvicorn's graceful stop (its own handler took the
signal) ends the process by the signal it caught before any callback runs: nothing is
set there. A ``serve`` that ended without one (``--limit-max-requests``, a startup that
failed) leaves a process on its way out too: the handler is set there as well.

Between uvicorn's putting SIGTERM back and that callback (the rest of the loop's turn:
the raise reaching the task, its callbacks scheduled), a SIGTERM still killed the worker
unsaid (delivery70: the parent's SIGTERM after the group's; 1 of 30 group stops under
load lost a log, nothing said). So :func:`watch` also has uvicorn put back, in place of
SIG_DFL, :class:`_Restored` (the value in ``capture_signals``'s own dict of the handlers
it found, reached through ``serve``'s coroutine): a SIGTERM from then on sets the
library's handler and goes to it, with no moment at the default in between. At
uvicorn's graceful stop (it caught the signal and raises it again once its handlers are
back) :class:`_Restored` is the default: the process ends by that signal, as bare.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Optional

from readme_metrics.delivery import hypercorn_stop

__all__ = ["watch"]

#: The process whose uvicorn ``serve`` task is watched (0: none).
_watched_pid = 0


def watch() -> None:
    """On uvicorn's running loop, in the main thread: a callback on its ``serve`` task
    (:func:`_served`). Once per process; never raises."""
    global _watched_pid
    if _watched_pid == os.getpid():
        return
    try:
        server = getattr(sys.modules.get("uvicorn.server"), "Server", None)
        code = getattr(getattr(server, "serve", None), "__code__", None)
        if code is None or threading.current_thread() is not threading.main_thread():
            return
        import asyncio  # (loaded by uvicorn already: not at this module's import, import49)

        loop = asyncio.get_running_loop()
        for task in asyncio.all_tasks(loop):
            if getattr(task.get_coro(), "cr_code", None) is code:
                task.add_done_callback(_served)
                # (next turn: ``serve`` may be running now, the app imported in it, and
                # a running coroutine's ``with`` is not among its referents)
                loop.call_soon(_restore_ours, task.get_coro(), server)
                _watched_pid = os.getpid()
                return
    except Exception:  # no loop running here, another server: as it was
        pass


def _served(task: Any) -> None:
    """uvicorn's ``serve`` ended, its signal handlers put back: the library's SIGTERM
    handler set where SIGTERM is at its default. (Its exception not asked: asked, asyncio
    would no longer say one never retrieved.) Never raises."""
    hypercorn_stop.take_sigterm(instead_of=_restored)


def _restore_ours(coro: Any, server: Any) -> None:
    """In ``capture_signals``'s dict of the handlers it puts back as ``serve`` ends, a
    SIG_DFL for SIGTERM becomes :class:`_Restored`. Anything else found (another
    uvicorn's shape, a handler that was there before it): left. Never raises."""
    global _restored
    try:
        code = getattr(getattr(server.capture_signals, "__wrapped__", None), "__code__", None)
        for exit_method in gc.get_referents(coro):  # (the ``with``'s bound __exit__)
            gen: Any = getattr(getattr(exit_method, "__self__", None), "gen", None)
            if code is None or getattr(gen, "gi_code", None) is not code:
                continue
            handlers = gen.gi_frame.f_locals.get("original_handlers")
            if (isinstance(handlers, dict)
                    and handlers.get(signal.SIGTERM) == signal.SIG_DFL):
                _restored = _Restored(coro.cr_frame.f_locals.get("self"))
                handlers[signal.SIGTERM] = _restored
            return
    except Exception:  # another shape: the callback alone, as before
        pass


class _Restored:
    """SIGTERM's handler once uvicorn's ``serve`` ended, in place of its default."""

    @property
    def default_action(self) -> bool:
        """:mod:`.second_interrupt` wraps it as it does SIG_DFL while a close runs; not
        in a worker of uvicorn's supervisor, which waits for it (delivery76)."""
        return not hypercorn_stop.supervisor_waits()

    def __init__(self, server: Any) -> None:
        self._server = server  # (uvicorn's Server: the signals its stop caught)

    def __call__(self, signum: int, frame: Optional[FrameType]) -> Any:
        graceful = signum in getattr(self._server, "_captured_signals", ())
        handler = None if graceful else hypercorn_stop.take_sigterm(self)
        if callable(handler) and handler is not self:
            return handler(signum, frame)
        signal.signal(signum, signal.SIG_DFL)  # (as bare: the default's action)
        signal.raise_signal(signum)
        return None


#: uvicorn's stand-in for SIGTERM's default as ``serve`` ends (None: not set).
_restored: Optional[_Restored] = None
