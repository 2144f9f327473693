"""What a middleware was given, checked at its construction: the config (present, a
:class:`~readme_metrics.config.MetricsApiConfig`, not swapped with the app) and no option of
the config given to the middleware itself. Each mistake is a ``TypeError`` saying which
argument is wrong and what to pass, at construction rather than at every request.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Mapping

from readme_metrics._logging import LogLimiter, QuietLogger
from readme_metrics.app_shape import not_callable_hint
from readme_metrics.config import MetricsApiConfig
from readme_metrics.frames import frames
from readme_metrics.options import BY_NAME

__all__ = ["NO_CONFIG", "checked_config", "django_handler_hint", "no_options_given",
           "said_if_starlette_builds"]


#: The WSGI and ASGI middlewares' ``config`` when none was passed: Django calls a class in
#: its MIDDLEWARE setting with the next handler alone, and Python's "missing 1 required
#: positional argument: 'config'" did not say that the class for that setting is another.
class _Required:
    """The sentinel's type: shown as ``<required>`` in the middlewares' signatures
    (``help()``, ``inspect.signature``), not as an object's address."""

    def __repr__(self) -> str:
        return "<required>"


NO_CONFIG: Any = _Required()


def _from_django(app: Any) -> bool:
    """True for the handler Django gives a class of its MIDDLEWARE setting (a function of
    django.core.handlers, or asgiref's adapter of one under ASGI: not any asgiref object,
    such as WsgiToAsgi, README's way to serve a WSGI app with an ASGI server)."""
    if type(app).__module__.split(".")[0] == "asgiref":
        app = getattr(app, "awaitable", None) or getattr(app, "func", None)
    return str(getattr(app, "__module__", None)).split(".")[0] == "django"


def django_handler_hint(app: Any) -> str:
    """What to add to a refusal of the app's kind (a WSGI app given to the ASGI middleware,
    or the reverse) when the app is Django's own handler, ``get_wsgi_application()`` or
    ``get_asgi_application()``: a Django project wraps neither, its MIDDLEWARE setting
    does it. Told only which middleware takes the other kind, a newcomer wrapping
    ``asgi.py``'s application went on to a second middleware around Django's."""
    if not _from_django(app):
        return ""
    return ("; for Django's own application (get_wsgi_application(), "
            "get_asgi_application()), wrap nothing: settings.py's MIDDLEWARE.insert(0, "
            "'readme_metrics.django.MetricsMiddleware') logs every call under WSGI and "
            "ASGI (under uvicorn, asgi.py's application = "
            "with_lifespan(get_asgi_application()), from readme_metrics.django_asgi "
            "import with_lifespan)")


def no_options_given(middleware: str, arguments: Mapping[str, Any],
                     call: str = "(app, config)") -> None:
    """Raise for ``middleware(app, grouping_function=...)``: options given to the
    middleware, as Starlette's own take theirs (``app.add_middleware(CORSMiddleware,
    allow_origins=...)``), are MetricsApiConfig's. Python's own "got an unexpected
    keyword argument 'grouping_function'" said nothing of where it goes, and under
    Starlette, which makes its middleware at the first request, came as a 500 for every
    request. A name that is no option is left to the constructor, for Python's own
    words."""
    options = [name for name in arguments if name in BY_NAME]
    if not options:
        return
    given = ", ".join(f"{name}=..." for name in options)
    raise TypeError(
        f"readme_metrics: {middleware}{call}: {given} "
        f"{'is an option' if len(options) == 1 else 'are options'} of MetricsApiConfig, "
        f"not of the middleware: pass config=MetricsApiConfig({given})")


def no_app_given(middleware: str, args: tuple[Any, ...], arguments: Mapping[str, Any],
                 asgi: bool) -> None:
    """Raise for ``middleware(config=...)``, no app given: made for ``app.add_middleware(
    ReadMeMetricsMiddleware(config=...))``, where Starlette wants the class and makes it
    with the app itself; Python said only "missing 1 required positional argument:
    'app'" (newcomer36). :mod:`readme_metrics.added_made` says the same for an instance
    made with the app."""
    if args or "config" not in arguments or "app" in arguments or (
            "wsgi_app_reference" in arguments):
        return
    added = (f"app.add_middleware() takes the class and its options, "
             f"app.add_middleware({middleware}, config=MetricsApiConfig(...)), and makes "
             "it with the app; to wrap an app yourself, " if asgi else "wrap the app: ")
    raise TypeError(f"readme_metrics: {middleware}(config=...) was made with no app to "
                    f"wrap: {added}{middleware}(app, config)")


def checked_config(middleware: str, app: Any, config: Any,
                   call: str = "(app, config)") -> MetricsApiConfig:
    """``config`` of ``middleware(app, config)`` (or of the ``call`` given: Flask's
    ``ReadMeMetrics(config, app)``, whose app may come later), once both arguments are
    what they must be: a ``TypeError`` saying which is not, at construction. Unchecked,
    None, a dict of options or swapped arguments failed deep inside ("'NoneType' object
    has no attribute 'skip_methods'"), and an app that is no callable failed on every
    request instead."""
    call = f"readme_metrics: {middleware}{call}"
    if config is NO_CONFIG and isinstance(app, MetricsApiConfig):
        # middleware(config): the app is what is missing, not the config.
        raise TypeError(f"{call}: the MetricsApiConfig was given in the app's place, and "
                        "no app: the app comes first")
    if config is NO_CONFIG:
        django = ("; in Django's MIDDLEWARE setting, name "
                  "'readme_metrics.django.MetricsMiddleware' instead, which reads "
                  "settings.README_METRICS_CONFIG" if _from_django(app) else "")
        raise TypeError(f"{call}: config is missing: pass MetricsApiConfig(...) (or "
                        f"MetricsApiConfig(), which reads the README_* variables){django}")
    if isinstance(app, MetricsApiConfig) and not isinstance(config, MetricsApiConfig):
        raise TypeError(f"{call}: the arguments are swapped, the MetricsApiConfig was "
                        "given in the app's place")
    if not isinstance(config, MetricsApiConfig):
        given = "None" if config is None else type(config).__name__
        hint = (" (MetricsApiConfig(**options) makes one of a dict)"
                if isinstance(config, Mapping) else "")
        if app is None and callable(config) and call.endswith("(config, app)"):
            # ReadMeMetrics(app), as Flask-CORS and Flask-SQLAlchemy are made.
            hint = (" (the app comes second: ReadMeMetrics(MetricsApiConfig(...), app); "
                    "MetricsApiConfig() reads the README_* variables)")
        raise TypeError(f"{call}: config must be a MetricsApiConfig, got {given}{hint}")
    if not callable(app) and (app is not None or call.endswith("(app, config)")):
        raise TypeError(f"{call}: app must be the application to wrap (a callable), got "
                        f"{type(app).__name__}{not_callable_hint(app)}")
    return config


# Starlette (FastAPI too) makes the middleware given to add_middleware or middleware=[...]
# when the app is first called: under uvicorn at the lifespan's start, where uvicorn says
# only "ASGI 'lifespan' protocol appears unsupported" and drops the error, and tries again
# at every request, each then a 500 (newcomer26: the WSGI class given to add_middleware).
_BUILT_SAID = LogLimiter(QuietLogger(logging.getLogger("readme_metrics")), interval=None)
_BUILDERS = ("starlette.", "fastapi.")


def _starlette_builds() -> bool:
    """True when called under Starlette's (or FastAPI's) ``build_middleware_stack``."""
    for frame in frames(sys._getframe(1)):
        if frame.f_code.co_name == "build_middleware_stack" and str(
                frame.f_globals.get("__name__")).startswith(_BUILDERS):
            return True
    return False


def said_if_starlette_builds(message: str) -> str:
    """``message``, the construction's error, also logged at ERROR (once per message)
    when Starlette is making the middleware: the start-up then says it, not only the
    traceback of each request's 500. Raised elsewhere (a module's
    ``app = MetricsMiddleware(...)``), the error alone says it, once."""
    if _starlette_builds():
        _BUILT_SAID.log(logging.ERROR, message, "%s", message)
    return message
