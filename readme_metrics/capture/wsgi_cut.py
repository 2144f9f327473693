"""A WSGI exchange (:class:`~readme_metrics.capture.wsgi_exchange.WSGICapture`) cut short
before its log was queued the usual way: at the process's exit, its response still in
flight or the app still computing it (unclosed's exit hook, in the exiting thread), or by
a signal handler's raise in its ``finish_log`` (SystemExit, KeyboardInterrupt in the
main thread). Each queues the log as far as the exchange went, or counts it, and calls
no code of the app's: the grouping function is asked only by the request's own thread.

Off the request path: :func:`finish_at_exit` and :func:`cut_at_exit` are the exchange's
methods of those names (bound as they are, no call added), :func:`queue_interrupted`
runs only in ``finish_log``'s handler of a raise that is no Exception.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Optional

from readme_metrics.capture import unclosed
from readme_metrics.capture.pending import Pending
from readme_metrics.capture.wsgi_grouping import UNKNOWN
from readme_metrics.delivery.interrupted import said_dropped

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["cut_at_exit", "finish_at_exit", "queue_interrupted"]


def queue_interrupted(capture: WSGICapture, pending: Optional[Pending],
                      error: BaseException) -> None:
    """``finish_log`` cut short by ``error`` before its submit began: the log as it is
    now (the request body as far as it came), or, with no answer of the grouping function
    yet (``error`` landed in it), counted dropped and said."""
    try:
        if pending is None:
            group = capture.group
            if group is UNKNOWN:
                said_dropped(capture.pipeline, error)
                return
            if group is None:
                return  # (counted skipped, or about to be: not logged either way)
            pending = Pending(capture, capture.request, group, perf_counter())
        capture.pipeline.submit(pending)
    except Exception:  # pragma: no cover - never into the server
        pass


def finish_at_exit(capture: WSGICapture, ended: bool) -> str:
    """At exit, with the response not closed (the server holds it: a stream in flight
    when the process is stopped, or a server that never closes its last response): queue
    the log of what was recorded by then, its body marked incomplete unless ``ended``
    (the iteration reached its end): ``unclosed.CUT``. Calls no code of the app's (the
    grouping function answered when the response started) and reads nothing more (the
    request body as far as the app read it): bounded, for the exit's thread. ``DROPPED``
    when the grouping function had not answered (the response had not started): not
    logged, for the caller to count; ``SKIPPED`` when it answered None (counted skipped,
    as it would have been); ``DONE`` when its own thread finished it meanwhile. Never
    raises."""
    if not capture.finish():  # once: the server's thread may still end it meanwhile
        return unclosed.DONE
    group = capture.group
    if group is UNKNOWN:
        return unclosed.DROPPED
    try:
        if group is None:
            capture.pipeline.skip()
            return unclosed.SKIPPED
        capture.queue_cut_at_exit(capture.pipeline, capture.request, group, ended)
    except Exception:
        capture.pipeline.logger.exception("readme_metrics: could not record a request")
    return unclosed.CUT


def cut_at_exit(capture: WSGICapture) -> tuple[MetricsPipeline, str]:
    """At exit (unclosed's exit hook, in the exiting thread), the app still computing
    this request (its call has not returned: :func:`unclosed.calling`). Nothing of its
    answer reached the client, who gets the connection closed as the process ends,
    unless it wrote some already (the legacy ``write()``): logged as far as it went
    then, else as unanswered (a 500 with a comment, as ``no_answer``) when the grouping
    function has answered (it did at ``start_response``). Before that it is not asked
    (it may block, and is the app's code): counted dropped. Its pipeline and the
    outcome. Never raises."""
    pipeline = capture.pipeline
    if capture.sent:
        return pipeline, finish_at_exit(capture, False)
    if not capture.finish():
        return pipeline, unclosed.DONE
    group = capture.group
    if group is UNKNOWN:
        return pipeline, unclosed.DROPPED
    try:
        if group is None:
            pipeline.skip()
            return pipeline, unclosed.SKIPPED
        # Marked on the record, once made: the app's thread may be finishing
        # start_response meanwhile (its status, headers and comment set again).
        pending = Pending(capture, capture.request, group, perf_counter())
        pending.unanswered("exited while the app was still computing its answer")
        pipeline.submit(pending, False)
    except Exception:
        pipeline.logger.exception("readme_metrics: could not record a request")
    return pipeline, unclosed.UNANSWERED
