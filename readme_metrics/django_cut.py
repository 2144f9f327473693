"""The log of a Django exchange cut short (moved out of :mod:`readme_metrics.django_exchange`:
house56): queued as it is when a signal handler's raise stops its finish before the
submit (:func:`queue_cut`), and at exit, as far as it went, for a response still open or a
request still in the middleware's call (:func:`cut_at_exit`, which unclosed's exit hook
calls). Bound as :class:`~readme_metrics.django_exchange.Capture`'s methods (``capture``
is the exchange), as :mod:`readme_metrics.capture.wsgi_cut`'s are for the WSGI one.
No code of the app's runs here, and nothing raises.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Optional

from readme_metrics.capture import unclosed
from readme_metrics.capture.pending import Pending
from readme_metrics.django_interrupted import server_answer
from readme_metrics.django_verdict import unsent_at_exit

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["cut_at_exit", "queue_cut"]


def queue_cut(capture: Capture, pending: Optional[Pending], error: BaseException) -> None:
    """The log queued as it is now (no send, no read), its grouping function having
    answered: :meth:`.Capture.finish` cut short by a raise before its submit. Never raises."""
    try:
        if server_answer(capture, error) or pending is None:
            assert capture.group is not None
            pending = capture.pending = capture.recorder.pending(capture.source, capture.group)
        capture.pipeline.submit(pending, send=False)
    except Exception:  # pragma: no cover - never into the server
        pass


def cut_at_exit(capture: Capture) -> tuple[MetricsPipeline, str]:
    """At exit (unclosed's exit hook, in the exiting thread), the response still open:
    neither closed nor finalized (a stream the server was still sending when the
    process was stopped). Its log queued as far as it went, its body marked incomplete
    unless its stream had ended, as the WSGI middleware's (``WSGICapture.finish_at_exit``):
    no code of the app's (the grouping function answered before the response), no
    read of the request body. Its pipeline, and what was done (``unclosed.CUT``, or
    ``SKIPPED`` for the grouping function's None, ``DONE`` when closed meanwhile).
    Before its response is registered (the middleware's call not returned: unclosed's
    in-call requests), :func:`_in_call_at_exit`. Never raises."""
    pipeline = capture.pipeline
    try:
        held = capture.in_flight
        if held is None:
            return pipeline, _in_call_at_exit(capture)
        if held[0].detach() is not None:  # once, as closed()
            unclosed.sent(held[1])
        recorder = capture.recorder
        if not recorder.finish():
            return pipeline, unclosed.DONE
        if capture.group is None:
            return pipeline, unclosed.SKIPPED
        unsent_at_exit(capture)  # (the view's answer, still to go out: never went)
        capture.request_body(read=False)
        recorder.queue_cut_at_exit(pipeline, capture.source, capture.group,
                                   not capture.streaming or capture.stream_ended)
    except Exception:
        pipeline.logger.exception("readme_metrics: could not record a request")
    return pipeline, unclosed.CUT


def _in_call_at_exit(capture: Capture) -> str:
    """At exit, the middleware's call not returned (unclosed's in-call requests): the
    view still computing, or the grouping function, or the log about to be queued.
    ``DROPPED`` before the grouping function answered (it is the app's code: not
    asked here), ``SKIPPED`` for its None (the middleware's thread counts it),
    else logged as unanswered, as the WSGI middleware's: the answer never reached
    the server. ``DONE`` when its own thread queued it meanwhile."""
    if not capture.asked:
        return unclosed.DROPPED if capture.recorder.finish() else unclosed.DONE
    if capture.group is None:
        return unclosed.SKIPPED
    recorder = capture.recorder
    if not recorder.finish():
        return unclosed.DONE
    capture.request_body(read=False)
    # Marked on the record, once made: the middleware's thread may be recording
    # the response meanwhile (capture.respond).
    pending = Pending(recorder, capture.source, capture.group, perf_counter())
    pending.unanswered("exited while the app was still computing its answer")
    capture.pipeline.submit(pending, False)
    return unclosed.UNANSWERED
