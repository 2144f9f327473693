"""How a Django response's log ends: its streamed chunks recorded, the log finished once.

When the answer ends (a streamed one's iterator, sync or async), or in the response's
``close()``, or from a finalizer's hand-over when the response is dropped unclosed.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from readme_metrics.capture import unclosed
from readme_metrics.capture.wsgi_response import answers_500, holds_empty_chunks
from readme_metrics.django_abandoned import stream_cut
from readme_metrics.django_tasks import chain_task
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture

__all__ = ["async_stream", "finish_at_close", "sync_stream"]


def finish_at_close(pipeline: MetricsPipeline, capture: Capture, response: Any) -> None:
    """Finish the log in the response's close(), or, when the response is dropped
    unclosed (an outer middleware answered with a response of its own: CommonMiddleware's
    APPEND_SLASH redirect of a 404), from the thread that runs what a finalizer hands
    over (``unclosed.py``), off the request path. Counted open until one of the two
    (:func:`unclosed.opened`): one dropped in a reference cycle is finalized only by the
    cyclic GC, which the exit runs once first while any is open."""
    # Weakly in unclosed's responses in flight too, until then: one the server still
    # holds at exit is logged as far as it went (Capture.cut_at_exit).
    ref = unclosed.sending(capture)
    dropped = weakref.finalize(response, _finish_dropped, pipeline, capture, ref)
    capture.in_flight = (dropped, ref)

    def closed() -> None:
        if capture.verdict:  # (still open for the exit: the verdict finishes it)
            return
        try:
            if dropped.detach() is not None:  # not finalized meanwhile: counted off here
                unclosed.sent(ref)
            capture.finish()
        except BaseException:
            # A signal handler's raise (the main thread's close: runserver --nothreading)
            # before finish() took the log: taken now (once), then it goes on (delivery50).
            if dropped.detach() is not None:
                unclosed.sent(ref)
            capture.finish(read=False)
            raise

    response._resource_closers.append(closed)


def _finish_dropped(pipeline: MetricsPipeline, capture: Capture,
                    ref: weakref.ref[unclosed.InFlight]) -> None:
    if capture.verdict:
        # Its verdict finishes it (Capture.finish counts it off then), or the exit: the
        # view's status queued now was left as it was, the server's 500 the client got
        # unsaid (delivery75: an outer middleware's own response dropped it).
        return
    unclosed.sent(ref)
    # A finalizer only hands over (see handed_over.HandedOver). Quick: the grouping
    # function answered on the request thread, so the exit may run it.
    pipeline.hand_over(capture.finish, True)
    unclosed.wake(pipeline)


def sync_stream(capture: Capture, chunks: Iterator[bytes]) -> Iterator[bytes]:
    # A WSGI server sends the status with the first chunk it sends; Django's ASGI handler
    # sends it before the first chunk.
    unsent = not hasattr(capture.request, "scope")
    record = capture.body_recorder()
    try:
        for chunk in chunks:
            record(chunk)
            if unsent:
                unsent = not chunk and holds_empty_chunks(capture.request.META)
            yield chunk
        capture.stream_ended = True
        capture.recorder.ended = True  # the app's whole answer (see Django's _complete)
    except Exception:
        # The client gets the server's own 500 (as WSGI's Capture.fail).
        if unsent and answers_500(capture.request.META, in_call=False, wrote=False):
            capture.recorder.server_answered(500, "Internal Server Error", "the app raised")
        raise
    finally:
        # else in close(), after the end of the answer, or at the verdict's (delivery62)
        if not (capture.finish_in_close or capture.verdict):
            capture.finish()


async def async_stream(capture: Capture, chunks: AsyncIterator[bytes]
                        ) -> AsyncIterator[bytes]:
    record = capture.body_recorder()
    cut = False  # the server cancelled Django's handler: sent nowhere from then on
    task = chain_task()  # (Django's task sending it: None before Django 5.0)
    try:
        async for chunk in chunks:
            if not cut:
                cut = stream_cut(capture, task)
                if not cut:
                    record(chunk)
            yield chunk
        if not (cut or stream_cut(capture, task)):  # (its last, empty message too)
            capture.stream_ended = True
            capture.recorder.ended = True
    finally:
        if not (capture.finish_in_close or capture.verdict):  # as sync_stream
            capture.finish()
