"""An app served without the middleware its configuration was made for.

README's Flask and Django quick starts each take two steps: make the configuration, and
put the middleware on the app (``metrics.init_app(app)``; the ``MIDDLEWARE.insert(0,
"readme_metrics.django.MetricsMiddleware")`` line). Left out, the second step let the app
serve every request unlogged without a word, not even at DEBUG. Each front end asks, once,
at the first request the framework serves, whether a middleware records it; this module
holds what they share (:func:`recorded_outside`) and Django's check, which the
configuration starts (only ``settings.py`` runs this library's code in a Django project
whose ``MIDDLEWARE`` lacks the line). Flask's is the extension's own
(:meth:`readme_metrics.flask_readme.ReadMeMetrics._watch_for_an_unwrapped_app`), but for
a plain ``MetricsMiddleware(app.wsgi_app, config)`` whose result was never assigned
(written as a statement, as a Flask extension is): :func:`watch_flask`. Whether a
request comes from a test client (whose call says nothing of how the app is served) is
:mod:`readme_metrics.testing_clients`' (:func:`from_test_client`, importable here too).
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Callable

from readme_metrics._logging import QuietLogger
from readme_metrics.capture import nesting
from readme_metrics.capture.wsgi import MetricsMiddleware
from readme_metrics.frames import frames
from readme_metrics.testing_clients import from_test_client

__all__ = ["BOTTLE_MOUNTED", "BOTTLE_UNSERVED", "FLASK_SERVED_BARE", "FLASK_UNASSIGNED",
           "django_middleware_made", "flask_app_wrapped", "from_test_client",
           "recorded_outside", "watch_bottle", "watch_django", "watch_flask"]

_DISPATCH_UID = "readme_metrics.unwrapped.django"
# watching: connected; made: Django's middleware was made; looked: the first request came.
_state = {"watching": False, "made": False, "looked": False}
_lock = threading.Lock()

#: What the warning says, and README's Troubleshooting row quotes.
DJANGO_UNWRAPPED = (
    "readme_metrics: Django served a request, and settings.README_METRICS_CONFIG is set, "
    "but readme_metrics.django.MetricsMiddleware is not in settings.MIDDLEWARE, so no "
    "request is logged: add MIDDLEWARE.insert(0, "
    "\"readme_metrics.django.MetricsMiddleware\") to settings.py, after MIDDLEWARE")


def recorded_outside() -> bool:
    """Whether the request under way is recorded by a middleware around the framework's
    app, which the framework does not show: ``MetricsMiddleware(app, config)`` given to
    the server (README's way for any WSGI app; its call is on this thread's stack), or the
    ASGI middleware around the app or an ASGI-to-WSGI bridge (asgiref's WsgiToAsgi,
    Starlette's WSGIMiddleware: its recording is in this context, a copy of the task's).
    Asked once, at the first request: a walk up the stack, nothing called."""
    if nesting.recording_here():
        return True
    code = MetricsMiddleware.__call__.__code__
    for frame in frames(sys._getframe(1)):
        # (One with metrics off logs nothing: not it.)
        if frame.f_code is code and getattr(frame.f_locals.get("self"), "pipeline",
                                            None) is not None:
            return True
    return False


#: What the warning says of a Flask app served without the MetricsMiddleware made around
#: it (README's Troubleshooting row quotes it).
FLASK_UNASSIGNED = (
    "readme_metrics: the Flask app %r served a request, and the MetricsMiddleware made "
    "around it in this process does not serve it, so no request is logged: assign it, "
    "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config) (the call alone wraps nothing)")

#: What it says of a Flask app around which the middleware was made whole
#: (``application = MetricsMiddleware(app, config)``) and which the server is given
#: itself: ``flask run`` finds the Flask object, whatever the wrapped one is named
#: (newcomer22: the line above said to assign a call that was assigned).
FLASK_SERVED_BARE = (
    "readme_metrics: the Flask app %r served a request, and the MetricsMiddleware made "
    "around it in this process does not serve it, so no request is logged: the server "
    "was given the Flask app itself (flask run serves the Flask object it finds); give "
    "it the wrapped app (gunicorn module:application), or wrap inside the app, "
    "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config), which flask run serves too")


def flask_app_wrapped(layer: Any) -> bool:
    """Whether a Flask app's ``wsgi_app`` is a :class:`MetricsMiddleware` (README's plain
    WSGI way) or has one in its chain of layers keeping the next as ``.app`` (werkzeug's
    ProxyFix, this library's CORS); a few steps at most, nothing called."""
    for _ in range(8):
        if isinstance(layer, MetricsMiddleware):
            return True
        layer = getattr(layer, "app", None)
        if layer is None:
            return False
    return False


def watch_flask(app: Any, config: Any) -> None:
    """Asked by a :class:`MetricsMiddleware` (metrics on) made around ``app``: when that is
    a Flask app or its ``wsgi_app``, the first request that app serves says so if no
    middleware records it. ``MetricsMiddleware(app.wsgi_app, config)`` written as a
    statement, its result never assigned, served every request unlogged without a word
    (the middleware, dropped at once, can say nothing itself). Flask's ``request_started``
    signal, for that app only; without blinker (Flask before 2.3 may lack it) nothing is
    said. One receiver per app, whatever the number of middlewares made around it (an app
    a test suite wraps in each test), held by the app alone (:data:`_FLASK_WATCHED`):
    blinker keeps a receiver connected for a sender until it is disconnected for every
    sender, so each middleware made had left its own in Flask's process-wide signal for
    good, the app long gone or its first request served."""
    flask = sys.modules.get("flask")
    owner = getattr(app, "__self__", app)
    if flask is None or not isinstance(owner, getattr(flask, "Flask", ())):
        return
    try:
        from flask.signals import request_started
    except Exception:  # noqa: BLE001 - no signals: the middleware works the same, unwatched
        return
    once = [True]
    logger, secrets = config.logger, (config.api_key,)
    # Around the app itself (README's plain way: ``application = MetricsMiddleware(app,
    # config)`` given to the server), a request from a test client, which calls the app,
    # says nothing of how it is served: the next request looks (as Django's check does).
    whole_app = owner is app

    def first_request(sender: Any, **extra: Any) -> None:
        """Looks once, then disconnects. Never raises into the request."""
        try:
            if whole_app and from_test_client():
                return
            request_started.disconnect(first_request)  # (every sender: blinker forgets it)
            with _lock:
                if _FLASK_WATCHED.get(sender) is first_request:
                    del _FLASK_WATCHED[sender]
            if not once or not once.pop():  # (another thread's request looked)
                return
            if flask_app_wrapped(getattr(sender, "wsgi_app", None)) or recorded_outside():
                return
            QuietLogger(logger, secrets=secrets).warning(
                FLASK_SERVED_BARE if whole_app else FLASK_UNASSIGNED,
                getattr(sender, "name", "?"))
        except Exception:  # noqa: BLE001 - the app's own request goes on, whatever this did
            pass

    try:
        with _lock:
            if owner in _FLASK_WATCHED:
                return  # (watched already: its first request looks)
            _FLASK_WATCHED[owner] = first_request
        # Weak: the app holds it (above), and takes it along when it goes.
        request_started.connect(first_request, sender=owner, weak=True)
    except Exception:  # noqa: BLE001 - the middleware works the same, unwatched
        pass


#: What the warning says of a Bottle app served without the MetricsMiddleware made
#: around it: ``bottle.run(port=8000)``, Bottle's usual last line, serves
#: ``bottle.default_app()`` itself, and every request went unlogged without a word
#: (newcomer21).
BOTTLE_UNSERVED = (
    "readme_metrics: the Bottle app served a request, and the MetricsMiddleware made "
    "around it in this process does not serve it, so no request is logged: give the "
    "server the wrapped app, bottle.run(app, port=8000) with app = MetricsMiddleware(...) "
    "(bottle.run() with no app serves bottle.default_app() unwrapped), or "
    "gunicorn module:app")


#: What it says of a Bottle app mounted into another with a prefix ending in "/"
#: (``root.mount("/api/", api)``): Bottle copies its routes into the parent, which serves
#: them without the middleware made around ``api``.
BOTTLE_MOUNTED = (
    "readme_metrics: a Bottle app is mounted into another (parent.mount(\"/prefix/\", "
    "app)), and the MetricsMiddleware made around it in this process does not serve its "
    "requests, so none is logged: a prefix ending in \"/\" copies its routes into the "
    "parent, which serves them itself; wrap the parent (the app the server is given), or "
    "mount the wrapped app, parent.mount(\"/prefix/\", MetricsMiddleware(app, config))")


def watch_bottle(app: Any, config: Any) -> None:
    """Asked by a :class:`MetricsMiddleware` (metrics on) made around ``app``: when that is
    a Bottle app, its first request says so if no middleware records it (a test
    client's request says nothing of how the app is served: the next one looks). A
    ``before_request`` hook of that app, which looks once and removes itself (Bottle
    calls a copy of its list of hooks: the removal is safe during the call)."""
    bottle = sys.modules.get("bottle")
    if bottle is None or not isinstance(app, getattr(bottle, "Bottle", ())):
        return
    watched: Any = app  # a Bottle app
    once = [True]
    logger, secrets = config.logger, (config.api_key,)
    hooked = [watched]  # the apps whose before_request hooks hold first_request
    said = [BOTTLE_UNSERVED]

    def first_request() -> None:
        """Looks once, then removes itself. Never raises into the request."""
        try:
            # (A test client calls the app itself, around the middleware its server is
            # given, as Flask's does: the next request looks.)
            if from_test_client() or not once or not once.pop():
                return  # (or another thread's request looked)
            for holder in hooked:
                holder.remove_hook("before_request", first_request)
            # (A mount after this changes nothing: the app as made, review104.)
            watched.remove_hook("config", mounted)
            if not recorded_outside():
                QuietLogger(logger, secrets=secrets).warning(said[-1])
        except Exception:  # noqa: BLE001 - the app's own request goes on, whatever this did
            pass

    def mounted(*change: Any) -> None:
        """Bottle's ``config`` hook (called with (config, key, value), or (key, value)):
        ``parent.mount("/api/", app)``, the prefix ending in "/", copies the app's routes
        into the parent, which serves them with its own hooks: the parent's first request
        looks (newcomer22: not a word before)."""
        try:
            key, value = change[-2:]
            if key == "_mount.app" and isinstance(value, bottle.Bottle) and once:
                value.add_hook("before_request", first_request)
                hooked.append(value)
                said.append(BOTTLE_MOUNTED)
        except Exception:  # noqa: BLE001 - the mount goes on, unwatched
            pass

    try:
        if not any(getattr(hook, "__qualname__", "") == first_request.__qualname__
                   for hook in watched._hooks.get("before_request", ())):
            watched.add_hook("before_request", first_request)  # (one per app, unlooked)
            watched.add_hook("config", mounted)
            # Mounted already (review104: a mount before the middleware said nothing).
            mounted("_mount.app", watched.config.get("_mount.app"))
    except Exception:  # noqa: BLE001 - the middleware works the same, unwatched
        pass


#: A Flask app -> the receiver watching it (until its first request): the receiver's
#: only strong reference, gone with the app.
_FLASK_WATCHED: weakref.WeakKeyDictionary[Any, Callable[..., None]] = (
    weakref.WeakKeyDictionary())


def django_middleware_made() -> None:
    """Django's middleware (metrics on) was made in this process: nothing to say."""
    _state["made"] = True


def watch_django() -> None:
    """Asked by a configuration (metrics on) made once Django is imported, as
    ``settings.py`` makes it: the first request Django serves in this process says so
    when ``settings.README_METRICS_CONFIG`` is a configuration and no middleware records
    the request. Django's ``request_started`` signal, connected once per process."""
    with _lock:
        if _state["watching"] or _state["made"] or _state["looked"]:
            return
        _state["watching"] = True
    try:  # (during settings.py: django.core.signals reads no setting)
        from django.core.signals import request_started

        request_started.connect(_first_request, weak=False, dispatch_uid=_DISPATCH_UID)
    except Exception:  # an older or partial Django: the library works the same, unwatched
        pass


def _first_request(sender: Any, **extra: Any) -> None:
    """The receiver: looks once, then disconnects. Never raises into the request."""
    try:
        if _not_looked_at(sender):
            return  # a static file, or the test client's request: the next request looks
        from django.conf import settings
        from django.core.signals import request_started

        with _lock:
            if not _state["watching"]:
                return  # another thread's request looked
            _state["watching"] = False
            _state["looked"] = True  # once per process, whatever configs come later
        request_started.disconnect(dispatch_uid=_DISPATCH_UID)
        if _state["made"] or recorded_outside():
            return
        config = getattr(settings, "README_METRICS_CONFIG", None)
        from readme_metrics.config import MetricsApiConfig

        if not isinstance(config, MetricsApiConfig) or not config.enabled:
            return
        QuietLogger(config.logger, secrets=(config.api_key,)).warning(DJANGO_UNWRAPPED)
    except Exception:  # the app's own request goes on, whatever this did
        pass


# Handlers whose request says nothing of how the app is served, though they send
# request_started: those that serve a file of theirs through Django's handler, around the
# app and any middleware wrapping it (runserver's StaticFilesHandler,
# LiveServerTestCase's), and Django's test client's (Client, AsyncClient), which calls
# the handler itself, around wsgi.py and asgi.py: where README's plain way wraps it
# (MetricsMiddleware(get_wsgi_application(), ...)), every test run was told to add a
# MIDDLEWARE line that is not missing.
_NOT_LOOKED_AT = frozenset({"StaticFilesHandlerMixin", "FSFilesHandler", "ClientHandler",
                            "AsyncClientHandler"})


def _not_looked_at(sender: Any) -> bool:
    return any(cls.__name__ in _NOT_LOOKED_AT and cls.__module__.startswith("django.")
               for cls in getattr(sender, "__mro__", ()))
