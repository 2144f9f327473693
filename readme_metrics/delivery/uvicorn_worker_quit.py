"""uvicorn-worker's ``UvicornWorker`` at gunicorn's quick stop: its worker stops then.

gunicorn's master answers SIGINT or SIGQUIT (``kill -INT <master>``, a process manager
stopping it so, ``docker stop`` with ``STOPSIGNAL SIGINT``) with SIGQUIT to each worker.
``UvicornWorker`` (uvicorn-worker 0.4) gives that SIGQUIT to gunicorn's
``Worker.handle_exit``, which only sets ``alive = False``: uvicorn's ``Server`` never
reads it, so the worker served on for gunicorn's whole ``--graceful-timeout`` (30 s) and
was SIGKILLed, its ASGI lifespan shutdown never run: every log still queued lost, nothing
said (blackbox18: 8 of 8 lost, the stop 30.4 s; the bare app's stop took 30 s too).

:func:`watch_quit`, at the ASGI lifespan's startup (uvicorn's signal handlers set, in the
worker's main thread, on its event loop), under that class (told by its
``_install_sigquit_handler``, its ``handle_exit`` gunicorn's), sets the loop's SIGQUIT
handler again to do, besides what it did, what uvicorn's own SIGTERM handler does
(``Server.should_exit``; uvloop's handlers cannot be read, so the class tells): the
worker ends its requests in flight, runs the lifespan's shutdown (the flush, bounded
by :mod:`.gunicorn_stop` from this signal, noted as a SIGTERM is) and exits. Anything
else (another worker class, a handler the app set, a loop without it): left as it is.

A SIGQUIT that came before (uvicorn-worker's handler set as it began to serve, the
lifespan's startup not yet here: an outer ASGI wrapper's slow start, a loaded machine)
left ``alive`` False alone: the worker served on to the SIGKILL, its logs lost unsaid
(delivery61: 3 calls answered after it, none delivered, killed at the graceful
timeout). :func:`watch_quit` then stops the server at once: it ends its startup,
serves nothing more, and runs the lifespan's shutdown (the flush's bound counted from
then: the signal's own time is not known).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from typing import Any

from readme_metrics.delivery import gunicorn_signal

__all__ = ["watch_quit"]


def watch_quit() -> None:
    """Under ``UvicornWorker``, its loop's SIGQUIT also stops uvicorn's server. Never
    raises."""
    try:
        if threading.current_thread() is not threading.main_thread():
            return
        quit_signal = getattr(signal, "SIGQUIT", None)
        worker = gunicorn_signal.find_worker()  # (through SIGUSR1's handler, kept)
        base = sys.modules.get("gunicorn.workers.base")
        worker_exit = getattr(getattr(base, "Worker", None), "handle_exit", None)
        if (quit_signal is None or worker is None or worker_exit is None
                or not callable(getattr(worker, "_install_sigquit_handler", None))
                or getattr(type(worker), "handle_exit", None) is not worker_exit):
            return  # (not uvicorn-worker's class, or one whose handle_exit stops it)
        server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
        if not hasattr(server, "should_exit") or not hasattr(server, "force_exit"):
            return  # (SIGTERM's handler is not uvicorn's Server's)
        loop = asyncio.get_running_loop()  # (asyncio's or uvloop's: theirs is not read)
        handle_exit: Any = worker_exit
        uvicorn_server: Any = server

        def stop() -> None:
            handle_exit(worker, quit_signal, None)  # (as before: alive = False)
            uvicorn_server.should_exit = True

        # Noted: the lifespan's flush is bounded from this signal, as from a SIGTERM
        # (gunicorn_stop), not from its own start after the requests in flight: a
        # request of 3 s had it killed midway, nothing said (review135).
        noted = gunicorn_signal.noting(worker, stop)
        loop.add_signal_handler(quit_signal, noted)
        if getattr(worker, "alive", True) is False:
            # Its SIGQUIT came before this (uvicorn-worker's handler set, the lifespan's
            # startup not yet here): stop now, not at gunicorn's SIGKILL (delivery61).
            noted()
    except Exception:  # a platform or loop without these: as it was
        pass
