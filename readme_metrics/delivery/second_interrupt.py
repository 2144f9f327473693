"""A signal while a server's stop, or the process's exit, waits for the library: the
delivery ends at once, said, and the signal then does what it did before.

uvicorn takes SIGINT itself (``handle_exit``, a Python handler): a second Ctrl-C during
the lifespan's shutdown raises nothing, so the flush went on waiting for the Metrics API
for its whole ``shutdown_timeout`` (delivery42: an API holding its answers, a 20 s bound,
the process exited 20.6 s after the second Ctrl-C; uvicorn's ``force_exit`` does not cut
a lifespan shutdown under way). While such a wait lasts, :func:`watching` puts a wrapper
around the SIGINT handler that has every tracked object end its close now
(:func:`.process.interrupted`, from a thread of its own: the signal handler runs in the
loop's thread, which may hold the queue's lock), saying what it gave up on, then calls
the handler it replaced.

hypercorn's CLI runs the app in a worker process that ignores SIGINT (its parent sets it
so before spawning it, to stop the workers itself): no handler saw a second Ctrl-C there,
and the flush kept its bound (20.4 s at 20 s; review126, delivery43). During the
lifespan's flush (``ignored_sigint``) an ignored SIGINT is watched too: the flush ends,
said, and the worker goes on ignoring it, ending as bare.

SIGTERM left at its default (hypercorn's worker; werkzeug's, waitress's, ``flask run``'s
process during the exit's close after a Ctrl-C) ended the process outright, what the
close held unsaid (delivery43). While the close runs, and only then (the process is
ending already), a SIGTERM that would kill it is watched: the close ends, said (given
``SAY_WITHIN`` at most), then the handler is put back and the same SIGTERM ends the process as
before: no exit code changes, nothing of the app's runs. Not where the process is its
PID namespace's init (PID 1, a container's): the kernel drops such a SIGTERM there, so
the close goes on as bare. Outside the wait the exit's
close meets a Ctrl-C's KeyboardInterrupt itself (:mod:`.closing_interrupt`).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Optional, Union

from readme_metrics.delivery import c_signals, process
from readme_metrics.delivery.closing_interrupt import IN_FLIGHT_WITHIN, Terminated
from readme_metrics.threads import start_thread

__all__ = ["end", "in_force", "said_then_ended", "watching"]

#: How long a SIGTERM's handler waits for the closes to say what they held before the
#: signal ends the process: their wait for the POSTs in flight (IN_FLIGHT_WITHIN, over
#: as soon as none is), then a second (the saying takes milliseconds; a thread that
#: cannot get the queue's lock, held by the interrupted thread, is not waited for longer).
SAY_WITHIN = IN_FLIGHT_WITHIN + 1.0

_Previous = Union[Callable[[int, Optional[FrameType]], Any], int, None]


@contextmanager
def watching(*, sigint: bool = True, ignored_sigint: bool = False) -> Iterator[None]:
    """While the block runs, with ``sigint`` a SIGINT ends every delivery's close of this
    process at once (said), then goes to the handler it had (a Python callable other than
    Python's default, which raises KeyboardInterrupt: the waiting code meets it; with
    ``ignored_sigint``, also an ignored SIGINT, ignored once said). A SIGTERM left at its
    default ends the closes, said, then the process, by that signal. Only in the main
    thread (the only one that may set a handler). Never raises. (The exit's close asks
    for SIGTERM alone: a handler's ``sys.exit()`` at a SIGINT raises in the close, which
    says it itself.)"""
    wraps = (_wrap(signal.SIGINT, ignored_sigint) if sigint else None,
             _wrap(signal.SIGTERM))
    handlers = [h for h in wraps if h is not None]
    try:
        yield
    finally:
        for handler in handlers:
            try:
                if signal.getsignal(handler.signum) is handler:
                    signal.signal(handler.signum, handler.previous)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass


class _Handler:
    """The wrapper: the delivery's end begun in a thread, then the signal as before."""

    def __init__(self, signum: int, previous: _Previous) -> None:
        self.signum = signum
        self.previous = previous

    def __call__(self, signum: int, frame: Optional[FrameType]) -> Any:
        if self.signum == signal.SIGINT:
            start_thread(process.interrupted, "readme-metrics-interrupt",
                         args=(KeyboardInterrupt(),))
            return self.previous(signum, frame) if callable(self.previous) else None
        # SIGTERM at its default: said (not waited for past SAY_WITHIN), then the same
        # signal, at its default again, ends the process as it would have.
        saying = start_thread(process.interrupted, "readme-metrics-interrupt",
                              args=(Terminated(),))
        if saying is not None:
            saying.join(SAY_WITHIN)
        else:
            _say_here()
        _end()
        return None


def said_then_ended() -> None:
    """What the wrapper does at a SIGTERM: the closes under way end, said, then the
    process, by that signal (for a handler of the library's own: hypercorn_stop)."""
    _Handler(signal.SIGTERM, signal.SIG_DFL)(signal.SIGTERM, None)


def _end(*_: object) -> None:
    """The SIGTERM, at its default again, ends the process."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    except (ValueError, OSError):  # pragma: no cover - nothing else to do
        pass


def _say_here() -> None:
    """No thread can start (Python 3.12 at exit: "can't create new thread at interpreter
    shutdown"): said in this thread, the main one, which may hold the queue's lock as
    the signal came; a timer's SIGALRM (which interrupts a lock's wait) then ends the
    process by the SIGTERM after SAY_WITHIN all the same."""
    try:
        signal.signal(signal.SIGALRM, _end)
        signal.setitimer(signal.ITIMER_REAL, SAY_WITHIN)
    except (AttributeError, ValueError, OSError):  # (no SIGALRM: not said, as before)
        return
    process.interrupted(Terminated())


def _wrap(signum: int, ignored: bool = False) -> Optional[_Handler]:
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signum)
        if signum == signal.SIGTERM:
            # (hypercorn_stop's handler in a hypercorn worker ends it as the default does)
            if getattr(previous, "default_action", False):
                pass
            elif previous != signal.SIG_DFL or not _in_force(signum, signal.SIG_DFL):
                return None  # (a server's own handler, or one the app set: theirs)
            if os.getpid() == 1:
                # A PID namespace's init (a container's ``python app.py``): the kernel
                # drops a signal it has no handler for, ``docker stop``'s SIGTERM and
                # _end's alike; bare, the close goes on and delivers (review128).
                return None
        elif not (ignored and previous == signal.SIG_IGN
                  and _in_force(signum, signal.SIG_IGN)) and (
                not callable(previous) or previous is signal.default_int_handler):
            return None
        handler = _Handler(signum, previous)
        signal.signal(signum, handler)
        return handler
    except (ValueError, OSError, TypeError):  # pragma: no cover - no signals here
        return None


def _in_force(signum: int, disposition: signal.Handlers) -> bool:
    """Whether ``disposition`` (SIG_DFL, SIG_IGN) is the signal's action the system has,
    not only the one Python has noted (:mod:`.c_signals`: uWSGI's workers); False where
    it cannot be read (nothing is set then)."""
    return c_signals.handler(signum) == int(disposition)


#: (public names: hypercorn_stop's)
end = _end
in_force = _in_force
