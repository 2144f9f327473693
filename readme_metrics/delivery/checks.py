"""Noticing that a black-holed Metrics API answers again, without a POST.

An API that takes the POSTs and never answers them (a black hole: a load balancer with
no backend, a dead connection) is probed one POST at a time, each up to
``PROBE_OVERLAP_CAP`` (10 s) after the one before while none is answered
(:func:`~readme_metrics.delivery.pacing.probe_wait`): when it came back, the probe in
flight sat on its dead connection and the next one went up to 10 s later, the queue
full meanwhile (delivery22: 5 to 5.5 s after a 20 s black hole, about 5,000 logs dropped
at 1,000 logs/s). More probes would send more log batches to a black hole.

So while the API is taken for down and a POST has waited ``CHECK_BOUND`` (1 s, or
``timeout`` if less) unanswered, one :class:`Checker` thread per Delivery
(``readme-metrics-check``, started by a sender, running while the API is taken for down)
asks whether the API's host answers a request that carries no logs
(:meth:`DirectPoster.answers <readme_metrics.delivery.direct.DirectPoster.answers>`: a
``GET``, without the API key), one at a time, each within that bound, ``CHECK_GAP``
(1 s) apart. One answered after one was not lets the next probe go at once (once per
outage: :meth:`ApiHealth.checked_locked
<readme_metrics.delivery.health.ApiHealth.checked_locked>`). No POST more goes; through
a proxy (the requests route) there is no check, and the probes go as before.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.limits import CHECK_BOUND, CHECK_GAP
from readme_metrics.threads import start_thread

#: The checker thread's name.
CHECK_NAME = "readme-metrics-check"
#: The longest :meth:`Checker.stop` waits for a thread woken from its pause or whose GET
#: it cut (it ends in microseconds; a cap, never a sleep).
_WOKEN = 0.1


class Checker:
    """Runs the checks of one Delivery on a thread of its own while they are wanted.

    ``answers(seconds)`` asks the host (None: it cannot be asked, no check is made);
    ``grow()`` starts one more sender, for an early probe that finds none idle;
    ``back(began)`` is told of a check begun at ``began`` that found the host answering
    again (:meth:`Attempt.host_answers
    <readme_metrics.delivery.attempt.Attempt.host_answers>`: the POSTs held on dead
    connections go again); ``end()`` cuts a check in flight (:meth:`stop`).
    """

    def __init__(self, batcher: Batcher, answers: Callable[[float], Optional[bool]],
                 grow: Callable[[], object], timeout: float,
                 back: Callable[[float], object] = lambda began: None,
                 end: Callable[[], object] = lambda: None) -> None:
        self._batcher = batcher
        self._end = end
        self._answers = answers
        self._grow = grow
        self._back = back
        self.bound = min(CHECK_BOUND, timeout)
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        #: What the thread waits on between looks: never the queue's ``wake``, whose
        #: ``notify()`` (one waiter: a batch filled for an idle sender) it would take.
        self._pause = threading.Event()
        #: Set by :meth:`stop` (close, exit): no check more, no early probe.
        self._stopped = False
        #: A check's GET is in flight.
        self._asking = False
        #: ``answers`` gave None (the requests route, through a proxy): no check can be
        #: made, the thread is not started again after each attempt for nothing.
        self._cannot = False

    def wanted(self) -> None:
        """Start the thread if a check is wanted and none runs (a sender's call after an
        attempt, while the API is taken for down); never raises. Not once none is (the
        outage's early probe spent: the thread started for each attempt, to find that at
        its first look and end, review85)."""
        if (self._thread is not None or self._stopped or self._cannot
                or self._batcher.check_wait(self.bound) is None):
            return
        with self._lock:
            if self._thread is not None or self._stopped or self._cannot:
                return
            # Started under the lock: the thread clears ``_thread`` (under it) as it
            # ends, after this sets it. None at interpreter exit: the probes go as before.
            self._thread = start_thread(self._run, CHECK_NAME)

    def stop(self, seconds: float) -> None:
        """No check more (close, exit): the thread's pause ends now, and it is waited
        for until it ends (at once: woken from its pause); a check's GET in flight is
        waited for up to ``seconds``, then cut (its socket shut down). Before, the thread
        outlived close() by up to 2 s (its pause, then a GET); then, with a GET in flight
        as shutdown_timeout ran out, by up to the GET's 1 s bound (review84). Never
        raises."""
        with self._lock:
            self._stopped = True
            thread, asking = self._thread, self._asking
        self._pause.set()
        if thread is None or thread is threading.current_thread():
            return
        try:
            if not asking:
                thread.join(max(seconds, _WOKEN))
                return
            thread.join(max(0.0, seconds))
            if thread.is_alive():
                self._end()
                thread.join(_WOKEN)
        except Exception:  # pragma: no cover - not started (interpreter exit)
            pass

    def _run(self) -> None:
        batcher = self._batcher
        try:
            while not self._stopped:
                wait = batcher.check_wait(self.bound)
                if wait is None:
                    return
                if wait > 0:
                    self._pause.wait(min(wait, CHECK_GAP))
                    continue
                began = time.monotonic()
                with self._lock:
                    if self._stopped:
                        return
                    self._asking = True
                try:
                    answered = self._answers(self.bound)
                finally:
                    with self._lock:
                        self._asking = False
                if answered is None:
                    self._cannot = True
                    return
                if self._stopped:
                    return
                early, idle = batcher.checked(answered, CHECK_GAP)
                if early:
                    self._back(began)
                    if not idle:
                        self._grow()  # every sender held on a dead connection: one more
        except Exception:  # pragma: no cover - a check never raises; the probes go on
            pass
        finally:
            with self._lock:
                self._thread = None
