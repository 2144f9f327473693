"""A metrics middleware made already, given to Starlette's ``add_middleware``.

``app.add_middleware(ReadMeMetricsMiddleware(app, config=...))`` (the instance, not the
class) is a common mistake: Starlette keeps what it is given as the middleware's class
and, when it builds its middleware stack at the app's first call, calls it with the app
below it. The instance's ``__call__`` then raised Starlette's bare "TypeError:
MetricsMiddleware.__call__() missing 2 required positional arguments: 'receive' and
'send'" at every request (a 500), and uvicorn's lifespan said only "ASGI 'lifespan'
protocol appears unsupported" (newcomer36).

A middleware made around a Starlette app (FastAPI's too) looks, once, when that app
builds its stack: an instance of this library's ASGI middleware among the app's
``user_middleware`` is the error below, logged once and raised in place of Starlette's.
Starlette is not imported: the check runs only where ``starlette.applications`` is
loaded already, and reads the app's attributes (``user_middleware``, each entry's
``cls``), present in every Starlette from 0.20 on. Nothing is paid per request: the build
runs once (Starlette keeps the stack it built), and the app's own ``build_middleware_stack``
is put back after a build that found nothing.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

__all__ = ["ADDED_MADE", "watch_added"]

#: The error: the class's name three times (README's Troubleshooting quotes it).
ADDED_MADE = (
    "readme_metrics: app.add_middleware() was given a {0} already made "
    "(app.add_middleware({0}(app, ...))), which Starlette calls as a class with the app "
    "below it: give it the class and its options, "
    "app.add_middleware({0}, config=MetricsApiConfig(...)); or wrap the whole app "
    "instead, app = {0}(app, config), and serve that one")


def _made_in(app: Any) -> Optional[Any]:
    """The first middleware of this library's ASGI capture in ``app.user_middleware``
    given as an instance rather than a class, or None."""
    from readme_metrics.capture.asgi import MetricsMiddleware

    for entry in list(getattr(app, "user_middleware", None) or ()):
        made = getattr(entry, "cls", None)
        if isinstance(made, MetricsMiddleware):
            return made
    return None


def watch_added(given: Any) -> None:
    """Asked by an ASGI metrics middleware made around ``app`` (on or off: an instance
    fails the same either way): when ``app`` is a Starlette app, its next middleware
    stack build looks for a middleware given made (:data:`ADDED_MADE`)."""
    app: Any = given  # (not narrowed by the isinstance below)
    try:
        found = sys.modules.get("starlette.applications")
        if found is None or not isinstance(given, getattr(found, "Starlette", ())):
            return
        if "build_middleware_stack" in vars(app):
            return  # watched already (another middleware made around it), or the app's own
        build: Callable[[], Any] = app.build_middleware_stack
    except Exception:  # noqa: BLE001 - the middleware works the same, unwatched
        return

    def checked_build() -> Any:
        try:
            made = _made_in(app)
        except Exception:  # noqa: BLE001 - Starlette's build goes on as before
            made = None
        if made is None:
            try:
                if app.__dict__.get("build_middleware_stack") is checked_build:
                    del app.build_middleware_stack  # the app's own again
            except AttributeError:  # another first build at once put it back (review138)
                pass
            return build()
        message = ADDED_MADE.format(type(made).__name__)
        if not said:  # once: Starlette builds again at each request while this fails
            said.append(True)
            try:
                made.logger.error(message)
            except Exception:  # noqa: BLE001 - the error is raised all the same
                pass
        raise TypeError(message)

    said: list[bool] = []
    try:
        app.build_middleware_stack = checked_build
    except Exception:  # noqa: BLE001 - an app that takes no attribute: unwatched
        pass
