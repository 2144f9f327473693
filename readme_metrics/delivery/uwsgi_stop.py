"""A uWSGI worker stopped while it serves a request: its close runs first (flake30).

uWSGI's stop (SIGINT, SIGQUIT, or SIGTERM with ``--die-on-term``: "killing workers"),
its brutal reload (SIGTERM without it) and ``--harakiri``'s first signal send each
worker SIGINT or SIGTERM, whose C handler (``end_me``) calls ``exit()`` at once. Its
python plugin's exit (``uwsgi_python_atexit``, uWSGI 2.0.30) returns before anything
when the worker is in a request (``uwsgi_worker_is_busy``: from the accept of a request
to the end of uWSGI's ``uwsgi_close_request``, after the client had its answer and
before uWSGI writes its request line): neither ``uwsgi.atexit`` nor ``Py_Finalize``
(``atexit``) runs, with or without ``--skip-atexit-teardown``, and no Python runs in the
master at its exit. Every log the worker held (those waiting for their batch, and the
request's own) was lost with no line: CI39, a request whose client had its 200; 2 of 2
in a worker stopped while its answer's ``close()`` ran.

So in each worker, at its first request (:func:`arm`), the library has Python's handler
take SIGINT and SIGTERM, with a wakeup fd (``signal.set_wakeup_fd``) that a thread of its own
reads, whatever the main thread is doing (in uWSGI's C code, or in the app's). That
thread runs the library's exit (``process.close_all``: the request in flight logged as
far as it went, every log sent within ``shutdown_timeout`` and the mercy, what is not
said), then ends the worker as uWSGI's handler does (:func:`.uwsgi_end.end_me`). Not blocking the
signals instead: a mask passes to every process the app starts (``subprocess``), which
SIGTERM then no longer stops. SIGHUP (the graceful reload) and the rest are uWSGI's as
they were; a handler the app sets (``signal.signal``) gets the signal instead; with a
wakeup fd already set (an event loop's), nothing is changed.

``signal.signal`` and ``set_wakeup_fd`` need the main thread, one of a ``--threads N``
worker's N cores: armed at a first request there only, a worker whose requests all ran
in its other threads was never armed (delivery40: 0 of 2 logs at its stop in a
request, nothing said). So the main thread's part is done at the worker's start
(:func:`_prepare`: from ``uwsgi.post_fork_hook``, or as the middleware is made under
``--lazy-apps``), before uWSGI sets its own handlers; the first request, in any
thread, puts Python's C handler back after uWSGI's (``PyOS_setsig``: :func:`_restore`).

Where the library came before uWSGI (``pyuwsgi.run()`` from a script that imported the
app first: no ``uwsgi`` module as the first Delivery was made, and no library code in
the master after uWSGI loaded), the hooks are set up at each worker's first request
(:func:`arm`: the pipe and handlers from its main thread, ``uwsgi.atexit`` under
``--skip-atexit-teardown``): delivery47, 0 of 6 logs delivered before at a stop with
both workers in a request, nothing said. A ``--threads`` worker whose first logged
request runs in another thread has its main thread asked to arm it at the next Python
it runs (:func:`_ask_main_thread`, delivery50).

Not under ``--skip-atexit`` (said as the middleware is made: ``uwsgi_exit``), nor
outside uWSGI. Never raises.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable, Optional

from readme_metrics.delivery import c_signals, main_thread, uwsgi_exit
from readme_metrics.delivery.uwsgi_end import END_CODE
from readme_metrics.delivery.uwsgi_end import end_me as _end_me
from readme_metrics.delivery.uwsgi_exit import busy
from readme_metrics.threads import start_thread

__all__ = ["END_CODE", "STOPS", "arm", "busy", "install"]

#: The signals uWSGI's worker ends on (``end_me``).
STOPS = frozenset({signal.SIGINT, signal.SIGTERM})

_close: Optional[Callable[[], None]] = None
#: True once this process lineage looked (uWSGI forks its workers in C, after the master
#: loaded the app without serving: each worker finds it False at its first request).
_armed = False
#: True where :func:`install` ran before uWSGI was loaded (pyuwsgi.run() from a script
#: that imported the app first: no post-fork hook, no ``uwsgi.atexit`` set in the
#: master); each worker's first request installs them (:func:`arm`).
_late = False
#: True once the worker's main thread took its part (:func:`_prepare`).
_prepared = False
#: Python's C handler of the stop signals (``PyOS_getsig``), put back from any thread.
_handler: Optional[int] = None
_write: Optional[int] = None  # the thread's pipe (the wakeup fd)
_masks = threading.local()  # a forking thread's mask, for the fork's length


def install(close_all: Callable[[], None]) -> None:
    """Under uWSGI: ``close_all`` is what the stop runs first (:func:`arm`). The worker's
    main thread is reached before its first request where it can be (:func:`_prepare`):
    the app loaded in the master, from ``uwsgi.post_fork_hook``; loaded in the worker
    (``--lazy-apps``), now."""
    global _close, _late
    _close = close_all
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is None:  # (outside uWSGI; or pyuwsgi.run() to come: arm() then)
        _late = True
        return
    try:
        if uwsgi.worker_id() > 0:
            if threading.current_thread() is threading.main_thread():
                _prepare()
            return
        _hook_post_fork(uwsgi)
    except Exception:  # noqa: BLE001 - (an uwsgi module of another shape)
        pass


def _hook_post_fork(uwsgi: Any) -> None:
    """:func:`_post_fork` first in each worker's ``uwsgi.post_fork_hook`` (the app's own,
    or uwsgidecorators' ``@postfork`` chain, called after it)."""
    hook = getattr(uwsgi, "post_fork_hook", None)
    decorators = sys.modules.get("uwsgidecorators")
    chain = getattr(decorators, "postfork_chain", None)
    if isinstance(chain, list) and hook is getattr(decorators, "postfork_chain_hook", _post_fork):
        if _post_fork not in chain:
            chain.insert(0, _post_fork)
        return
    if getattr(hook, _HOOKED, False):
        return

    def post_fork_hook() -> None:
        try:
            _post_fork()
        finally:
            if callable(hook):
                hook()

    setattr(post_fork_hook, _HOOKED, True)
    uwsgi.post_fork_hook = post_fork_hook


#: Marks the library's ``uwsgi.post_fork_hook``.
_HOOKED = "_readme_metrics_post_fork"


def _post_fork() -> None:
    """In a worker's main thread, right after uWSGI forked it (before its handlers). A
    stop that comes before the library's handler is set goes to Python's, inherited
    from the master (the master's "killing workers" SIGINT: a KeyboardInterrupt here):
    the worker ends as uWSGI's handler would have ended it (flaky54: else the
    interrupt left the hook, the SIGINT was spent, and the worker served on, the
    master waiting for it until its mercy)."""
    if threading.current_thread() is threading.main_thread():
        try:
            _prepare()
        except KeyboardInterrupt:
            _stopped()


def arm() -> None:
    """At a uWSGI worker's first request, in any thread: the stop signals are the
    library's thread's from now on. Prepared in the main thread before (at the worker's
    start: uWSGI set its own handlers after that), it is done from any thread: with
    ``--threads``, a worker whose requests all ran in its other threads was never armed
    (delivery40: 0 of 2 logs delivered at its stop, nothing said). Else in the main
    thread only (later, elsewhere). Never raises."""
    global _armed, _late
    if _armed or _close is None:
        return
    if _late:  # (the library came before uWSGI: pyuwsgi.run() after the app's import)
        if sys.modules.get("uwsgi") is None:
            return  # (not under uWSGI: nothing to arm)
        _late = False
        uwsgi_exit.hook(_close)
    main = threading.current_thread() is threading.main_thread()
    if not main and (not _prepared or (_write is not None and _handler is None)):
        if not _prepared:
            _ask_main_thread()
        return  # (signal.signal and set_wakeup_fd need it: a later request there)
    _prepare()
    _armed = True
    _restore(main)


def _ask_main_thread() -> None:
    """Have the worker's main thread arm it (:func:`arm`) as soon as it runs Python again,
    whatever it runs (:func:`.main_thread.soon`): a request of its own, logged or not, or
    now if it is in one. Else a ``--threads`` worker was armed only once its main thread
    served a logged request (delivery50: pyuwsgi.run() after the app's import, the main
    thread in an unlogged request, 4 logged calls in the other thread, the stop: 0 of 4
    delivered, none said). Once per worker."""
    global _asked
    if not _asked:
        _asked = True
        main_thread.soon(arm)


#: True once this worker asked its main thread (:func:`_ask_main_thread`).
_asked = False


def _prepare() -> None:
    """In a uWSGI worker's main thread, once: the pipe (the wakeup fd), the thread that
    reads it, Python's handler of the stop signals (:func:`_noted`). Never raises."""
    global _prepared, _write, _handler
    if _prepared or _close is None:
        return
    _prepared = True
    uwsgi, options = uwsgi_exit.uwsgi_options()
    try:
        if uwsgi is None or uwsgi.worker_id() <= 0 or uwsgi_exit.given(options,
                                                                     "skip-atexit"):
            return
        read, write = os.pipe()
    except Exception:  # noqa: BLE001
        return
    try:
        os.set_blocking(write, False)
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        if previous != -1:  # the app's (an event loop's): left as it was
            signal.set_wakeup_fd(previous)
            raise OSError
        if start_thread(_wait, "readme-metrics-uwsgi-stop", args=(read,)) is None:
            raise OSError  # no thread
    except Exception:  # noqa: BLE001 - no thread: uWSGI's handlers stay
        os.close(read)
        os.close(write)
        return
    _write = write
    try:
        for stop in STOPS:
            signal.signal(stop, _noted)
        _handler = c_signals.handler(signal.SIGTERM)
        os.register_at_fork(before=_forking, after_in_parent=_unmask,
                            after_in_child=_forked)
    except Exception:  # noqa: BLE001 - (the main thread's: never)
        pass


def _restore(main: bool) -> None:
    """Python's C handler back on each stop signal still the library's in Python
    (:func:`_noted`; not one the app set since): uWSGI put its own there after the
    worker's start. ``PyOS_setsig`` (Python's C API, from any thread); without it, from
    the main thread only, ``signal.signal``."""
    for stop in STOPS:
        try:
            if signal.getsignal(stop) is not _noted:
                continue
            if _handler is not None:
                if c_signals.handler(stop) != _handler:
                    c_signals.set_handler(stop, _handler)
            elif main:
                signal.signal(stop, _noted)
        except Exception:  # noqa: BLE001
            pass


def keep() -> None:
    """In the worker's main thread, after each call of the app: the wakeup
    fd the app took and gave up (an event loop with a signal handler: its ``close()``
    sets -1) is the thread's again (review119: else a stop while the worker waits for a
    request was never seen, the worker hung until the master's mercy, its logs lost). One
    set now (an event loop's, running) is left: :func:`_noted` tells the thread then.
    Never raises."""
    write = _write
    if write is None or threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        if previous not in (-1, write):
            signal.set_wakeup_fd(previous)
    except Exception:  # noqa: BLE001
        pass


def _forking() -> None:
    """Before a fork: the stop signals held in the forking thread until the child has
    its own handling (:func:`_forked`): one sent to the child as soon as it exists
    (``Process.start()`` then ``terminate()``) would reach the worker's pipe."""
    try:
        _masks.held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    except Exception:  # noqa: BLE001
        pass


def _unmask() -> None:
    """After the fork (parent and child): the forking thread's mask as it was."""
    held = getattr(_masks, "held", None)
    if held is not None:
        _masks.held = None
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        except Exception:  # noqa: BLE001
            pass


def _forked() -> None:
    """In a child the worker forks (``os.fork``, multiprocessing's fork): no thread reads
    the pipe there, and the worker's thread reads it still (review119: the child's
    SIGTERM ended the worker, and not the child). The child ends on the stop signals
    again (their default action: before flake30, uWSGI's handler ended it too), the pipe
    is not its own."""
    global _write, _armed, _prepared, _asked
    write, _write, _armed, _prepared, _asked = _write, None, True, True, True
    if write is None:
        _unmask()
        return
    try:
        previous = signal.set_wakeup_fd(-1)
        if previous != write:  # (an event loop's, set before the fork: its own)
            signal.set_wakeup_fd(previous)
        for stop in STOPS:
            if signal.getsignal(stop) is _noted:
                signal.signal(stop, signal.SIG_DFL)
    except Exception:  # noqa: BLE001 - (a fork from another thread than the main one)
        pass
    try:
        os.close(write)
    except OSError:
        pass
    _unmask()  # (a stop already sent to the child: taken now, by the default action)


def _noted(signum: int, frame: Any) -> None:
    """Python's handler of the stop signals (in the main thread, when it runs Python):
    the thread reading the wakeup fd acts. Told here too, should the app have set a
    wakeup fd of its own since (the first of the two ends the worker)."""
    write = _write
    if write is not None:
        try:
            os.write(write, bytes((signum,)))
        except OSError:  # (full: told already)
            pass


def _wait(read: int) -> None:
    """The thread: wait for a stop signal, run the close, then end the worker as uWSGI's
    handler would. One whose handler the app set since is the app's to act on."""
    while True:
        try:
            taken = os.read(read, 64)
        except InterruptedError:  # pragma: no cover - (PEP 475 retries)
            continue
        if not taken:
            return
        for signum in taken:
            if signum in STOPS and signal.getsignal(signum) is _noted:
                _stopped()


def _stopped() -> None:
    """The library's exit (``close_all``), then the worker's end (:func:`.uwsgi_end.end_me`)."""
    try:
        if _close is not None:
            _close()
    except BaseException:  # noqa: BLE001 - (close_all never raises; a second SIGINT)
        pass
    _end_me()
