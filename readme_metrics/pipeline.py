"""What every adapter shares: skip rules, identification, ids, delivery (SPEC section 3).

The skip rules themselves are :class:`~readme_metrics.skip_rules.SkipRules`, and the logs
finalizers hand over wait in :class:`~readme_metrics.handed_over.HandedOver`; the pipeline
holds one of each and gives its adapters their ``wants``, ``hand_over`` and
``run_handed_over``.

An adapter (the WSGI middleware, Flask, Django) only captures an exchange and hands it
here. One :class:`MetricsPipeline` per middleware instance owns the delivery worker, the
redactor and the documentation URL lookup; all the per-request decisions are plain set
and dict lookups prepared once at construction.
"""

from __future__ import annotations

import logging
import numbers
import time
import weakref
from functools import partial
from threading import Lock
from typing import Any, Callable, Mapping, Optional

from readme_metrics._logging import QuietLogger
from readme_metrics._random import log_id
from readme_metrics._wording import counted
from readme_metrics.capture import unclosed
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery
from readme_metrics.docs_url import DocsUrl
from readme_metrics.exchange import Group, PendingExchange
from readme_metrics.forwarded_hint import ForwardedHint
from readme_metrics.grouping import Identifier
from readme_metrics.handed_over import FINISH_WAIT, HandedOver
from readme_metrics.har import build_log
from readme_metrics.nothing_listens import NothingListens
from readme_metrics.pipeline_controls import PipelineControls
from readme_metrics.redaction import Redactor
from readme_metrics.skip_rules import SkipRules

__all__ = ["MetricsPipeline", "PipelineControls"]  # (PipelineControls: pipeline_controls)


class MetricsPipeline:
    """Capture-independent half of the middleware: decide, identify, enqueue, deliver."""

    def __init__(self, config: MetricsApiConfig) -> None:
        self.config = config
        # The app configures the logger: a filter or handler of its that raises must not
        # reach the request through a line the library logs there (rare events only).
        self.logger = QuietLogger(config.logger, secrets=(config.api_key,))
        rules = SkipRules(config, self.logger)
        #: ``wants(method, host, forwarded_host=None, user_agent=None, path="")`` and
        #: ``wants_environ(environ)``: whether a request is logged (SkipRules'). Its
        #: ``any_host``, ``skip_methods`` and ``forwarded_hosts`` are read here too: an
        #: adapter may tell most requests wanted without a call (SkipRules.any_host).
        self.wants: Callable[..., bool] = rules.wants
        self.wants_environ: Callable[[Mapping[str, Any]], bool] = rules.wants_environ
        self.any_host = rules.any_host
        self.skip_methods = rules.skip_methods
        self.forwarded_hosts = rules.forwarded_hosts
        #: ``identify(request, copy=None)``: the caller per the grouping function; None
        #: means "do not log". Never raises. ``copy``: see Identifier. The Identifier's
        #: bound ``__call__``, not a method calling
        #: it (one Python call fewer per request) nor the instance: 3.11 runs a bound
        #: method of a Python function in the caller's loop, an instance's ``__call__``
        #: through a C slot (about 650 instructions more a call).
        self.identify: Callable[..., Optional[Group]] = Identifier(
            config.grouping_function, self.logger, config.api_key).__call__
        self.redactor = Redactor(config.denylist, config.allowlist)
        # Delivery gets what building a log needs, not this pipeline: its sender threads
        # hold it, and so would have kept the pipeline (and the app it serves) for the
        # life of the process. Once the pipeline is gone, they send what is queued and
        # end (an app factory making an app per test made a thread per app).
        inline = not config.background_worker_mode
        # Inline mode has no sender: once this pipeline is dropped, its last logs are sent
        # by unclosed's thread (_released). Started here, from ordinary code: a WSGI app
        # whose responses are lists, and every ASGI app, never asked for it, so a dropped
        # app's logs waited in process._held for the exit flush. And again at the first
        # log of a forked child (gunicorn --preload), which has no thread of the parent's.
        # What the docs-URL lookup and the POSTs said of a port where nothing listens
        # (readme-metrics collect not started): the fix in full once, then in short.
        told = NothingListens()
        # Said once on the worker: a proxy in front whose X-Forwarded-For no option reads.
        self.forwarded_hint = ForwardedHint(self.logger)
        #: The finishes finalizers handed over (see HandedOver), run from ordinary code.
        self.handed = handed = HandedOver()
        self.delivery = Delivery(config, partial(_build, config, self.redactor,
                                                 self.forwarded_hint),
                                 on_first_log=unclosed.ready_here if inline else None,
                                 told=told, said_at_exit=handed.said_here)
        weakref.finalize(self, _released, self.delivery).atexit = False  # exit: process.py
        if inline:
            unclosed.ready()
        #: ``submit(item, send=True) -> bool``: queue one captured exchange (in inline
        #: mode, may send a full batch now, unless ``send`` is False); False if it was
        #: dropped. Never raises. Delivery's own method: one Python call fewer per log.
        self.submit: Callable[..., bool] = self.delivery.submit
        #: True while :meth:`finish_at_exit` runs finishes in the exit's thread (submit
        #: then only queues): an adapter's own route to the delivery must not post then.
        self.exit_finishing = False
        self.docs = DocsUrl(config, told=told)
        #: base_log_url, when given, is the base (DocsUrl.base's first answer, without a
        #: user and password): read here, without a call per request (an adapter may
        #: write :meth:`documentation_url` out with it, as the WSGI middleware does).
        self.fixed_base = self.docs.fixed
        #: ``hand_over(finish, quick=False)``: :meth:`HandedOver.put`. ``quick``:
        #: ``finish`` calls no code of the app's, so the exit may run it in its own
        #: thread (:meth:`finish_at_exit`).
        self.hand_over: Callable[..., None] = handed.put
        #: ``run_handed_over(wait=0.0)``: :meth:`HandedOver.run`, what was handed over
        #: in this process.
        self.run_handed_over: Callable[..., None] = handed.run
        #: Its queue, read on each request: an adapter runs it when not ``empty()``.
        self.handed_over = handed.queue
        #: What holds logs handed over but not yet queued (the inline sends under an event
        #: loop: :class:`~readme_metrics.capture.asgi_inline.InlineSends`), as weak
        #: methods ``hand_over(timeout)``: each queues them before a flush or a close.
        self._holders: list[weakref.WeakMethod[Callable[[Optional[float]], None]]] = []
        self._holders_lock = Lock()  # held_by() from request threads at once

    # -- request thread ----------------------------------------------------------------


    #: ``new_id() -> str``: a fresh log ``_id`` (uuid4), also the tail of the
    #: x-documentation-url. uuid.uuid4() without its os.urandom system call (several
    #: microseconds on some kernels): the library's own generator (not the app's),
    #: seeded from os.urandom and re-seeded in forked children; the id is not a secret
    #: (it is sent to the client in x-documentation-url anyway). Made 64 at a time
    #: (:func:`readme_metrics._random.log_id`): a sixth of the instructions of one
    #: made alone.
    new_id = staticmethod(log_id)

    def documentation_url(self, log_id: str) -> Optional[str]:
        """``{base}/logs/{id}`` once the docs base URL is known, else None (never blocks).

        None once delivery is closed too: that exchange's log will be dropped (SPEC 5: a
        request that is not logged gets no header).
        """
        if not self.delivery.accepting:
            return None
        base = self.fixed_base
        if base is None:
            try:
                base = self.docs.base()
            except Exception:  # a lookup problem must never reach the app
                return None
            if base is None:
                return None
        return f"{base}/logs/{log_id}"

    def skip(self) -> None:
        """Count an exchange that is seen but, by the rules, not logged."""
        self.delivery.count_skipped()

    def finish_at_exit(self, waited: float) -> None:
        """At exit, before delivery closes, once the thread that runs what was handed
        over (:mod:`~readme_metrics.capture.unclosed`'s) had its bounded wait,
        ``waited`` seconds: run here what it has not taken and that is ``quick`` (library
        code alone: bounded), so that a busy machine, which may not schedule that thread
        in time, loses no log. What would call the grouping function is not run here (it
        may block, and the exit must not): counted dropped, as is what that thread is
        still finishing, with one warning; never lost without a word. Never raises."""
        try:
            submit = self.submit
            given_up = 0
            # Queued only: in inline mode a log filling a batch is posted by the submit,
            # bounded by ``timeout``, not ``shutdown_timeout``; the exit flush that comes
            # next posts it within its bound.
            self.submit = partial(self.delivery.submit, send=False)
            self.exit_finishing = True
            try:
                for finish, quick in self.handed.take_here():
                    if quick:
                        finish()  # never raises
                    else:
                        given_up += 1
            finally:
                self.submit = submit
                self.exit_finishing = False
            if given_up:
                self.delivery.count_dropped_at_exit(given_up)
            # A finish another thread is in (a grouping function that has not answered):
            # counted dropped ("shutdown") if it ever queues its log, delivery closed,
            # and not said again then (this warning names it: HandedOver.say_others).
            busy = self.handed.say_others()
            if given_up + busy > 0:
                # Each part true whatever comes next: a finish still under way may queue
                # its log before delivery closes, and it is delivered (delivery57: "not
                # delivered" was said of it all the same)
                fates = ([f"{given_up} not delivered (not begun: the exit calls no grouping "
                          "function)"] if given_up else []) + (
                    [f"{counted(busy, 'log')} still being finished there: delivered if "
                     "queued before delivery closes, else not delivered (counted in "
                     "dropped_shutdown)"] if busy else [])
                self.logger.warning(
                    "readme_metrics: exiting with %s of responses dropped without close() "
                    "not yet queued: the library's thread that runs the grouping function "
                    "for them had not done so within %.2f s (a slow grouping function or a "
                    "busy machine): %s", counted(given_up + busy, "log"), waited,
                    "; ".join(fates))
        except Exception:  # never into the exit
            self.logger.debug("readme_metrics: finishing at exit failed", exc_info=True)

    def cut_at_exit(self, outcomes: Mapping[str, int]) -> None:
        """At exit, before delivery closes, the responses the server was still sending
        and the requests the app was still computing, counted by what was done with them
        (:mod:`~readme_metrics.capture.unclosed`'s outcomes): queued as far as they went,
        their bodies marked incomplete (``cut``); queued as unanswered (``unanswered``);
        not logged as the grouping function said (``skipped``); not logged, the grouping
        function not asked yet (``dropped``: counted dropped, "shutdown"). Said once, in
        those words (a warning when any was dropped); those finished meanwhile by their
        own thread (``done``) are not in it. Never raises."""
        try:
            dropped = outcomes.get(unclosed.DROPPED, 0)
            if dropped:
                self.delivery.count_dropped_at_exit(dropped)
            parts = [f"{count} {what}" for count, what in (
                (outcomes.get(unclosed.CUT, 0),
                 "logged as far as it went, marked incomplete"),
                (outcomes.get(unclosed.UNANSWERED, 0),
                 "logged as unanswered (the app was still computing it)"),
                (outcomes.get(unclosed.SKIPPED, 0),
                 "not logged (the grouping function returned None)"),
                (dropped, "not delivered (the grouping function not asked yet: "
                          "counted in dropped_shutdown)")) if count]
            if not parts:
                return
            total = sum(count for outcome, count in outcomes.items()
                        if outcome != unclosed.DONE)
            self.logger.log(
                logging.WARNING if dropped else logging.INFO,
                "readme_metrics: exiting with %s unfinished (still being sent, or the app "
                "still computing it): %s", counted(total, "request"), "; ".join(parts))
        except Exception:  # never into the exit
            pass

    # -- worker side -------------------------------------------------------------------

    def build_log(self, item: PendingExchange) -> dict[str, Any]:
        """Turn a queued item into the log object of SPEC section 4 (HAR + redaction)."""
        return _build(self.config, self.redactor, self.forwarded_hint, item)

    # -- lifecycle ---------------------------------------------------------------------

    def held_by(self, hand_over: Callable[[Optional[float]], None]) -> None:
        """Register a holder's bound ``hand_over(timeout)`` (see ``_holders``), weakly;
        the holders collected since are forgotten (their refs would pile up on a
        pipeline that outlives them)."""
        with self._holders_lock:  # (two at once each dropped the other's)
            holders = [ref for ref in self._holders if ref() is not None]
            holders.append(weakref.WeakMethod(hand_over))
            self._holders = holders

    def _take_held(self, timeout: Optional[float]) -> None:
        for ref in self._holders:
            hand_over = ref()
            if hand_over is not None:
                hand_over(timeout)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued now; True when all of it was delivered. Within
        ``timeout`` (shutdown_timeout by default) in all: the holders' hand-over and the
        wait for a finish another thread is in come out of it (a flush(0.5) took up to
        1 s, a flush() shutdown_timeout + :data:`FINISH_WAIT`). False while a finish
        begun before the call is still under way: its log is in no queue yet."""
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, numbers.Real)):
            # Said plainly: flush("1") raised "unsupported operand type(s) for -: 'str'
            # and 'float'" from deep inside.
            raise TypeError(f"flush(timeout): timeout is a number of seconds or None, "
                            f"not {type(timeout).__name__} {timeout!r}")
        limit = self.config.shutdown_timeout if timeout is None else timeout
        started = time.monotonic()
        if self._holders:
            self._take_held(max(0.0, limit))
        self.run_handed_over(min(max(0.0, limit - (time.monotonic() - started)),
                                 FINISH_WAIT))
        # NaN stays NaN (no wait, as Delivery.flush reads it); inf stays inf.
        delivered = self.delivery.flush(limit - (time.monotonic() - started))
        # A log handed over before this call that another thread is still finishing
        # (its grouping function slow, or the thread not scheduled on a loaded machine)
        # is in no queue: not delivered. Before, the flush said True without it (flake28).
        return delivered and not self.handed.others_finishing(began_before=started)

    def close(self) -> None:
        """Flush (within shutdown_timeout, counted from this call: the wait for a
        finish another thread is in comes out of it) and stop the worker. Idempotent."""
        if self.begin_close(time.monotonic()):
            self.finish_close()

    def begin_close(self, began: float) -> bool:
        """The first half of :meth:`close`, its bound counted from ``began`` (a
        ``time.monotonic()`` reading): queue what is held and start draining; False if
        already closed. Several pipelines closed together (Flask's extension over several
        apps) each begin, then each finish: they drain at once, within one bound."""
        self._take_held(0)  # queued for the close's flush; no wait for a send under way
        left = self.config.shutdown_timeout - (time.monotonic() - began)
        self.run_handed_over(min(FINISH_WAIT, max(0.0, left)))
        try:
            return self.delivery.begin_exit(began)
        except Exception:
            return False

    def finish_close(self) -> None:
        """The second half of :meth:`close`: wait for the drain until its deadline."""
        try:
            self.delivery.finish_exit()
        except Exception:
            pass

    @property
    def stats(self) -> dict[str, int]:
        """Delivery counters: captured, skipped, queued, sent, dropped, failed_batches, ..."""
        self.run_handed_over(FINISH_WAIT)
        return dict(self.delivery.stats)


def _build(config: MetricsApiConfig, redactor: Redactor, hint: ForwardedHint,
           item: PendingExchange) -> dict[str, Any]:
    # The options are read at each build, as before: official-package code may set them
    # on the config after the middleware is made (config.IS_DEVELOPMENT_MODE = True).
    kind = item.__class__
    exchange = item.to_exchange()
    if hint.left > 0:  # the first logs only
        hint.look(exchange, config.trusted_proxies)
    log = build_log(exchange, development=config.development_mode,
                    redactor=redactor, max_body_bytes=config.max_body_bytes)
    if item.__class__ is not kind:  # made again meanwhile (capture.pending.remake): the
        return _build(config, redactor, hint, item)  # record it became, whole
    return log


def _released(delivery: Delivery) -> None:
    """The pipeline's finalizer: its delivery sends what it queued and ends. In inline
    mode that needs a thread: the library's own for responses dropped unclosed (started
    with an inline pipeline, and again at a forked child's first log), else (none could
    start) the exit hook's: the delivery is held till then."""
    if delivery.release():
        unclosed.call_soon(delivery.drain_released)
