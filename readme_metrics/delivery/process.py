"""The one place where the library hooks process exit and fork.

Objects that hold threads, locks or sockets register here (weakly, so a closed object
can be garbage collected) and are told when the process forks and when it exits:

- ``atexit`` (and, in a ``multiprocessing`` child, which leaves through ``os._exit``
  without running atexit, a ``multiprocessing.util.Finalize``) closes every tracked
  object of this process, all draining in parallel;
- ``threading``'s own exit hook, which runs before the interpreter waits for the app's
  non-daemon threads (and so before ``atexit``), has each tracked object post what
  waits (:func:`_threads_exit`);
- under uWSGI's ``--skip-atexit-teardown``, which runs no ``atexit``, ``uwsgi.atexit``
  closes them (:mod:`readme_metrics.delivery.uwsgi_exit`);
- ``os.register_at_fork`` hands the child fresh state (its own threads, locks and
  connections) and lets the parent keep its own.

An object whose owner is gone while it still has logs that no thread of its own will
send (inline mode) is :func:`hold`-ed strongly until it is closed, so that the exit hook
still finds it: a weak reference alone would let the logs go with it.

The interpreter hooks are installed once, on first use, not at import.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import sys
import threading
import time
import weakref
from typing import Callable, Optional, Protocol

from readme_metrics._process_id import refresh as refresh_process_id
from readme_metrics.delivery import uwsgi_exit, uwsgi_stop
from readme_metrics.delivery.closing_interrupt import IN_FLIGHT_WITHIN


class ProcessBound(Protocol):
    """What a tracked object offers (each hook must not raise; errors are ignored)."""

    def begin_exit(self) -> bool: ...  # start draining; False if nothing to wait for
    def finish_exit(self) -> None: ...  # wait (bounded) for the drain to end
    def before_fork(self) -> None: ...
    def after_fork_in_parent(self) -> None: ...
    def after_fork_in_child(self) -> None: ...


_tracked: weakref.WeakSet[ProcessBound] = weakref.WeakSet()
#: Objects held for their logs until closed (see :func:`hold`); no lock: a set's add and
#: discard are single steps, and :func:`hold` runs in finalizers.
_held: set[ProcessBound] = set()
_child_hooks: list[Callable[[], None]] = []
#: (before, after in the parent) pairs of :func:`on_fork`.
_fork_hooks: list[tuple[Callable[[], None], Callable[[], None]]] = []
_exit_hooks: list[Callable[[], None]] = []
_lock = threading.Lock()
_installed = False
_pid = os.getpid()
_finalizer_pid = 0
_at_exit_pid = 0  # (at_exit)
#: Seconds past a close's bound for it to say what it gave up on (_earlier_closes_end).
SAY_GRACE = 1.0
#: The close_all calls running, each by its own token, a number in the order of the
#: calls: (set once it ended, when its bound began: time.monotonic(), the exit hooks' wait
#: and the tracked objects' drains sharing one shutdown_timeout from there; its thread).
#: Read by exit_began (delivery74: one global, a later close's end set it to None while
#: an earlier one still ran) and _earlier_closes_end (delivery73: ordered by the call).
_closes: dict[int, tuple[threading.Event, float, int]] = {}
_tokens = itertools.count()  # (a single step under the GIL)


def track(obj: ProcessBound) -> None:
    """Close ``obj`` at exit and tell it about forks, for as long as it lives."""
    _install()
    with _lock:
        _tracked.add(obj)


def hold(obj: ProcessBound) -> None:
    """Keep ``obj`` alive until :func:`let_go` (its close, the exit hook's at the latest):
    its owner is gone, but it still has logs to send. Safe in a finalizer (no lock)."""
    _held.add(obj)


def let_go(obj: ProcessBound) -> None:
    """``obj`` is closed: no longer held (if it was)."""
    _held.discard(obj)


def on_fork_in_child(hook: Callable[[], None]) -> None:
    """Run ``hook`` in every forked child (module-level state that must be reset)."""
    _install()
    with _lock:
        if hook not in _child_hooks:
            _child_hooks.append(hook)


def on_fork(before: Callable[[], None], after_in_parent: Callable[[], None]) -> None:
    """Run ``before`` in the forking thread just before every fork, and
    ``after_in_parent`` there after it (module-level state that no fork may split)."""
    _install()
    with _lock:
        if (before, after_in_parent) not in _fork_hooks:
            _fork_hooks.append((before, after_in_parent))


def before_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at exit before the tracked objects close (work that still gives them
    logs); once per hook, bounded by the hook itself."""
    _install()
    with _lock:
        if hook not in _exit_hooks:
            _exit_hooks.append(hook)


def ensure_exit_in_child() -> None:
    """In a multiprocessing child, close tracked objects at its exit too (idempotent)."""
    global _finalizer_pid
    if _finalizer_pid == os.getpid():
        return
    _finalizer_pid = os.getpid()
    mp_util = sys.modules.get("multiprocessing.util")
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_util is None or mp_process is None:
        return
    try:
        if mp_process.parent_process() is None:
            return  # not a multiprocessing child: atexit covers it
        mp_util.Finalize(None, close_all, exitpriority=100)
    except Exception:
        pass


def close_all(began: Optional[float] = None) -> None:
    """Close every tracked object of this process, in parallel, each within its bound
    (its ``shutdown_timeout`` from the start of this call, the exit hooks' time too;
    from ``began``, a ``time.monotonic()``, where given: a stop's wait before it). Returns
    once a close another thread began before it has ended too (_earlier_closes_end)."""
    ended, mine = threading.Event(), time.monotonic() if began is None else began
    token = next(_tokens)
    _closes[token] = (ended, mine, threading.get_ident())
    # (Imported here: it uses this module. A SIGTERM left at its default, which killed
    # the process mid-close unsaid, says what the closes held first: delivery43.)
    from readme_metrics.delivery.second_interrupt import watching
    try:
        with watching(sigint=False):
            for hook in list(_exit_hooks):
                _safe(hook)
            started = [obj for obj in _snapshot() if _safe(obj.begin_exit)]
            for obj in started:
                _safe(obj.finish_exit)
            _earlier_closes_end(token)
    except BaseException as exc:
        # A second Ctrl-C (KeyboardInterrupt), a signal handler's SystemExit, in an exit
        # hook or a close: every object not closed yet ends its close now and says what
        # it gave up on, and the interrupt goes on (before delivery42 they ended there,
        # unsaid). (Exceptions: none get here, _safe took them.)
        interrupted(exc)
        raise
    finally:
        _closes.pop(token, None)
        ended.set()


def _earlier_closes_end(token: int) -> None:
    """Wait until every close_all that another thread of this process called before this
    one (``token``: the calls' order) has ended, each within its bound (the shortest
    ``shutdown_timeout`` from when its bound began, and :data:`SAY_GRACE` for what it says
    there). A close that found one under way started nothing; returning at once, its
    caller ended the process (a signal handler's thread, by that signal) or the
    interpreter (atexit) while that one delivered: logs lost unsaid (delivery72). Only
    earlier ones: two closes never wait for each other (nor one for another of its own
    thread: a close within a close's hook). Earlier by the call, not by the bound's start:
    a SIGTERM handler's close counts its bound from the signal (hypercorn_stop), before an
    exit's close that began while it waited for the loop's calls; ordered so, it waited
    for nothing and its SIGTERM killed the process while that close delivered, unsaid
    (delivery73: 0 of 40 delivered). Never raises."""
    me = threading.get_ident()
    budget = exit_budget()
    for other, (ended, other_began, ident) in list(_closes.items()):
        if other >= token or ident == me:
            continue
        if budget == float("inf"):  # (no tracked object left: shutdown_timeout's default,
            from readme_metrics.options import BY_NAME  # never an unbounded wait at exit)

            budget = float(BY_NAME["shutdown_timeout"].default)
        ended.wait(max(0.0, other_began + budget + SAY_GRACE - time.monotonic()))


def at_exit() -> bool:
    """The interpreter's exit hook (``atexit``) of this process has begun its close:
    no later hook of the library's is sure to come (what it has to say, it says now)."""
    return _at_exit_pid == os.getpid()


def _close_at_exit() -> None:
    global _at_exit_pid
    _at_exit_pid = os.getpid()
    close_all()


def interrupted(exc: BaseException) -> None:
    """Each tracked object ends the close it has not ended yet at ``exc`` (its
    ``interrupt_exit``, if it has one: it waits for nothing and says what it held), as
    the process is exiting at once; never raises. From close_all, or from a thread when
    a Ctrl-C comes while a server's stop waits for the library (second_interrupt)."""
    # One wait for the POSTs in flight, shared: each object's in turn added up past the
    # SIGTERM handler's SAY_WITHIN, the later ones ended unsaid (review149: 1 line of 3).
    by = time.monotonic() + IN_FLIGHT_WITHIN
    for obj in _snapshot():
        interrupt = getattr(obj, "interrupt_exit", None)
        if interrupt is not None:
            with contextlib.suppress(Exception):
                interrupt(exc, by=by)


def exit_began() -> Optional[float]:
    """When the exit's close_all began (``time.monotonic()``), while one runs; else None.
    In a thread running close_all, its own (the latest it began); elsewhere the latest
    close_all's still running. Another close's end leaves it as is (delivery74)."""
    closes = list(_closes.values())  # (one C call: in the order they began)
    me = threading.get_ident()
    for _, began, ident in reversed(closes):
        if ident == me:
            return began
    return closes[-1][1] if closes else None


def exit_budget() -> float:
    """The shortest ``shutdown_timeout`` among the tracked objects (inf with none): what
    an exit hook may take of it must leave them time to drain."""
    budget = float("inf")
    for obj in _snapshot():
        timeout = getattr(getattr(obj, "config", None), "shutdown_timeout", None)
        if isinstance(timeout, (int, float)) and timeout >= 0:
            budget = min(budget, float(timeout))
    return budget


def _threads_exit() -> None:
    """The main thread has ended: the interpreter is about to wait for the app's
    non-daemon threads, and runs ``atexit`` (:func:`close_all`) only once they have
    ended. Each tracked object that can posts what waits now, waiting for nothing
    (``post_waiting``): a process killed while it waits (gunicorn's gthread worker, its
    requests in flight past ``--graceful-timeout``) lost every log that waited for the
    close before (blackbox9: 0 of 100), and an app thread that never ends held them
    for ever. The close at ``atexit`` sends the rest, as before."""
    for obj in _snapshot():
        post = getattr(obj, "post_waiting", None)
        if post is not None:
            _safe(post)


def tracked() -> list[ProcessBound]:
    """The objects tracked in this process now."""
    return _snapshot()


def _snapshot() -> list[ProcessBound]:
    with _lock:
        return list(_tracked)


def _safe(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception:
        return None


def _install() -> None:
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(_close_at_exit)
    # (uWSGI's --skip-atexit-teardown runs no atexit: its uwsgi.atexit then.)
    uwsgi_exit.hook(close_all)
    # (uWSGI's stop of a worker in a request runs no Python at all: its close first.)
    uwsgi_stop.install(close_all)
    register = getattr(threading, "_register_atexit", None)  # CPython 3.9+
    if register is not None:
        with contextlib.suppress(Exception):  # (RuntimeError once the exit has begun)
            # threading runs these hooks last registered first, and concurrent.futures'
            # (registered as its thread module is imported) joins every pool's threads:
            # imported after this one, it held the logs until the app's work in a
            # ThreadPoolExecutor had ended (review114). Imported first, it runs after.
            import concurrent.futures.thread  # noqa: F401
        with contextlib.suppress(Exception):
            register(_threads_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)


def _before_fork() -> None:
    for before, _ in list(_fork_hooks):
        _safe(before)
    for obj in _snapshot():
        _safe(obj.before_fork)


def _after_fork_in_parent() -> None:
    for obj in _snapshot():
        _safe(obj.after_fork_in_parent)
    for _, after in list(_fork_hooks):
        _safe(after)


def _after_fork_in_child() -> None:
    global _lock, _pid
    _lock = threading.Lock()  # a parent thread may have held it at fork time
    _closes.clear()  # (the parent's threads, closing, are not in the child)
    _pid = os.getpid()
    refresh_process_id()  # (its own hook ran first; the objects' checks read it)
    for hook in list(_child_hooks):
        with contextlib.suppress(Exception):
            hook()
    for obj in _snapshot():
        _safe(obj.after_fork_in_child)
    _held.clear()  # the parent sends what they held; the child's copies start empty
