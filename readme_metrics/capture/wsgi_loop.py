"""A WSGI middleware that its own app calls: ``app.wsgi_app = MetricsMiddleware(app, config)``.

README's Troubleshooting says to wrap a Flask app's ``wsgi_app``; written with the app in
place of ``app.wsgi_app``, the middleware calls Flask, which calls its ``wsgi_app``, the
middleware, and so on until RecursionError. Each of those nested calls logged its
exchange as a 500: one request sent about 250 logs to ReadMe, and nothing said why
(newcomer26). Such a call is now logged by none of them, and one error says what to write.
Only the failing request's path runs this: nothing is added to a request that succeeds.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from readme_metrics._logging import QuietLogger

__all__ = ["calls_itself"]

_SAID = "_readme_metrics_said_loop"  # set on a middleware once it said so

_LOOP = (
    "readme_metrics: {0}(app, config) is the wsgi_app of the app it wraps (written "
    "app.wsgi_app = {0}(app, config)): the app calls it and it calls the app, without "
    "end, so every request fails with a RecursionError, and none is logged; wrap the "
    "app's own wsgi_app: app.wsgi_app = {0}(app.wsgi_app, config) (for Flask, "
    "ReadMeMetrics(config, app) does it)")


def _outermost(middleware: Any) -> bool:
    """True when no call of ``middleware`` is under way above the caller's caller."""
    frame = sys._getframe(3)  # _outermost < calls_itself < the middleware's __call__ <
    while frame is not None:
        if frame.f_code.co_name == "__call__" and frame.f_locals.get("self") is middleware:
            return False
        frame = frame.f_back  # type: ignore[assignment] # None ends the loop
    return True


def calls_itself(middleware: Any, error: BaseException) -> bool:
    """True for a RecursionError of an app whose ``wsgi_app`` is ``middleware``: its call is
    then logged by no layer. Said once, by the outermost call: the innermost, where the
    error is raised, has no stack left to log with."""
    if error.__class__ is not RecursionError or getattr(
            getattr(middleware, "app", None), "wsgi_app", None) is not middleware:
        return False
    if not getattr(middleware, _SAID, False) and _outermost(middleware):
        setattr(middleware, _SAID, True)
        config = getattr(middleware, "config", None)
        logger = getattr(config, "logger", None) or logging.getLogger("readme_metrics")
        QuietLogger(logger).error(_LOOP.format(type(middleware).__name__))
    return True
