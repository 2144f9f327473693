"""A uWSGI worker's end as uWSGI's ``end_me`` does it, from a thread of the library's.

:mod:`.uwsgi_stop`'s thread runs the library's exit when a stop signal comes, then ends
the worker here: ``uwsgi.atexit`` and the interpreter's exit functions (the app's
threads waited for first, as ``Py_Finalize`` would) where uWSGI's python plugin would
run them, then ``os._exit(END_CODE)``. Moved from :mod:`.uwsgi_stop`, as is. Never
raises (it does not return).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from readme_metrics.delivery import uwsgi_exit
from readme_metrics.delivery.uwsgi_exit import busy, in_async

__all__ = ["END_CODE", "end_me", "join_threads"]

#: ``end_me``'s exit status (uWSGI's ``UWSGI_END_CODE``).
END_CODE = 30


def end_me() -> None:
    """What uWSGI's ``end_me`` does, ``exit(30)``, from this thread: its python plugin's
    exit calls ``uwsgi.atexit``, then ``Py_Finalize`` (the app's threads waited for, then
    ``atexit``; not under ``--skip-atexit-teardown``), only when the worker is not in a
    request, and not in async mode. Not
    ``exit()`` itself: ``Py_Finalize`` from a thread other than the main one waits for
    the main thread to end, which never comes (the worker hung until the master's
    mercy)."""
    try:
        uwsgi, options = uwsgi_exit.uwsgi_options()
        if uwsgi is not None and not busy(uwsgi) and not in_async(options):
            at_uwsgi_exit = getattr(uwsgi, "atexit", None)
            if callable(at_uwsgi_exit):
                at_uwsgi_exit()
            if not uwsgi_exit.given(options, "skip-atexit-teardown"):
                join_threads()
                atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - an app's exit function that raised: ended all the same
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(END_CODE)


def join_threads() -> None:
    """What ``Py_Finalize`` does first (``threading._shutdown``), from this thread: the
    functions ``threading`` runs at the exit (an executor's: its threads told to end),
    then the wait for the app's threads that are not daemons (review119: their work was
    cut; uWSGI's exit had waited, up to the master's mercy)."""
    for call in reversed(list(getattr(threading, "_threading_atexits", ()))):
        call()
    me, main = threading.current_thread(), threading.main_thread()
    for thread in threading.enumerate():
        if thread is not me and thread is not main and not thread.daemon:
            thread.join()
