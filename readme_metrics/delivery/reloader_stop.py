"""The time ``manage.py runserver``'s child has to close in under Django's autoreloader.

Without ``--noreload``, runserver serves in a child process that its parent (the
autoreloader) runs with ``subprocess.run``. A Ctrl-C reaches both: the parent's
``subprocess`` waits 0.25 s for the child, then SIGKILLs it (a SIGTERM to both: at
once). The child's exit close waited for the Metrics API's answers up to
``shutdown_timeout`` and said what it gave up on at its end: killed first, it said
nothing (blackbox12: API answering in 1 s, 4 clients, 3,117 calls served, 2,943
delivered, the other 174, answered while runserver served on during the exit, said by no
line). In that child the close ends before the kill and says, as it begins, what it
holds (as in a gunicorn worker: :mod:`.gunicorn_stop`).

Not at a reload: a file changed, no receiver of Django's ``file_changed`` signal answered
it, and Django's ``trigger_reload`` ends the child with ``sys.exit(3)``; the parent waits
for it (a new child serves meanwhile), so the close has its whole ``shutdown_timeout``
there. A wrapper around that function notes it (:func:`watch_reload`). Not the signal
itself: a receiver answers it where no reload follows (Django's own, for a file in a
template directory: the loaders reset, the child serves on), and noted there, a template
edited took the bound away from the next Ctrl-C (review118: the close took its
``shutdown_timeout`` again, SIGKILLed mid-way, nothing said).

Not at a SIGTERM either (delivery40): Django's handler of it (``sys.exit(0)``, in both
processes) has the parent, when it gets one too (a process manager's stop of the
group, ``docker stop``), SIGKILL the child AT ONCE (``subprocess.run``'s kill on any
exception but a KeyboardInterrupt): no bound lets a close run there, and nothing it
could say comes in time (documented: ``--noreload`` under a process manager). When the
child alone gets it (``kill <pid>``), the parent waits for it: the 0.15 s bound gave up
on logs it had all the time to send (50 calls held, a 1 s API: all 50 given up on,
said, their POSTs cut).
The handler is noted by a wrapper that the autoreloader's main thread puts in place at
its next look at the files after the middleware is made (:func:`watch_reload`:
``signal.signal`` needs that thread).

At Ctrl-C (:func:`_take_sigint`) the senders post what waits at once (background mode),
not only once the close began (delivery79): the close itself cannot begin sooner (it
needs the main thread's exit to reach ``atexit``, and ends the delivery: calls runserver
still serves would go unlogged). The child then waits up to :data:`QUIET_WAIT` for them
to be delivered, and says in one line how many are not, before the KeyboardInterrupt's
way to the close: on a machine too loaded to begin the close within those 0.25 s, the
SIGKILL lost them with no line (blackbox21: 1 run of 13 at a load of 52 lost 5 unsaid;
delivery74). None when all were delivered meanwhile: before newcomer46 the line came at
once, and a Ctrl-C a second after one call printed it and the close's "1 log to send
within 0.15s" while the log reached the API in milliseconds, with no word of it. The
wait is taken from the close's time (the kill comes as early); a close that then sends
what the line said says so, in place of its own first line.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
import weakref
from typing import Any, Callable, Optional

from readme_metrics.delivery import process
from readme_metrics.delivery.gunicorn_stop import Limit
from readme_metrics.delivery.interrupted import signal_raised
from readme_metrics.threads import start_thread

#: subprocess's wait for a child after a KeyboardInterrupt (``Popen._sigint_wait_secs``).
KILL_AFTER = 0.25
#: Of it, gone before the close begins (the child's main thread ends, threads' hooks).
SPENT = 0.05

_reloading = False
#: A SIGTERM came (Django's handler, noted: :func:`_take_sigterm`).
_terminated = False
#: The main thread looked (:func:`_take_sigterm`), once.
_taken = False
#: The line at Ctrl-C was said (:func:`_say_unsent`), once.
_said = False
#: Longest the Ctrl-C waits for what waits to be delivered before saying it is not.
QUIET_WAIT = 0.05
#: The seconds the Ctrl-C waited so (gone from the close's time).
_waited = 0.0
#: Each delivery the line at Ctrl-C was said of, and the logs it said.
_said_of: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


class AutoreloaderLimit(Limit):
    """Django's autoreloader's kill of its child, as the close's lines say it."""

    def kills(self) -> str:
        return "ends this process (runserver's child) then"

    def said(self) -> str:
        return f"the SIGKILL of Django's autoreloader, {float(self):g}s after Ctrl-C"

    def advice(self) -> str:
        return ("run runserver with --noreload to give the close its whole time; calls "
                "runserver answers from now on have no log")


def in_autoreloader_child() -> bool:
    """This process is ``manage.py runserver``'s child under Django's autoreloader."""
    return (os.environ.get("RUN_MAIN") == "true" and sys.argv[1:2] == ["runserver"]
            and "django.utils.autoreload" in sys.modules)


def _reloader_runs() -> bool:
    """Django's autoreloader runs in this process: runserver serves in the thread it
    starts, ``django-main-thread`` (under ``--noreload``, in the main thread). Not
    ``RUN_MAIN`` alone: an image's ENV may set it by hand, so that code gated on it runs
    under ``--noreload`` too (review118: the close was cut to 0.15 s at Ctrl-C there,
    with no kill coming, and its line said to run with ``--noreload``)."""
    return any(thread.name == "django-main-thread" for thread in threading.enumerate())


def limit() -> Optional[Limit]:
    """The time to the autoreloader's kill, in its child at an exit that is no reload;
    else None."""
    if _reloading or _terminated or not in_autoreloader_child() or not _reloader_runs():
        return None
    return AutoreloaderLimit(KILL_AFTER, "Django's autoreloader", "--noreload",
                             spent=SPENT + _waited)


def said_at_ctrl_c(delivery: Any) -> int:
    """The logs the line at Ctrl-C said ``delivery`` had not delivered yet; 0: none."""
    try:
        return _said_of.get(delivery, 0)
    except TypeError:  # pragma: no cover - an object no weak reference can name
        return 0


def _noting(trigger: Callable[..., Any]) -> Callable[..., Any]:
    """Django's ``trigger_reload``, noting first that this child's exit is a reload."""

    @functools.wraps(trigger)
    def trigger_reload(*args: Any, **kwargs: Any) -> Any:
        global _reloading
        _reloading = True
        return trigger(*args, **kwargs)

    setattr(trigger_reload, _NOTING, True)
    return trigger_reload


#: Marks the wrapper (:func:`watch_reload` puts one only).
_NOTING = "_readme_metrics_noting"


def watch_reload() -> None:
    """In runserver's child under the autoreloader, note a reload coming (Django's
    ``trigger_reload``, called when no ``file_changed`` receiver answered), and a
    SIGTERM (:func:`_take_sigterm`, from the autoreloader's main thread, through
    ``iter_all_python_module_files``, which it calls at each look at the files). Once
    per process; anywhere else, nothing. Never raises."""
    try:
        if not in_autoreloader_child():
            return
        autoreload: Any = sys.modules["django.utils.autoreload"]
        trigger = getattr(autoreload, "trigger_reload", None)
        if callable(trigger) and not getattr(trigger, _NOTING, False):
            autoreload.trigger_reload = _noting(trigger)
        files = getattr(autoreload, "iter_all_python_module_files", None)
        if callable(files) and not getattr(files, _NOTING, False):
            autoreload.iter_all_python_module_files = _looking(files)
    except Exception:  # another Django, of a shape of its own
        pass


def _looking(files: Callable[..., Any]) -> Callable[..., Any]:
    """Django's ``iter_all_python_module_files``, taking the SIGTERM's noting first
    when the main thread calls it."""

    @functools.wraps(files)
    def iter_all_python_module_files(*args: Any, **kwargs: Any) -> Any:
        if not _taken:
            try:
                if threading.current_thread() is threading.main_thread():
                    _take_sigint()  # (first: a SIGTERM noted tells it is in place)
                    _take_sigterm()
            except BaseException as error:
                _note(error)
                raise
        return files(*args, **kwargs)

    setattr(iter_all_python_module_files, _NOTING, True)
    return iter_all_python_module_files


def _note(error: BaseException) -> None:
    """A SystemExit raised by a signal handler (Django's of SIGTERM, ``sys.exit(0)``)
    before :func:`_take_sigterm` put its wrapper in place (delivery50: landing in it, or
    in the look at the files around it): noted as the wrapper would have. Only Ctrl-C
    (a KeyboardInterrupt) has the autoreloader kill this child 0.25 s later; a SIGTERM
    taken for it had the close cut to 0.15 s, its line saying so. Never raises."""
    global _terminated
    if isinstance(error, SystemExit) and signal_raised(error):
        _terminated = True


def _take_sigterm() -> None:
    """In the main thread: Django's SIGTERM handler, noting first that it came. Never
    raises."""
    global _taken
    _taken = True
    _first(signal.SIGTERM, _note_terminated)


def _note_terminated() -> None:
    global _terminated
    _terminated = True


def _take_sigint() -> None:
    """In the main thread: the SIGINT handler (Python's, raising KeyboardInterrupt) says
    first what the SIGKILL 0.25 s later would lose (:func:`_say_unsent`). Never raises."""
    _first(signal.SIGINT, _say_unsent)


def _first(signum: int, before: Callable[[], None]) -> None:
    """``signum``'s handler, where it is callable and not wrapped so already, calls
    ``before`` first (marked, so never twice). In the main thread. Never raises."""
    try:
        handler = signal.getsignal(signum)
        if not callable(handler) or getattr(handler, _NOTING, False):
            return

        def noting(number: int, frame: Any) -> Any:
            before()
            return handler(number, frame)

        setattr(noting, _NOTING, True)
        signal.signal(signum, noting)
    except Exception:  # noqa: BLE001
        pass


def _say_unsent() -> None:
    """At the first Ctrl-C, where the autoreloader's kill comes (not at a reload): what
    waits is posted at once, and each delivery with logs still not delivered
    :data:`QUIET_WAIT` later says how many, ahead of its close (which may not begin
    before the kill). Never raises."""
    global _said, _waited
    if _said:
        return
    _said = True
    try:
        found = limit()
        if found is None:
            return
        waiting = [obj for obj in process.tracked() if _unsent(obj)]
        if not waiting:
            return
        # Posted in a thread of its own (this handler runs in the main thread, which may
        # hold a queue's lock), not at the close: that begins only once the main
        # thread's exit reached ``atexit``, and a loaded machine may not get there
        # within the 0.25 s (delivery79: the logs lost, said).
        start_thread(_post_now, "readme-metrics-ctrl-c")
        began = time.monotonic()
        while time.monotonic() - began < QUIET_WAIT and any(_unsent(obj) for obj in waiting):
            time.sleep(0.005)
        _waited = time.monotonic() - began
        ahead = (f"Ctrl-C: {found.said()} {found.kills()}, and they are lost with it "
                 f"unless the close sends them first ({found.advice()})")
        for obj in waiting:
            say = getattr(obj, "say_unsent", None)
            said = say(ahead) if say is not None else 0
            if said:
                _said_of[obj] = said
    except Exception:  # noqa: BLE001
        pass


def _unsent(obj: Any) -> int:
    """The logs ``obj`` (a tracked delivery) has not delivered yet; 0 for another kind
    of object. Never raises."""
    try:
        unsent = getattr(obj, "unsent", None)
        return unsent() if unsent is not None else 0
    except Exception:  # noqa: BLE001
        return 0


def _post_now() -> None:
    """Each tracked delivery's senders post what waits (:meth:`Delivery.post_now`)."""
    for obj in process.tracked():
        post = getattr(obj, "post_now", None)
        if post is not None:
            post()
