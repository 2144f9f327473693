"""Delivery's per-process state: built at start, rebuilt in a forked child.

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's):
everything that belongs to one process (the queue, the batcher, the sender pool, the
attempt and its notices) is made in :meth:`PerProcess._reset_state`, and made again in a
forked child, either from the fork hooks (:mod:`.process`) or, where a server forks
without Python's hooks (uWSGI's workers), from the first call that finds another
process id (:meth:`PerProcess._own_process`). The parent keeps what it queued, so
nothing is sent twice; the child starts with an empty queue and zeroed stats.
"""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any, Callable

from readme_metrics.delivery.attempt import Attempt
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.checks import Checker
from readme_metrics.delivery.late_refused import LateRefused
from readme_metrics.delivery.limits import MAX_SENDERS
from readme_metrics.delivery.queue import LogQueue
from readme_metrics.delivery.queue_full import QueueFullNotice
from readme_metrics.delivery.sender import Sender
from readme_metrics.delivery.transport import Transport
from readme_metrics.delivery.worker import WorkerPool
from readme_metrics.key_checks import KEY_SAID

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.nothing_listens import NothingListens

__all__ = ["WORKER_NAME", "PerProcess"]

WORKER_NAME = "readme-metrics-worker"
#: Process id -> the lock of :meth:`PerProcess._own_process` (one per process).
_REBUILDING: dict[int, threading.Lock] = {}


class PerProcess:
    """Delivery's state of one process: (re)built, and rebuilt once after a fork."""

    config: MetricsApiConfig
    _build: Callable[[Any], dict]
    _logger: QuietLogger
    _told: NothingListens
    _backoff: tuple[float, float]
    _max_attempts: int
    _max_down_attempts: int
    _auth_pause: float
    _transport_given: bool
    _transport: Transport
    _said_at_exit: Callable[[], bool]

    if TYPE_CHECKING:
        def _run(self) -> None: ...

    def _reset_state(self, closed: bool) -> None:
        """(Re)initialise everything that belongs to one process."""
        config = self.config
        #: (when, logs accepted then) as a server's stop began (:meth:`stop_begins`); a
        #: forked child's close has its own bound (its queue counts from 0 again).
        self._stop_began = (math.inf, -1)
        self._stop_ended = -math.inf  # (its flush's end: :meth:`stop_ends`)
        self._queue = LogQueue(batch_size=config.buffer_length, interval=config.flush_interval,
                               max_size=config.max_queue_size,
                               max_bytes=config.max_queue_bytes)
        self._batcher = Batcher(self._queue, backoff_base=self._backoff[0],
                                backoff_cap=self._backoff[1], max_senders=MAX_SENDERS,
                                probe_after=config.timeout)
        self._batcher.closed = closed
        self._batcher.said_at_exit = self._said_at_exit
        self._pool = WorkerPool(self._run, name=WORKER_NAME, size=MAX_SENDERS)
        self._started = False
        self._queue_only_told = False  # the warning that no sender thread can start
        self._exit_hooked = False  # multiprocessing children need their own exit hook
        self._inline_lock = threading.Lock()  # one inline sender at a time
        #: Inline: a log came past the exit's bound (``Batcher.exit_by``): the app's
        #: threads worked on, and the close has a bound of its own.
        self._exit_outlasted = False
        #: (logs read, logs unsent) in POSTs cut at the exit's bound before a close with
        #: a bound of its own began (``_exit_outlasted``): said apart (:meth:`_closed`).
        self._exit_cut = (0, 0)
        self._sender = Sender(self._transport, self._build, config.api_key)
        self._attempt = Attempt(self._batcher, self._sender, self._logger,
                                timeout=config.timeout, max_attempts=self._max_attempts,
                                max_down_attempts=self._max_down_attempts,
                                auth_pause=self._auth_pause, told=self._told,
                                key_said=getattr(config, "api_key_said", KEY_SAID))
        self._batcher.on_close = self._attempt.close_begins
        counts = self._queue.counts
        self._queue_full = QueueFullNotice(
            self._attempt.warnings, config.max_queue_size, config.max_queue_bytes,
            lambda: counts["dropped_queue_full"])
        #: Says the logs refused once the close had ended (the reason "late").
        self._late = LateRefused(self._logger, self._batcher.take_refused_late)
        self._checker = Checker(self._batcher, self._transport.answers, self._pool.grow,
                                config.timeout, self._attempt.host_answers,
                                self._transport.end_check)
        # Last: a thread that finds this process's id finds its queue (_own_process).
        self._pid = os.getpid()

    def _own_process(self) -> None:
        """Forked without Python's fork hooks (uWSGI's workers): this process's state
        is rebuilt once, under a lock of its own (none inherited held). Two threads'
        first requests each rebuilt it, one's log lost unsaid (delivery43)."""
        pid = os.getpid()
        with _REBUILDING.setdefault(pid, threading.Lock()):
            if self._pid != pid:
                self.after_fork_in_child()
            for other in list(_REBUILDING):  # (the parents': no pid reused finds one)
                if other != pid:
                    _REBUILDING.pop(other, None)

    # -- process hooks (see process.py) ---------------------------------------------------

    def before_fork(self) -> None:
        """Nothing to hold: a child rebuilds all of its state (after_fork_in_child)."""

    def after_fork_in_parent(self) -> None:
        """The parent keeps its queue, senders and connections as they are."""

    def after_fork_in_child(self) -> None:
        """A forked child starts afresh: empty queue, zeroed stats, new senders and pool."""
        if not self._transport_given:
            # The inherited pooled sockets are shared with the parent: never reuse them.
            self._transport = Transport(self.config)
        self._reset_state(closed=self._batcher.closed)
