"""uWSGI's options that skip Python's exit in its workers (delivery36).

A worker's logs that no batch or timer sent yet go at its exit, from the library's
``atexit`` hook (:func:`readme_metrics.delivery.process.close_all`). At a uWSGI worker's
exit (a stop, a reload, a recycling by ``--max-requests``; not while it serves a
request) its python plugin calls ``uwsgi.atexit`` if set, then ``Py_Finalize``, which
runs ``atexit``. Two of its options skip that:

- ``--skip-atexit-teardown`` skips ``Py_Finalize``: ``atexit`` never ran, and every log
  a worker held at its exit was lost without a line. There the close runs from
  ``uwsgi.atexit`` too (:func:`hook`), before the app's own one, which is still called.
- ``--skip-atexit`` ends a worker that is stopped or recycled with ``_exit()``: no Python
  code runs, and what it holds cannot be sent. Said once (:func:`say`), with the fix.

And the master kills a worker still alive ``--worker-reload-mercy`` seconds (60 by
default) after it told it to end: :func:`mercy` is that time, which bounds the close as
gunicorn's ``--graceful-timeout`` does there (:mod:`readme_metrics.delivery.gunicorn_stop`).

All read ``uwsgi.opt``, the options uWSGI was started with; outside uWSGI (no ``uwsgi``
module) nothing is done. And what uWSGI's exit reads of a worker before it runs Python's
(:func:`busy`, :func:`in_async`: :mod:`~readme_metrics.delivery.uwsgi_stop` ends a
worker as it does), with the worker's status they and ``--idle``'s limit read
(:func:`worker_status`).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

__all__ = ["busy", "given", "hook", "in_async", "mercy", "mercy_unseen", "option", "say",
           "seconds", "uwsgi_options", "worker_status", "SKIP_ATEXIT"]

#: The start of the line said under ``--skip-atexit``.
SKIP_ATEXIT = "readme_metrics: uWSGI runs with --skip-atexit"

#: uWSGI's --worker-reload-mercy when not given.
DEFAULT_MERCY = 60.0
#: uWSGI's master cycle when --master-interval is not given (seconds).
DEFAULT_CYCLE = 1.0

_said = False


def uwsgi_options() -> tuple[Any, dict[Any, Any]]:
    """The ``uwsgi`` module and its options, or (None, {}) outside uWSGI."""
    uwsgi = sys.modules.get("uwsgi")
    options = getattr(uwsgi, "opt", None)
    if uwsgi is None or not isinstance(options, dict):
        return None, {}
    return uwsgi, options


def option(options: dict[Any, Any], name: str) -> Any:
    """The value of uWSGI's option ``name`` in ``options`` (keyed by str or bytes; given
    more than once, the last one), or None."""
    value = options.get(name, options.get(name.encode()))
    if isinstance(value, list):  # (given more than once: the last one holds)
        value = value[-1] if value else None
    return value


def seconds(options: dict[Any, Any], name: str) -> Optional[float]:
    """:func:`option` ``name`` as seconds; None when not given or no number. Never
    raises."""
    value = option(options, name)
    if value is None:
        return None
    try:
        return float(value.decode() if isinstance(value, bytes) else value)
    except Exception:  # noqa: BLE001 - (no number, or a value of another shape)
        return None


def given(options: dict[Any, Any], name: str) -> bool:
    return option(options, name) not in (None, False, b"false", "false", b"0", "0")


def mercy() -> Optional[float]:
    """In a uWSGI worker that has a master: the seconds the master gives it to end
    (``--worker-reload-mercy``) before it SIGKILLs it; else None."""
    uwsgi, options = uwsgi_options()
    if uwsgi is None:
        return None
    try:
        if not (uwsgi.worker_id() > 0 and uwsgi.masterpid() > 0):
            return None  # the master itself, or no master to kill the worker
    except Exception:  # (an uwsgi module without them)
        return None
    given_seconds = seconds(options, "worker-reload-mercy")
    return DEFAULT_MERCY if given_seconds is None else max(0.0, given_seconds)


def mercy_unseen(mercy: float) -> float:
    """The seconds of ``mercy`` a worker cannot count on: the master notes its curse in
    whole seconds of the clock (``time(NULL)``), checks the mercy once a cycle
    (``--master-interval``, 1 s by default) and before it reaps the workers that ended
    since its last cycle (``master_loop``, uWSGI 2.0.30). A worker that ended up to a
    cycle before ``mercy`` seconds had gone is "NO MERCY"-killed as a zombie all the
    same (flaky39: a close that gave up 2.1 s into a mercy of 3 s, the worker ended at
    once, the master's line 0.9 s later, when the stop came late in a second of the
    clock: 2 of 6 such stops). Never raises."""
    _, options = uwsgi_options()
    cycle = seconds(options, "master-interval")
    return min(mercy, DEFAULT_CYCLE if cycle is None or cycle <= 0 else cycle)


def hook(close_all: Callable[[], None]) -> None:
    """Under ``--skip-atexit-teardown``, run ``close_all`` from ``uwsgi.atexit`` too (it
    runs again at ``atexit`` otherwise, finding nothing left). An ``uwsgi.atexit`` the
    app set before is called after it; one the app sets later replaces this one."""
    uwsgi, options = uwsgi_options()
    if uwsgi is None or not given(options, "skip-atexit-teardown"):
        return
    previous: Optional[Callable[[], Any]] = getattr(uwsgi, "atexit", None)

    def at_uwsgi_exit() -> None:
        try:
            close_all()
        finally:
            if callable(previous):
                previous()

    try:
        uwsgi.atexit = at_uwsgi_exit
    except Exception:  # (a module that refuses the attribute: nothing to hook)
        pass


def say(warn: Callable[..., None], buffer_length: int, flush_interval: float) -> None:
    """Under ``--skip-atexit``, say once per process that a worker's exit loses what it
    holds, and what to use instead."""
    global _said
    _, options = uwsgi_options()
    if _said or not given(options, "skip-atexit"):
        return
    _said = True
    held = (f"up to {buffer_length - 1} (fewer than buffer_length, README_BUFFER_LENGTH, "
            f"of {buffer_length})")
    if flush_interval > 0:
        held += f", those of its last {flush_interval:g}s at most (flush_interval)"
    warn("%s: a worker it stops or recycles (--max-requests) ends without running any "
         "Python, so the logs it holds then are lost with no line: %s. Use "
         "--skip-atexit-teardown instead: with it the library sends them as the worker "
         "exits.", SKIP_ATEXIT, held)


def worker_status(uwsgi: Any) -> Any:
    """This worker's status as uWSGI counts it (``"idle"``, ``"busy"``, ``"cheap"`` ...,
    decoded: uWSGI gives bytes), or None when ``uwsgi.workers()`` does not list it."""
    me = uwsgi.worker_id()
    for worker in uwsgi.workers():
        if worker.get("id") == me:
            status = worker.get("status")  # (bytes: b"idle", b"busy", ...)
            if isinstance(status, bytes):
                status = status.decode("ascii", "replace")
            return status
    return None


def busy(uwsgi: Any) -> bool:
    """Whether uWSGI counts this worker in a request (``uwsgi_worker_is_busy``)."""
    return worker_status(uwsgi) not in ("idle", "cheap", "pause")


def in_async(options: dict[Any, Any]) -> bool:
    """uWSGI's async mode (``--async``, ``--gevent``: more than 1 core), where its exit
    runs neither ``uwsgi.atexit`` nor ``atexit`` (review119: the library's end ran the
    app's there)."""
    for name in ("async", "gevent"):
        value = option(options, name)
        try:
            if value is not None and int(value) > 1:
                return True
        except (TypeError, ValueError):
            continue
    return False
