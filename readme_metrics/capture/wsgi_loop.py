"""A WSGI middleware that its own app calls: ``app.wsgi_app = MetricsMiddleware(app, config)``.

README's Troubleshooting says to wrap a Flask app's ``wsgi_app``; written with the app in
place of ``app.wsgi_app``, the middleware calls Flask, which calls its ``wsgi_app``, the
middleware, and so on until RecursionError. Each of those nested calls logged its
exchange as a 500: one request sent about 250 logs to ReadMe, and nothing said why
(newcomer26). Such a call is now logged by none of them, and one error says what to write.
The loop is known by the middleware's own calls nested in the RecursionError, however it
is reached: ``app.wsgi_app = ProxyFix(MetricsMiddleware(app, config))`` (another layer
between) still sent 164 logs a request, unsaid, when only ``app.wsgi_app is middleware``
was looked at (review115). An app's own recursion (a view's) is logged as its 500.
Only the failing request's path runs this: nothing is added to a request that succeeds.
"""

from __future__ import annotations

import logging
import sys
from types import CodeType, FrameType
from typing import Any

from readme_metrics._logging import QuietLogger
from readme_metrics.frames import frames

__all__ = ["calls_itself"]

_SAID = "_readme_metrics_said_loop"  # set on a middleware once it said so

#: The calls of one middleware nested in a RecursionError that make it the loop: one
#: is the app's own recursion; two, an app's sub-request through its whole stack (the
#: loop has one per turn, a hundred and more before the stack runs out).
LOOP_CALLS = 3

_LOOP = (
    "readme_metrics: {0}(app, config) is the wsgi_app of the app it wraps (written "
    "app.wsgi_app = {0}(app, config){1}): the app calls it and it calls the app, without "
    "end, so every request fails with a RecursionError, and none is logged; wrap the "
    "app's own wsgi_app: app.wsgi_app = {0}(app.wsgi_app, config) (for Flask, "
    "ReadMeMetrics(config, app) does it)")


def _is_call(frame: FrameType, middleware: Any, code: CodeType) -> bool:
    # Only the middleware's own calls' locals are read: before Python 3.13 reading a
    # running frame's leaves a snapshot of them on it, which kept what a caller (any
    # ``__call__`` up the stack) let go of alive as long as it ran (delivery52).
    return frame.f_code is code and frame.f_locals.get("self") is middleware


def _nested(middleware: Any, error: BaseException) -> tuple[int, int]:
    """The frames of ``middleware.__call__`` in the traceback of ``error`` (from the
    one that caught it down: 1 at least) and above it (its callers), each counted up to
    :data:`LOOP_CALLS` (above: to what the loop needs more, 1 at least)."""
    code = sys._getframe(2).f_code  # (_nested < calls_itself < __call__): its code
    below, traceback = 0, error.__traceback__
    while traceback is not None and below < LOOP_CALLS:
        below += _is_call(traceback.tb_frame, middleware, code)
        traceback = traceback.tb_next
    above, most = 0, max(1, LOOP_CALLS - below)
    for frame in frames(sys._getframe(3)):
        if above >= most:
            break
        above += _is_call(frame, middleware, code)
    return above, below


def calls_itself(middleware: Any, error: BaseException) -> bool:
    """True for a RecursionError of an app that calls ``middleware`` again, without end
    (its ``wsgi_app`` is ``middleware``, or leads back to it): its call is then logged
    by no layer. Said once, by the outermost call: the innermost, where the error is
    raised, has no stack left to log with."""
    if error.__class__ is not RecursionError:
        return False
    above, below = _nested(middleware, error)
    if above + below < LOOP_CALLS:
        return False
    if not getattr(middleware, _SAID, False) and above == 0:
        setattr(middleware, _SAID, True)
        config = getattr(middleware, "config", None)
        logger = getattr(config, "logger", None) or logging.getLogger("readme_metrics")
        direct = getattr(getattr(middleware, "app", None), "wsgi_app", None) is middleware
        QuietLogger(logger).error(_LOOP.format(
            type(middleware).__name__, "" if direct else
            ", or around it, as app.wsgi_app = SomeMiddleware("
            f"{type(middleware).__name__}(app, config))"))
    return True
