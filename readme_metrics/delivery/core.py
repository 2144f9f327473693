"""Delivery: queued logs to ReadMe, in batches, by a small pool of background senders.

The request thread only calls :meth:`Delivery.submit`, which appends to the queue under
a lock held for a few attribute updates: no I/O, no waiting (in background mode; with
``background_worker_mode=False`` there are no threads and a due batch is sent from the
request thread instead). One named daemon sender per :class:`Delivery` per process
starts on the first log; while the Metrics API is slower than the traffic, each POST
carries everything waiting (up to ``MAX_POST_LOGS`` logs and ``MAX_POST_BYTES``
captured bytes), and one more sender starts, up to ``MAX_SENDERS``, as soon as every
sender is busy and the backlog exceeds what they carry (more than their POSTs take at
those caps in a round, or more than twice as many logs wait as the POSTs in flight hold)
and the API's round trip, not the CPU, is what holds it back, so throughput follows the
backlog instead of the API's latency. A sender that takes a batch starts that one itself;
when a request finds the need (a burst during a POST), the watchdog thread starts it,
as a request thread starts no thread but the first. The watchdog also keeps the
``flush_interval`` timer while every sender is busy, and starts one more sender for a
partial batch that comes due then.

What it trusts: nothing about the Metrics API. It may be down, slow, dripping its
answers or refusing for hours; memory stays bounded (``max_queue_size`` logs and
``max_queue_bytes`` bytes, counting the batches in flight or waiting for a retry by
their JSON: :mod:`.held`), each POST is bounded by ``timeout``, retries are bounded,
every log that is not delivered is counted with its reason, and exit waits at most
``shutdown_timeout``.

The parts: :mod:`.queue` (accounting), :mod:`.batcher` (what goes next), :mod:`.worker`
(threads), :mod:`.attempt` (one attempt and its consequences), :mod:`.sender` (encode,
post, verdict), :mod:`.transport` (HTTP), :mod:`.resolve` (the API's name looked up
within a deadline), :mod:`.watchdog` (a whole POST within ``timeout``), :mod:`.encode`
(JSON), :mod:`.policy` (pure decisions), :mod:`.checks` (a black-holed API's return
noticed without a POST) and :mod:`.process` (exit and fork hooks). Delivery's own
methods are in six modules: this one (submit, stats, a server's stop marks),
:mod:`.flushing` (flush), :mod:`.per_process` (the state of one process, built and
rebuilt after a fork), :mod:`.closing` (the exit's post and close, release, and what
they gave up on), :mod:`.sender_threads` (the background senders' loop and the
flush_interval watch) and :mod:`.inline` (sending in the calling thread); every
decision in them is delegated to the modules named above.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

from readme_metrics._http import shown_url
from readme_metrics._logging import QuietLogger
from readme_metrics._process_id import getpid
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import (
    gunicorn_stop,
    hypercorn_stop,
    mod_wsgi_stop,
    process,
    reloader_stop,
    uvicorn_exit,
    uwsgi_exit,
    uwsgi_stop,
    watchdog,
)
from readme_metrics.delivery.closing import EARLY, Closing
from readme_metrics.delivery.closing_interrupt import ClosingInterrupt
from readme_metrics.delivery.flushing import Flushing
from readme_metrics.delivery.inline import INLINE_TAKEOVERS, InlineSending
from readme_metrics.delivery.limits import (
    AUTH_PAUSE,
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    MAX_DOWN_ATTEMPTS,
)
from readme_metrics.delivery.per_process import WORKER_NAME, PerProcess
from readme_metrics.delivery.sender_threads import SenderThreads
from readme_metrics.delivery.transport import Transport
from readme_metrics.nothing_listens import NothingListens

Build = Callable[[Any], dict]

__all__ = ["EARLY", "INLINE_TAKEOVERS", "WORKER_NAME", "Build", "Delivery"]


class Delivery(PerProcess, Closing, ClosingInterrupt, SenderThreads, InlineSending,
               Flushing):
    """Bounded queue + a small pool of senders: batching, retries, bounds and stats.

    .. code-block:: python

        delivery = Delivery(config, build=pipeline.build_log)
        delivery.submit(item)        # request thread: O(1), never blocks, never raises
        delivery.flush(timeout=2.0)  # True when everything queued so far was delivered
        delivery.close()             # also run at interpreter exit, within shutdown_timeout

    ``build(item) -> dict`` turns a queued item into one log object; it runs on a sender
    in background mode (and in the thread that calls :meth:`close` or exits, for what
    waits then) and in the sending request thread otherwise. A forked child starts
    with an empty queue and zeroed stats (the parent still owns what it queued, so nothing
    is sent twice) and its own senders and connections. Stats are per process.

    The keyword arguments after ``build`` tune the retry policy (tests shorten them);
    ``on_first_log``, if given, is called (from the request thread, never raising) at
    the first log submitted in each process, a forked child's first included;
    ``told``, the middleware's record of the fix for "nothing listens there" said
    (:mod:`readme_metrics.nothing_listens`), shared with its DocsUrl. ``said_at_exit``:
    True in a thread whose log the exit said already (the pipeline's
    :meth:`~readme_metrics.handed_over.HandedOver.said_here`): refused once closed, it
    is counted, not said again.
    """

    def __init__(self, config: MetricsApiConfig, build: Build, *,
                 max_attempts: int = MAX_ATTEMPTS, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP, auth_pause: float = AUTH_PAUSE,
                 max_down_attempts: int = MAX_DOWN_ATTEMPTS,
                 transport: Optional[Transport] = None,
                 on_first_log: Optional[Callable[[], None]] = None,
                 told: Optional[NothingListens] = None,
                 said_at_exit: Callable[[], bool] = bool) -> None:
        self.config = config
        self._said_at_exit = said_at_exit  # (bool(): False)
        #: Where this middleware said the fix for "nothing listens there" (the pipeline
        #: hands its DocsUrl the same): said once in full, then in short.
        self._told = told if told is not None else NothingListens()
        self._on_first_log = on_first_log
        self._build = build
        # Never raises (the app configures it); its tracebacks never show the API key.
        self._logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self._background = config.background_worker_mode
        self._max_attempts = max(1, max_attempts)
        self._max_down_attempts = max(1, max_down_attempts)
        self._backoff = (backoff_base, backoff_cap)
        self._auth_pause = auth_pause
        self._transport_given = transport is not None
        #: (logs left, logs accepted) as a flush said what it left (:meth:`left_said`).
        self._said_left = (0, 0)
        #: The close's bound and the server's limit where that set it (else
        #: shutdown_timeout and None: gunicorn_stop.close_bound), as the close began.
        self._bound: tuple[float, Optional[gunicorn_stop.Limit]] = (
            config.shutdown_timeout, None)
        self._transport = transport or Transport(config)
        self._reset_state(closed=False)
        process.track(self)
        gunicorn_stop.watch_stop()  # (in a gunicorn worker: when its SIGTERM comes)
        reloader_stop.watch_reload()  # (in runserver's autoreloaded child: a reload)
        mod_wsgi_stop.watch()  # (in a mod_wsgi daemon process: its stop)
        hypercorn_stop.watch()  # (in a hypercorn worker: a SIGTERM while it serves)
        uvicorn_exit.watch()  # (made inside uvicorn's serve: its end at a raise)
        process.on_fork_in_child(watchdog.after_fork_in_child)
        # (made in gunicorn's master, --preload: its worker's SIGTERM noted there too)
        process.on_fork_in_child(gunicorn_stop.watch_fork)
        # uWSGI's --skip-atexit loses what a worker holds at its exit: said once.
        uwsgi_exit.say(self._logger.warning, config.buffer_length, config.flush_interval)

    # -- request thread -------------------------------------------------------------

    def submit(self, item: Any, send: bool = True) -> bool:
        """Queue one exchange for delivery; False if it was dropped. Never blocks or raises.

        In background mode the first sender is started here on first use; when every
        sender is busy and more are wanted, the watchdog thread is asked to start one
        (a lock and a list append here). In inline mode a full batch, or a partial one
        older than ``flush_interval``, is built and sent in this thread (not with
        ``send=False``: only queued, for a send already under way or a later one).

        A signal handler's raise (KeyboardInterrupt, SystemExit: a Ctrl-C or SIGTERM
        landing in the main thread while it runs here) goes on unchanged, but only once
        ``item`` is queued (or counted dropped): see :meth:`Batcher.put`. Landing at this
        method's very first instruction, before anything, it goes on with nothing done:
        :func:`~readme_metrics.delivery.interrupted.handed` tells the caller.
        """
        try:
            if self._pid != getpid():
                self._own_process()
            if not self._exit_hooked:
                self._exit_hooked = True
                process.ensure_exit_in_child()
                uwsgi_stop.arm()  # (a uWSGI worker's stop: the WSGI middleware's first)
                # (made before uWSGI was loaded, pyuwsgi.run(): said in the worker)
                uwsgi_exit.say(self._logger.warning, self.config.buffer_length,
                               self.config.flush_interval)
                if self._on_first_log is not None:
                    self._on_first_log()
            reason, due, so_far, interrupt = self._batcher.put(item, item.nbytes,
                                                               not self._background)
            if reason:
                if reason == "queue_full":
                    self._queue_full.dropped(so_far)
                    self._attempt.refused()  # POSTs held past their bound: cut them
                elif reason == "late":  # after the close ended: said (delivery53)
                    self._late.refused()
                if interrupt is not None:
                    raise interrupt
                return False
            if self._queue_full.since is not None:
                self._queue_full.accepted()
            if self._background:
                if not self._started:
                    if not self._start():
                        self._queue_only()
                elif due:
                    watchdog.run_soon(self._pool.grow)
            elif interrupt is not None:
                pass  # queued: not sent now (a stop is under way), the exit flush sends it
            elif send and self._batcher.exit_by < math.inf:
                # The main thread has ended: this log goes now, a partial batch too, as
                # those waiting then did (post_waiting), within the exit's bound.
                with self._queue.lock:
                    self._queue.flush_target = max(self._queue.flush_target,
                                                   self._queue.accepted)
                exit_by = self._batcher.exit_by
                if time.monotonic() >= exit_by:
                    self._exit_outlasted = True  # the close has a bound of its own
                self._send_inline(force=False, deadline=exit_by)
            elif due and send:
                self._send_inline(force=False, deadline=None)
            if interrupt is not None:
                raise interrupt
            return True
        except Exception:  # never into the app
            self._logger.debug("readme_metrics: submit failed", exc_info=True)
            return False
        except BaseException:
            # A signal handler's raise before the item reached the queue (in a first
            # log's hooks, at put's first instruction): queued now, then it goes on. A
            # raise after (the interrupt put returned, or one in starting a sender)
            # goes on as it is: the item is queued. Read from the item, not from how far
            # this code came: a raise lands after put returned too (review134).
            if not getattr(item, "handed", False) and self._batcher.put(  # (sets it)
                    item, item.nbytes, not self._background)[0] == "late":
                self._late.refused()
            raise

    @property
    def accepting(self) -> bool:
        """False when a log submitted now is dropped: once closed (close() or the exit
        hook), while the queue is full and during a 401/403 pause (read without the lock:
        a best guess, wrong only towards leaving a header out; a pause's end read off the
        clock). (Written out where a request asks it: the capture's x-documentation-url,
        cpu27, which asks this when its own reading says no.)"""
        batcher = self._batcher
        health = batcher.health
        return not (batcher.closed or batcher.queue.refusing
                    or health.paused_until and health.pausing())

    def post_now(self) -> None:
        """Background mode: the senders post what waits now, a partial batch too,
        answers waited for by no one (:meth:`post_waiting`); inline: nothing (no thread
        of the library's to post it). For a thread of its own at a Ctrl-C whose kill may
        come before the close begins (reloader_stop, delivery79). Never raises."""
        if self._background:
            self.post_waiting()

    def count_skipped(self) -> None:
        """Count an exchange that was seen but, by configuration, not logged."""
        self._queue.skip()

    def count_dropped_at_exit(self, count: int) -> None:
        """Count ``count`` logs captured and dropped ("shutdown") that were never queued:
        the exit gave up on finishing them (see ``MetricsPipeline.finish_at_exit``)."""
        with self._batcher.lock:
            self._queue.counts["captured"] += count
            for _ in range(count):
                self._queue.refuse_locked("shutdown")

    # -- public control -------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """A consistent snapshot of the counters.

        ``captured == sent + dropped + queued + skipped`` holds in every snapshot;
        ``queued`` includes the batches being sent or waiting for a retry.
        ``dropped_<reason>`` splits ``dropped``; ``failed_batches`` counts batches given
        up on, ``retries`` the attempts after a first failure, ``batches`` the batches
        delivered.
        """
        return self._queue.stats()

    def left_said(self) -> int:
        """The logs still queued, for a flush that gave up and says how many (the ASGI
        lifespan's, at a server's shutdown): should the close give up on logs too, its
        warning says they are those, not more (where no log came since), so the two
        are not read as two losses (delivery32: hypercorn said both, of the same 3)."""
        queue = self._queue
        with queue.lock:
            self._said_left = (queue.accepted - queue.resolved, queue.accepted)
            return self._said_left[0]

    def stop_begins(self) -> None:
        """A server's stop begins (the ASGI lifespan's shutdown, whose flush has
        ``shutdown_timeout``): a close after it (the exit's) ends within the same bound,
        counted from now, if no log came since and it begins within twice that bound of
        now (an older mark counts not: delivery35). Each had a bound of its own: uvicorn
        stopped by Ctrl-C took twice ``shutdown_timeout`` against an API that answered
        nothing (4.0 s of a 2 s bound, 5.1 s with uvicorn's own), hypercorn on SIGTERM as
        well (delivery34)."""
        queue = self._queue
        with queue.lock:
            self._stop_began = (time.monotonic(), queue.accepted)

    def stop_ends(self) -> None:
        """The stop's flush ended: the server's exit may take up to the bound from
        now (one second at least) whatever the flush took (:func:`stop_mark.holds
        <readme_metrics.delivery.stop_mark.holds>`; flaky55)."""
        self._stop_ended = time.monotonic()

    def say_dropped(self) -> None:
        """Say the logs the full queue dropped that no line said yet, now: after the ASGI
        lifespan's flush at shutdown, which uvicorn ends on SIGTERM with no exit hook
        (so no close) after it. Never raises."""
        try:
            self._queue_full.say_rest()
        except Exception:
            self._logger.debug("readme_metrics: saying the drops failed", exc_info=True)

    def close(self, began: Optional[float] = None) -> None:
        """Flush within ``shutdown_timeout`` (from ``began``, a ``time.monotonic()``
        reading, else from now), then stop the senders. Idempotent."""
        try:
            if self.begin_exit(began):
                self.finish_exit()
        except Exception:
            self._logger.debug("readme_metrics: close failed", exc_info=True)

    def __repr__(self) -> str:
        mode = "background" if self._background else "inline"
        return f"<Delivery {mode} to {shown_url(self._transport.url)!r} {self.stats!r}>"
