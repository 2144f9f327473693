"""The exit hook of :mod:`readme_metrics.capture.unclosed` (moved out of it: house56),
run before delivery closes: a bounded wait for unclosed's thread to do what it was woken
for, one garbage collection while a response is still open (one in a reference cycle is
finalized only by it), then the cut of what is still in flight (the responses the server
still holds, the requests the app is still computing:
:func:`~readme_metrics.capture.exit_cut.cut`), and each woken pipeline's own finish. Also
that cut at an ASGI server's lifespan shutdown (:func:`cut_at_shutdown`). It asks
unclosed's public questions of its registers, which stay there (the request path writes
them), importing it in each function: unclosed imports this module, and either may be
imported first. No code
of the app's runs here, and nothing raises into the exit.
"""

from __future__ import annotations

import gc
import time

from readme_metrics.capture.exit_cut import cut
from readme_metrics.delivery import process

__all__ = ["EXIT_WAIT", "at_exit", "cut_at_shutdown", "cut_now"]

#: Longest the exit waits for one piece of work the thread is doing (a finish queues one
#: log, unless the grouping function it calls is slow), from when it began.
EXIT_WAIT = 0.5


def at_exit() -> None:
    """Before delivery closes at exit: wait (at most half of the shortest
    ``shutdown_timeout``, and :data:`EXIT_WAIT` for a piece of work under way: see
    :func:`_wait_until`) for the thread to do the wakes it was given, so that those logs
    are still queued. It does them, not this thread: a finish may call the
    grouping function, which must not hold the exit. Then each woken pipeline's
    :meth:`~readme_metrics.pipeline.MetricsPipeline.finish_at_exit` runs here what the
    thread has not taken and calls no code of the app's (a busy machine may not have
    scheduled the thread in time: the log was lost without a word), and counts the rest
    dropped with one warning.
    (A dropped app's drain, :func:`~readme_metrics.capture.unclosed.call_soon`, is not
    waited for here: the exit hook takes it over.)"""
    from readme_metrics.capture import unclosed

    if not unclosed.ours():
        # No thread here (none was needed): only the requests in the app's call (the
        # responses in flight, a parent's copy if any, are not this process's).
        if unclosed.any_held(in_flight=False):
            cut_now(in_flight=False)
        return
    # Half of the shortest shutdown_timeout at most: the exit flush, which counts from the
    # exit's start (process.close_all), keeps the other half.
    budget = process.exit_budget()
    began = time.monotonic()
    # (inf: no delivery left to queue to; a user's "as long as it takes" is not taken up)
    cap = began + (budget / 2 if budget != float("inf") else EXIT_WAIT)
    if unclosed.any_open() and budget > 0:
        # A response still open may sit in a reference cycle, finalized (its log handed
        # over, the thread woken) only by the cyclic GC, which would otherwise first run
        # at the interpreter's shutdown, after delivery closed: the log was lost. One full
        # collection now queues those logs. Its cost (milliseconds; about a second for a
        # heap of tens of millions of objects) cannot be interrupted nor bounded, so it
        # runs only when some response is open (none with shutdown_timeout=0), and the wait
        # below counts from before it.
        gc.collect()
    while unclosed.waking() and time.monotonic() < _wait_until(began, cap):
        time.sleep(0.005)
    waited = time.monotonic() - began
    if unclosed.any_held():
        cut_now()
    for pipeline in unclosed.woken():  # (a snapshot: no finalizer can add meanwhile)
        try:
            pipeline.finish_at_exit(waited)
        except Exception:  # noqa: BLE001 - a stand-in without it (tests); never raises
            pass


def cut_at_shutdown(calls: bool = True) -> None:
    """At an ASGI server's lifespan shutdown (Django's, :mod:`readme_metrics.django_asgi`):
    what :func:`at_exit` cuts, now. The server closed every connection before it (ASGI),
    so no answer still in flight reaches its client; uvicorn then ends by SIGTERM with no
    exit hook, and a stream it cancelled at its graceful timeout (Django's handler leaves
    its response task running) was lost without a line (blackbox11). ``calls``: the
    requests in the app's call too, also without this process's thread (as
    :func:`at_exit`): Django's async chain, whose task the cancelled handler left
    running, never resumed under uvicorn (delivery54); a server whose exit runs its hooks
    (hypercorn) cancels such a task first, logged then. Never raises."""
    from readme_metrics.capture import unclosed

    ours = unclosed.ours()
    if unclosed.any_held(in_flight=ours, calls=calls):
        cut_now(in_flight=ours, calls=calls)


def cut_now(in_flight: bool = True, calls: bool = True) -> None:
    """At exit, the responses still in flight (the server still holds them: neither
    closed, nor read to their end in background mode, nor dropped) and the requests the
    app is still computing: each log queued as far as it went, or counted
    (:func:`~readme_metrics.capture.exit_cut.cut`)."""
    from readme_metrics.capture import unclosed

    # The requests in the app's call first, then the responses in flight (each list one
    # C call: no finalizer can change it meanwhile): a request leaves the first only once
    # its response is in the second (or its log queued), so one that returns meanwhile is
    # in one of the two snapshots (in both, the second finds it DONE). The other way
    # round, one returning between them was in neither: lost, uncounted.
    held, refs = unclosed.held(in_flight, calls)
    cut(held, refs)


def _wait_until(began: float, cap: float) -> float:
    """How long the exit (which began at ``began``) waits for the thread: a piece of
    work under way (a grouping function may be slow, or never return) gets
    :data:`EXIT_WAIT` from the later of its start and the exit's; work not begun yet
    waits for the machine to schedule the thread (the exit's own gc.collect() holds the
    GIL meanwhile; so does a starved CPU), up to ``cap``, half of shutdown_timeout."""
    from readme_metrics.capture import unclosed

    busy_since = unclosed.busy_since()
    if busy_since is None:
        return cap
    return min(cap, max(began, busy_since) + EXIT_WAIT)
