"""Flask extension: the shared WSGI capture, with Flask's ``request`` for grouping.

The capture is exactly :class:`readme_metrics.MetricsMiddleware` wrapped
around ``app.wsgi_app`` (same HAR, redaction and delivery, streaming passed through
chunk by chunk). The only Flask-specific part is what the grouping function receives:
Flask calls ``start_response`` from inside its request context, and that is where the
middleware identifies the caller, so the function gets Flask's real ``request`` and
``flask.g``, ``flask_login.current_user`` and the like work as in a view. A body the
view left untouched, or read past ``get_data()``'s cache (``request.stream``, the form),
is read there from the middleware's copy (as far as it has arrived, never by a read that
waits for the client), and handed back as the view left it afterwards.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics._logging import LogLimiter, QuietLogger
from readme_metrics.app_shape import is_asgi_app
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi import MetricsMiddleware
from readme_metrics.capture.wsgi_input import InputTee
from readme_metrics.capture.wsgi_replay import replay_input
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import zero_stats
from readme_metrics.middleware_arguments import NO_CONFIG, checked_config, no_options_given
from readme_metrics.unwrapped import flask_app_wrapped, recorded_outside
from readme_metrics.wsgi_types import WSGIEnvironment

if TYPE_CHECKING:
    from flask import Flask
else:  # bound for typing.get_type_hints (Litestar's app discovery calls it) without
    Flask = Any  # importing Flask, which the adapter's module leaves to the app

__all__ = ["FlaskMetricsMiddleware", "ReadMeMetrics"]

_EXTENSION_KEY = "readme_metrics"
# werkzeug's request attributes that read or cache the body (cached_property values in
# the instance's __dict__, and get_data()'s and get_json()'s caches).
_BODY_STATE = ("stream", "form", "files", "values", "data", "_cached_data", "_cached_json")
_LENT = "_readme_metrics_lent_stream"  # marks a request whose stream is the copy
# The bodies werkzeug parses into request.form, reading the whole stream.
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# The never-given-an-app warning: once per logger and app, however many extensions were
# made without one (a module imported twice, as __main__ and by its name; one per test).
_UNWRAPPED_SAID = LogLimiter(logging.getLogger("readme_metrics"), interval=None)


class FlaskMetricsMiddleware(MetricsMiddleware):
    """The WSGI middleware, handing the grouping function Flask's current request."""

    def grouping_request(self, environ: WSGIEnvironment, body: Optional[InputTee]) -> Any:
        """Flask's ``request`` inside the request context; a webob.Request outside it.

        Outside happens only when the app raised out of Flask (PROPAGATE_EXCEPTIONS)
        before starting a response: the context is gone by the time the log is closed.
        """
        from flask import has_request_context, request

        if has_request_context():
            # The object itself, not the proxy: it stays usable if the function keeps it.
            current = request._get_current_object()  # type: ignore[attr-defined]
            state = current.__dict__
            if body is not None and not state.get("_cached_data"):
                # The view left the body untouched, or read it past get_data()'s cache
                # (request.stream, request.form, get_data(cache=False)), or its cache is
                # the b"" left by a form parsed first (request.data, get_data(
                # parse_form_data=True)): werkzeug's own stream would give the function
                # b"" (or the rest, waiting for the client). It reads the copy, which
                # never waits for the client; what the view parsed (its form) stays.
                saved = {name: state[name] for name in _BODY_STATE if name in state}
                state.pop("_cached_data", None)
                copy = dict(environ)
                replay_input(body, copy, environ)
                state["stream"] = copy["wsgi.input"]
                state[_LENT] = saved
            return current
        return super().grouping_request(environ, body)

    def given_copy(self, request: Any, body: Optional[InputTee]) -> Optional[BodyRecord]:
        """None when the function reads the body the view cached whole (not the copy), or
        the form the view parsed from the whole body (request.form: review96)."""
        state = getattr(request, "__dict__", {})
        lent = state.get(_LENT)
        if lent is None:
            if state.get("_cached_data"):
                return None
        elif "form" in lent and getattr(request, "mimetype", None) in _FORM_TYPES:
            return None
        return super().given_copy(request, body)

    def grouped(self, request: Any) -> None:
        """The body lent to the grouping function is the view's own again, as the view
        left it (a streamed answer may read it on, as without the middleware)."""
        state = getattr(request, "__dict__", {})
        saved = state.pop(_LENT, None)
        if saved is not None:
            for name in _BODY_STATE:
                state.pop(name, None)
            state.update(saved)


class _OptionsSaid:
    """``ReadMeMetrics(config, api_key=...)``, ``ReadMeMetrics(grouping_function=...)``:
    options given to the extension are said to be MetricsApiConfig's, as the middlewares
    say (``PipelineControls.__new__``); Python's "got an unexpected keyword argument
    'api_key'" was all the extension said (newcomer29). In a base, as there: the
    extension's own ``__init__`` stays its signature for inspect and help(). Only keywords
    ``__init__`` refuses: a subclass whose ``__init__`` takes api_key=... is made as before."""

    if not TYPE_CHECKING:
        def __new__(cls, *args: Any, **arguments: Any) -> Any:
            if arguments:
                try:
                    inspect.signature(cls.__init__).bind(None, *args, **arguments)
                except TypeError:
                    no_options_given(cls.__name__, arguments, "(config, app)")
                except ValueError:  # no signature to read: left to __init__
                    pass
            return super().__new__(cls)


def _not_a_flask_app(app: Any, call: str) -> Optional[str]:
    """Why ``app``, given to ``call`` (``ReadMeMetrics(config, app)`` or
    ``metrics.init_app(app)``), is no Flask app, or None. ``ReadMeMetrics(config,
    app.wsgi_app)``, the WSGI middleware's way written for the extension, said only
    "'function' object has no attribute 'extensions'" (newcomer37); the class, another
    framework's app or a plain WSGI callable said the same of itself. A Flask app is told
    by what the extension uses, ``extensions`` (a dict) and ``wsgi_app``, not by its class:
    nothing is imported."""
    if isinstance(getattr(app, "extensions", None), dict) and hasattr(app, "wsgi_app"):
        return None
    prefix = f"readme_metrics: {call}"
    owner = getattr(app, "__self__", None)
    if isinstance(getattr(owner, "extensions", None), dict) and (
            getattr(app, "__name__", None) == "wsgi_app"):
        return (f"{prefix}: app is app.wsgi_app, not the Flask app: give the app itself, "
                "ReadMeMetrics(config, app) or metrics.init_app(app), which wraps its "
                "wsgi_app (or wrap it yourself: app.wsgi_app = MetricsMiddleware("
                "app.wsgi_app, config))")
    if isinstance(app, type):
        return (f"{prefix}: app is the class {app.__module__}.{app.__qualname__}, not an "
                f"app: make the app (app = Flask(__name__)) and give that")
    if isinstance(app, MetricsMiddleware):
        return (f"{prefix}: app is a {type(app).__name__}, which already wraps an app: "
                "give the Flask app itself, unwrapped")
    if is_asgi_app(app):
        return (f"{prefix}: app is an ASGI app ({type(app).__name__}), and ReadMeMetrics "
                "is Flask's extension: app.add_middleware(ReadMeMetricsMiddleware, "
                "config=...) for FastAPI and Starlette (readme_metrics.fastapi), "
                "readme_metrics.asgi.MetricsMiddleware(app, config) for another ASGI app")
    name = app.__name__ if inspect.isfunction(app) or inspect.ismethod(app) else (
        type(app).__name__)
    return (f"{prefix}: app is {name}, not a Flask app, and ReadMeMetrics is Flask's "
            "extension: wrap any other WSGI app with readme_metrics.MetricsMiddleware("
            "app, config)")


class ReadMeMetrics(_OptionsSaid):
    """Log every call to a Flask app to ReadMe's Metrics API (a Flask extension).

    .. code-block:: python

        from readme_metrics import MetricsApiConfig
        from readme_metrics.flask_readme import ReadMeMetrics

        metrics = ReadMeMetrics(MetricsApiConfig(
            grouping_function=lambda request: (
                {"api_key": request.headers["X-Api-Key"]}
                if "X-Api-Key" in request.headers else None),
        ))  # your ReadMe API key from README_API_KEY (or api_key="...")
        metrics.init_app(app)  # or ReadMeMetrics(config, app)

    The grouping function receives Flask's ``request``.

    The extension holds the apps it wraps weakly: with one extension for the module and
    ``init_app`` in an app factory called once per test, an app that is dropped goes
    (its logs are still delivered, and its sender thread ends), as an app wrapped by a
    ``MetricsMiddleware`` of its own does.
    """

    # ``config`` defaults to the middlewares' sentinel, refused by checked_config: a bare
    # ReadMeMetrics(), as Flask-SQLAlchemy's SQLAlchemy() is made, got Python's "missing 1
    # required positional argument" and no word of MetricsApiConfig() (newcomer29).
    def __init__(self, config: MetricsApiConfig = NO_CONFIG,
                 app: Optional[Flask] = None) -> None:
        # Every attribute is set here, whatever the path (an app given or not, enabled
        # or not): `_ready` was read with getattr(self, "_ready", True) and `_watching`
        # existed only while watching (suite39).
        self._ready = False  # (False while __init__ runs: init_app's refusal names it)
        self._given = False  # (init_app wrapped an app)
        self._watching = False  # (the unwrapped-app receiver is connected, not yet said)
        self._watch_lock = threading.Lock()  # (one request's receiver says it)
        self.config = checked_config("ReadMeMetrics", app, config, "(config, app)")
        # Weak: each app holds its middleware (app.wsgi_app, app.extensions); a strong
        # list here kept every app a factory ever made alive, each with its sender.
        self._middlewares: list[weakref.ref[FlaskMetricsMiddleware]] = []
        if app is not None:
            self.init_app(app)
        elif getattr(config, "enabled", True):
            self._watch_for_an_unwrapped_app()
        self._ready = True

    def _watch_for_an_unwrapped_app(self) -> None:
        """Until an app is given: the first request of a Flask app it does not wrap says
        that ``init_app`` was never called (README's ``metrics.init_app(app)`` left out of
        ``create_app`` served every request unlogged, without a word). Flask's
        ``request_started`` signal, connected weakly (a dropped extension is forgotten);
        without blinker (Flask before 2.3 may lack it) nothing is said."""
        try:
            from flask.signals import request_started

            request_started.connect(self._request_started, weak=True)
            self._watching = True
        except Exception:  # no signals: the extension works the same, unwatched
            pass

    def _request_started(self, sender: Any, **extra: Any) -> None:
        """The receiver: says it once, then disconnects. Never raises into the request."""
        try:
            from flask.signals import request_started

            request_started.disconnect(self._request_started)
            with self._watch_lock:
                watching, self._watching = self._watching, False
            if not watching:
                return  # another thread's request said it
            if (self._given or _EXTENSION_KEY in getattr(sender, "extensions", {})
                    or flask_app_wrapped(getattr(sender, "wsgi_app", None))
                    or recorded_outside()):
                return  # given an app since, the app another extension's or a middleware's
                # (in its wsgi_app, or around it: every request is logged)
            name = getattr(sender, "name", "?")
            if not _UNWRAPPED_SAID.due(f"{self.config.logger.name}\n{name}"):
                return
            QuietLogger(self.config.logger, secrets=(self.config.api_key,)).warning(
                "readme_metrics: the Flask app %r served a request, and a ReadMeMetrics "
                "made in this process was never given an app, so no request is logged: "
                "call metrics.init_app(app) where the app is made (in create_app), or "
                "make it as ReadMeMetrics(config, app)", name)
        except Exception:  # the app's own request goes on, whatever this did
            pass

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app`` (once per app; calling it again is a no-op).

        With ``enabled`` false in the configuration the app is left untouched.
        """
        refusal = _not_a_flask_app(app, "metrics.init_app(app)" if self._ready else
                                   "ReadMeMetrics(config, app)")
        if refusal is not None:
            raise TypeError(refusal)
        if _EXTENSION_KEY in app.extensions or not getattr(self.config, "enabled", True):
            return
        middleware = FlaskMetricsMiddleware(app.wsgi_app, self.config)
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions[_EXTENSION_KEY] = middleware
        self._given = True
        self._middlewares = [ref for ref in self._middlewares if ref() is not None]
        self._middlewares.append(weakref.ref(middleware))

    @property
    def middlewares(self) -> list[FlaskMetricsMiddleware]:
        """The middlewares of the apps this extension wraps that are still in use,
        oldest first."""
        return [middleware for middleware in (ref() for ref in self._middlewares)
                if middleware is not None]

    @property
    def middleware(self) -> Optional[FlaskMetricsMiddleware]:
        """The middleware of the (last) app this extension was initialised with, while
        that app is in use."""
        middlewares = self.middlewares
        return middlewares[-1] if middlewares else None

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send every queued log now; True when all of them were delivered. Within
        ``timeout`` (shutdown_timeout by default) for all the apps together, not for
        each in turn (N apps took up to N times the timeout)."""
        limit = self.config.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        # NaN stays NaN (no wait, as Delivery.flush reads it); inf stays inf.
        return all([middleware.flush(limit if limit != limit else
                                     max(0.0, deadline - time.monotonic()))
                    for middleware in self.middlewares])

    def close(self) -> None:
        """Flush within shutdown_timeout and stop the delivery worker(s): all the apps'
        at once, within one shutdown_timeout (in turn, N apps took N times it)."""
        began = time.monotonic()
        pipelines = [middleware.pipeline for middleware in self.middlewares
                     if middleware.pipeline is not None]
        for pipeline in [pipeline for pipeline in pipelines if pipeline.begin_close(began)]:
            pipeline.finish_close()

    @property
    def stats(self) -> dict[str, int]:
        """Delivery counters summed over the apps this extension wraps that are still in
        use (all 0 if none): a dropped app's counters go with it."""
        total = zero_stats()
        for middleware in self.middlewares:
            for name, value in middleware.stats.items():
                total[name] = total.get(name, 0) + value
        return total

