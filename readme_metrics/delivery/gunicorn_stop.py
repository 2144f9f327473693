"""The time a server gives its worker to end in, and the bound of a close within it.

The time a gunicorn worker has to close in: its master SIGKILLs a worker still alive
``--graceful-timeout`` (30 s by default) after it told it to stop.

A close longer than that (``shutdown_timeout`` above it, the API down or slow at the
stop) was killed midway: every log it still held lost, and no line said so, the close's
own coming only at its end (delivery34: ``shutdown_timeout`` 8 s, graceful 5 s, 400 of
400 lost, sync and gthread workers alike). In a worker, gunicorn's own SIGTERM handler
is a method of the worker object, whose ``cfg`` has the graceful timeout: the exit's
close ends :data:`MARGIN` before it.

When the stop's signal came, the close counted from it: :mod:`.gunicorn_signal`.

uWSGI's master does the same to a worker still alive ``--worker-reload-mercy`` (60 s by
default) after it told it to end (a stop, a reload, a recycling): there the close ends
before that (:func:`readme_metrics.delivery.uwsgi_exit.mercy`; delivery36: a mercy of
3 s, the API failing at the stop, 6 of 6 logs lost and nothing said), less the master's
cycle, which it checks the mercy at in whole seconds before it reaps
(:func:`~readme_metrics.delivery.uwsgi_exit.mercy_unseen`). :class:`Limit`
names which server's option it is in the lines that say it.

A gunicorn worker recycled by ``--max-requests`` is no stop of the master's: the master
goes on checking its heartbeat, and aborts it (``WORKER TIMEOUT``: SIGABRT, then
SIGKILL) ``--timeout`` (30 s by default) after its last one, as it left its loop. Its
close ends before that (delivery36: ``--timeout=3``, ``shutdown_timeout`` 10 s, the API
failing: the close aborted midway, 3 of 3 logs lost, only Python's "Exception ignored in
atexit callback" traceback said).
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from readme_metrics.delivery import uwsgi_exit
from readme_metrics.delivery.gunicorn_signal import (
    Noted as _Noted,
)
from readme_metrics.delivery.gunicorn_signal import (
    find_worker as _worker,
)
from readme_metrics.delivery.gunicorn_signal import (
    forget,
    stop_came,
    watch_fork,
    watch_stop,
    worker_set_term,
)
from readme_metrics.frames import frames, thread_frame

# (the signal's watch moved to gunicorn_signal: importable from here as before)
__all__ = ["MARGIN", "Limit", "_Noted", "close_bound", "forget", "graceful_timeout",
           "server_limit", "since_stop", "stop_came", "watch_fork", "watch_stop",
           "worker_set_term"]


#: How long before gunicorn's kill the close ends (at most a fifth of the graceful
#: timeout): its line is said, and the process ends, in that time.
MARGIN = 1.0


class Limit(float):
    """The seconds a server gives a worker to end before it kills it, and the option
    that sets them (a float: compared and formatted as one)."""

    server: str
    option: str
    #: Seconds of it already gone as the close begins (gunicorn's heartbeat: since the
    #: worker's last one).
    spent: float
    #: The close says what it holds as it begins (should the kill come all the same);
    #: False where the bound is met with room to spare at every stop (mod_wsgi's: said
    #: only if it gives up).
    said_ahead = True

    def __new__(cls, seconds: float, server: str, option: str, spent: float = 0.0
                ) -> Limit:
        limit = super().__new__(cls, seconds)
        limit.server = server
        limit.option = option
        limit.spent = spent
        return limit

    def kills(self) -> str:
        """What the server then does to the worker, as the lines say it."""
        if self.option == "--timeout":
            return "has its master abort this worker (WORKER TIMEOUT) after that"
        return "has its master SIGKILL this worker after that"

    def said(self) -> str:
        """``gunicorn's --graceful-timeout of 30s``."""
        return f"{self.server}'s {self.option} of {float(self):g}s"

    def advice(self) -> str:
        """What gives the close its whole time, as the close's first line says it."""
        return f"set {self.option} above shutdown_timeout to give the close its whole time"


def server_limit() -> Optional[Limit]:
    """The time this worker's server gives it to end: gunicorn's ``--graceful-timeout``,
    uWSGI's ``--worker-reload-mercy`` (3 s at an ``--idle`` stop: :mod:`.uwsgi_idle`;
    ``--harakiri-graceful-timeout`` in a request: :mod:`.uwsgi_harakiri`),
    Django's autoreloader's kill of runserver's child
    (:mod:`.reloader_stop`), Apache's of a mod_wsgi daemon process
    (:mod:`.mod_wsgi_stop`); None elsewhere."""
    worker = _found_worker()  # (once: both timeouts are this worker's)
    graceful = _graceful_timeout(worker)
    if graceful is not None:
        recycled = _recycled_timeout(worker)
        if recycled is not None:
            return Limit(recycled[0], "gunicorn", "--timeout", spent=recycled[1])
        return Limit(graceful, "gunicorn", "--graceful-timeout")
    mercy = uwsgi_exit.mercy()
    if mercy is not None:
        from readme_metrics.delivery import uwsgi_harakiri, uwsgi_idle  # (on Limit)

        return (uwsgi_idle.limit(mercy) or uwsgi_harakiri.limit(mercy)
                or Limit(mercy, "uWSGI", "--worker-reload-mercy",
                         spent=uwsgi_exit.mercy_unseen(mercy)))
    from readme_metrics.delivery import mod_wsgi_stop, reloader_stop  # (on Limit)

    return mod_wsgi_stop.limit() or reloader_stop.limit()


def graceful_timeout() -> Optional[float]:
    """In a gunicorn worker: its ``--graceful-timeout`` in seconds; else None."""
    return _graceful_timeout(_found_worker())


def _found_worker() -> Optional[object]:
    try:
        return _worker()
    except Exception:  # another program's handler, of a shape of its own
        return None


def _graceful_timeout(worker: Optional[object]) -> Optional[float]:
    try:
        seconds = getattr(getattr(worker, "cfg", None), "graceful_timeout", None)
    except Exception:  # another program's handler, of a shape of its own
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return None
    return float(seconds)


def _recycled_timeout(worker: Optional[object]) -> Optional[tuple[float, float]]:
    """In a gunicorn worker that ``--max-requests`` recycles (it served its share), or
    that ``--reload`` replaces (:func:`_reloading`): the master's heartbeat ``--timeout``
    in seconds, and the seconds since the worker's last
    heartbeat (None: no such worker, or no timeout)."""
    try:
        served = _number(getattr(worker, "nr", None))
        share = _number(getattr(worker, "max_requests", None))
        seconds = _number(getattr(getattr(worker, "cfg", None), "timeout", None))
        recycled = served is not None and share is not None and served >= share
        if not (recycled or _reloading(worker)) or seconds is None or seconds <= 0:
            return None
    except Exception:  # another program's handler, of a shape of its own
        return None
    tmp = getattr(worker, "tmp", None)
    try:
        # gunicorn's heartbeat: its temporary file's mtime, set to time.monotonic(); the
        # file is closed by then at a worker's exit, its last beat kept as it closed
        # (gunicorn_signal.keep_beat: before flaky60 the time since, a sync worker's
        # last request's, was taken for none, and a slow last request's close was
        # aborted midway).
        beat = _number(tmp.last_update())  # type: ignore[union-attr]
    except Exception:
        beat = _number(getattr(tmp, "last_beat", None))
    since = time.monotonic() - beat if beat is not None else 0.0
    return seconds, min(max(0.0, since), seconds)


def _reloading(worker: object) -> bool:
    """The worker leaves for ``--reload``: its reloader thread saw a file change and
    ended (``sys.exit(0)`` in that thread), the worker's loop ends after it. No stop of
    the master's: its heartbeat ``--timeout`` bounds the exit, not
    ``--graceful-timeout`` (blackbox12: the close said "gunicorn's --graceful-timeout
    of 5s has its master SIGKILL this worker after that" at a reload, and gave up at
    4 s where ``shutdown_timeout`` was 8 s)."""
    reloader = getattr(worker, "reloader", None)
    if not isinstance(reloader, threading.Thread) or reloader.ident is None:
        return False
    if not reloader.is_alive():
        return True
    # Still in its callback (gunicorn's ``changed``: a 0.1 s sleep before its exit),
    # the worker's loop already left.
    for frame in frames(thread_frame(reloader.ident)):
        code = frame.f_code
        if code.co_name == "changed" and "gunicorn" in code.co_filename:
            return True
    return False


def _number(value: object) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)




def close_bound(shutdown_timeout: float,
                start: Optional[float] = None) -> tuple[float, Optional[Limit]]:
    """The bound of a close in this process beginning at ``start`` (a
    ``time.monotonic()`` reading; now if None), and the server's limit (gunicorn's
    graceful timeout, uWSGI's mercy) where that is what bounds it (None:
    ``shutdown_timeout`` does): the time from the stop's signal (:func:`watch_stop`), if
    noted, is gone from it, as is the limit's own time already spent."""
    graceful = server_limit()
    if graceful is None:
        return shutdown_timeout, None
    bound = max(0.0, graceful - graceful.spent - min(MARGIN, graceful / 5)
                - since_stop(start))
    if bound >= shutdown_timeout:
        return shutdown_timeout, None
    return bound, graceful


def since_stop(start: Optional[float] = None) -> float:
    """The seconds from the stop's signal, if noted, to ``start`` (now if None); else
    0."""
    came = stop_came()
    if came is None:
        return 0.0
    return max(0.0, (time.monotonic() if start is None else start) - came)
