"""The log of a WSGI response dropped without ``close()``, queued (or, in inline mode,
sent) without waiting for another request.

A server that drops a response unclosed (werkzeug's development server does when the
client resets the connection while it drains unread input after the answer) leaves the
log to the response's finalizer, which can only hand it over (see
:meth:`~readme_metrics.handed_over.HandedOver.put`): it runs wherever the cyclic
GC does. In background mode the log was queued when the iteration ended, unless nothing
read the response to its end (a test client's, only its status looked at); in inline
mode (``background_worker_mode=False``) it always waits. Left to the next request,
``flush``, ``stats`` or ``close``, with none coming (a process stopped by SIGTERM, an
app factory's app dropped after its test) it was lost.

:func:`ready` starts, from ordinary code, one daemon thread per process that waits for
:func:`wake`; :func:`wake`, safe in a finalizer (``SimpleQueue.put`` takes no lock that
other code holds), has that thread run the pipeline's handed-over work, which may send.
At exit, before delivery closes, the thread is given a moment (bounded) to do what it
was woken for (a response dropped just before the process ends). A response dropped in a
reference cycle is finalized only when the cyclic GC reaches it, which may be after the
exit hook, delivery closed (the interpreter's own collection at shutdown): with responses
still open (:func:`opened`, :func:`settled`), the exit hook collects once first. The
exit hook itself, and the cut at an ASGI server's lifespan shutdown, are
:mod:`~readme_metrics.capture.unclosed_exit`'s; the registers it reads are here.

A WSGI response the server still holds at exit (a stream in flight when the process is
stopped, a last response a server never closes) is neither closed nor finalized before
delivery closes: its log was lost, uncounted. :func:`sending` keeps each response
weakly until :func:`sent`; the exit hook queues the log of each one still there as far
as it went, marked incomplete, with no code of the app's (:func:`.cut_now`). A request the
app is still computing at exit (:func:`calling` until :func:`returned`) is logged as
unanswered when its grouping function has answered, else counted dropped: before, it
was neither logged nor counted.

:func:`sent` is idempotent for each response (its close(), the finalizer, the exit's cut
and the weakref's callback may each come, from several threads at once): the open count
drops once.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from queue import SimpleQueue
from typing import TYPE_CHECKING, Callable, Optional

from readme_metrics._random import log_id_pid
from readme_metrics.capture.unclosed_exit import at_exit, cut_at_shutdown
from readme_metrics.delivery import process
from readme_metrics.threads import start_thread

if TYPE_CHECKING:
    from typing import Protocol

    from readme_metrics.pipeline import MetricsPipeline

    class InFlight(Protocol):
        def cut_at_exit(self) -> tuple[MetricsPipeline, str]: ...

__all__ = ["CUT", "DONE", "DROPPED", "SKIPPED", "THREAD_NAME", "UNANSWERED", "call_soon",
           "any_held", "any_open", "busy_since", "calling", "cut_at_shutdown", "held",
           "hook", "opened", "ours", "ready", "ready_here", "returned", "sending", "sent",
           "settled", "wake", "waking", "woken"]

#: What :meth:`InFlight.cut_at_exit` did with a response (or request) still in flight at
#: exit: its log queued as far as it went, marked incomplete (``CUT``); queued as a
#: request no answer reached (``UNANSWERED``: the app was still computing it); not
#: logged, the grouping function having said so (``SKIPPED``: counted skipped); not
#: logged, the grouping function never asked (``DROPPED``: counted dropped, "shutdown");
#: nothing, its own thread having finished it meanwhile (``DONE``).
CUT, UNANSWERED, SKIPPED, DROPPED, DONE = "cut", "unanswered", "skipped", "dropped", "done"

#: The name of the thread that sends what :func:`wake` hands it.
THREAD_NAME = "readme-metrics-unclosed"

# What the thread is to run, and whether it is a wake (counted in _pending).
_wakes: SimpleQueue[tuple[Callable[[], object], bool]] = SimpleQueue()
# One entry per wake not yet done: appended before the wake is queued, taken off once its
# work is done (deque's append and pop are atomic: no lock in a finalizer).
_pending: deque[None] = deque()
# One entry per WSGI response (the WSGI capture's, and Django's that finish at close())
# neither closed nor finalized (its log maybe not queued yet): appended when made, taken
# off at close() or in the finalizer (atomic, as _pending). A forked child keeps its
# parent's: at worst one gc.collect() too many at its exit.
_open: deque[None] = deque()
# The pipelines woken in this process, weakly (their logs handed over may still wait at
# exit: :func:`.at_exit`). A set of weak refs that leave it with their pipeline; add and
# discard are single steps (safe in a finalizer).
_woken: set[weakref.ref[MetricsPipeline]] = set()
# The WSGI responses in flight (:func:`sending`), weakly, until :func:`sent`: those still
# here at exit (a stream the server was still sending when the process was stopped, a
# last response a server never closes) are logged as far as they went (:func:`.cut_now`).
# Before, they were neither logged nor counted. Single steps as _woken's.
# A dict (insertion order, and pop() says whether it was there): sent() settles a
# response once, whichever of its close(), finalizer, exit cut or weakref callback comes
# first, from whatever thread (two at once lowered the open count twice, and the exit then
# skipped the collection for a response still open).
_in_flight: dict[weakref.ref[InFlight], None] = {}
# The requests the app is computing (its call not returned yet), strongly (the call
# holds them anyway): :func:`calling` until :func:`returned`. Those still here at exit
# are logged as unanswered, or counted dropped (:func:`.cut_now`). Before, they were neither.
_in_call: set[InFlight] = set()
_hooked = False  # the exit hook is set (by ready() or calling())
_lock = threading.Lock()
_pid: Optional[int] = None  # the process whose thread waits on _wakes
# True once this process has the thread: ready()'s test on every response, one read
# (os.getpid() is a system call); a forked child clears it (_forked).
_ready = False
# When the thread began the work it is doing (time.monotonic()), None between two: a
# thread that has not begun what it was woken for is not slow but not scheduled yet.
_busy_since: Optional[float] = None


def ready() -> None:
    """Make sure this process has the thread :func:`wake` wakes (not from a finalizer);
    where none can start, try again next time. Never raises."""
    global _pid, _wakes, _ready
    if _ready:
        return
    with _lock:
        if _pid == os.getpid():
            _ready = True
            return
        if _pid is not None:  # a forked child: the parent's queue and thread are not its own
            _wakes = SimpleQueue()
            _pending.clear()
            _woken.clear()
            _in_flight.clear()  # the parent's to log
            _in_call.clear()
        else:  # (a forked child inherits both)
            _hook()
        if start_thread(_run, THREAD_NAME, args=(_wakes,)) is None:
            # No thread can start (a thread limit, interpreter exit): a response
            return  # dropped unclosed waits for the next request, as before
        _pid = os.getpid()
        _ready = True
    # A multiprocessing child leaves through os._exit: its exit hook (the one that runs
    # unclosed_exit.at_exit) is otherwise set only at its first queued log, which a log handed over
    # here may never reach (this thread busy or not scheduled before the exit).
    process.ensure_exit_in_child()


def opened() -> None:
    """A response whose log waits for its close() or finalizer: :func:`ready`, and counted
    until :func:`settled`. Not from a finalizer. Never raises.

    Also in a child forked without Python's fork hooks (uWSGI's workers), which still
    has the parent's flag set: the response's log id was just made, and
    :func:`readme_metrics._random.log_id` asked the process id for it, so a thread of
    another process shows without a system call here (background mode has no first-log
    hook to ask, and the response comes before its log)."""
    if not _ready or _pid != log_id_pid():
        ready_here()
    _open.append(None)


def settled() -> None:
    """A response counted by :func:`opened` is closed or finalized: its log is handed on.
    Safe in a finalizer."""
    try:
        _open.pop()
    except IndexError:  # pragma: no cover - never more than were opened
        pass


def sending(response: InFlight) -> weakref.ref[InFlight]:
    """:func:`opened`, for a WSGI response, and kept weakly as in flight until
    :func:`sent` is given the returned reference. Not from a finalizer. Never raises."""
    opened()
    ref = weakref.ref(response, sent)
    _in_flight[ref] = None
    return ref


def sent(ref: weakref.ref[InFlight]) -> None:
    """:func:`settled`, for a response :func:`sending` returned ``ref`` for, once however
    often and from however many threads it is called (dict.pop is one C call). Also the
    weakref's callback: the cyclic GC calls it before the response's finalizer. Safe in
    a finalizer."""
    if _in_flight.pop(ref, _GONE) is not _GONE:
        settled()


_GONE = object()


#: ``calling(request)``: the app is called for ``request``; kept (strongly: the call
#: holds it anyway) until ``returned(request)``, so that the exit finds it if the app is
#: still computing then (:func:`.cut_now`). The set's own C methods: the small GET through
#: the WSGI middleware took 83,590 instructions with two Python functions here, 82,627
#: with these (82,087 before; benchmarks/instructions.py, mode off). :data:`_in_call` is
#: only ever cleared, never replaced. :func:`hook` must have been called in the process's lineage
#: (the WSGI middleware does when made). Safe anywhere.
calling: Callable[[InFlight], None] = _in_call.add
returned: Callable[[InFlight], None] = _in_call.discard


def hook() -> None:
    """Set the exit hook (for :data:`calling`'s requests) from ordinary code, without the
    thread (an app whose responses are lists never needs one). Never raises."""
    if not _hooked:
        _hook()


def _hook() -> None:
    """The exit hook, and the fork hook that clears a child's copy of :data:`_in_call`
    (a forked child inherits both, and the flag)."""
    global _hooked
    process.before_exit(at_exit)  # (each once, under process's own lock)
    process.on_fork_in_child(_forked)
    _hooked = True


def ready_here() -> None:
    """:func:`ready`, in a child forked without Python's fork hooks too (it still has the
    parent's flag set): an inline pipeline made before the fork, at its first log in this
    process (a system call: not for every response). Never raises."""
    global _ready
    if _pid != os.getpid():
        _ready = False
    ready()


def _forked() -> None:
    """In a forked child: the next ready() starts the child's own thread."""
    global _ready, _lock, _busy_since
    _ready = False
    _in_call.clear()  # the parent's requests: its own exit's
    _busy_since = None  # the parent's thread's: none of the child's
    _lock = threading.Lock()  # a parent thread may have held it at fork time


def wake(pipeline: MetricsPipeline) -> None:
    """Have the thread run ``pipeline``'s handed-over work now; nothing without one. Safe
    in a finalizer."""
    if _pid == os.getpid():
        _woken.add(weakref.ref(pipeline, _woken.discard))
        _pending.append(None)
        _wakes.put((pipeline.run_handed_over, True))
    else:
        _not_ours()


def call_soon(work: Callable[[], object]) -> None:
    """Have the thread run ``work`` (which never raises) now; nothing without one. Safe
    in a finalizer. Also used for a dropped middleware's last logs (pipeline.py)."""
    if _pid == os.getpid():
        _wakes.put((work, False))
    else:
        _not_ours()


def _not_ours() -> None:
    """The thread is another process's: a child forked without Python's fork hooks
    (uWSGI forks its workers in C, running them only with --py-call-osafterfork), so
    _forked() never ran. The next ready() starts this process's own thread."""
    global _ready
    _ready = False


def _run(wakes: SimpleQueue[tuple[Callable[[], object], bool]]) -> None:
    while True:
        _call(*wakes.get())


def _done() -> None:
    try:
        _pending.pop()
    except IndexError:  # pragma: no cover - a fork cleared it meanwhile
        pass


# What the exit hook (unclosed_exit.py) asks of this process's registers.


def ours() -> bool:
    """Whether this process has the thread (not a parent's, before a fork)."""
    return _pid == os.getpid()


def busy_since() -> Optional[float]:
    """When the thread began the work it is doing (time.monotonic()); None between two."""
    return _busy_since


def waking() -> bool:
    """Whether a wake given to the thread is not done yet."""
    return bool(_pending)


def any_open() -> bool:
    """Whether a response counted by :func:`opened` is not settled yet."""
    return bool(_open)


def any_held(in_flight: bool = True, calls: bool = True) -> bool:
    """Whether a response is in flight (``in_flight``), or a request in the app's call
    (``calls``)."""
    return bool(in_flight and _in_flight) or bool(calls and _in_call)


def held(in_flight: bool = True, calls: bool = True
         ) -> tuple[list[InFlight], list[weakref.ref[InFlight]]]:
    """Snapshots of the requests in the app's call (``calls``), then of the responses in
    flight (``in_flight``): each one C call, no finalizer can change it meanwhile."""
    return (list(_in_call) if calls else [], list(_in_flight) if in_flight else [])


def woken() -> list[MetricsPipeline]:
    """The pipelines woken in this process, still alive (one C call for the set)."""
    return [pipeline for pipeline in (ref() for ref in list(_woken))
            if pipeline is not None]


def _call(work: Callable[[], object], counted: bool) -> None:
    # A function of its own: what ``work`` holds (a pipeline, and so its app) is not kept
    # alive by _run's frame until the next wake.
    global _busy_since
    _busy_since = time.monotonic()
    try:
        work()
    except Exception:  # noqa: BLE001 - the work never raises; keep the thread
        pass
    finally:
        _busy_since = None
    if counted:
        _done()
