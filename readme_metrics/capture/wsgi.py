"""The WSGI middleware: wrap any PEP 3333 app and record each exchange (SPEC section 5).

What it guarantees the app: the same request bytes, the same response bytes in the same
chunks at the same moments, ``close()`` called exactly once, exceptions unchanged, and a
``wsgi.file_wrapper`` response handed back as the very same object. A request body the
app leaves unread is recorded from what has already arrived, never by waiting on the
client, and before the server could throw it away: werkzeug's development server discards
unread input once the response iterable is exhausted and before it calls ``close()``, so
the rest is read when the iterable ends. The request thread only copies references,
counts bytes and calls the grouping function; parsing and HAR building happen on the
delivery worker. With ``enabled`` false the app is returned untouched (no worker, no I/O).
"""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Any, Callable, Iterable, NoReturn, Optional, TypeVar

from readme_metrics.app_shape import (
    asgi_server_call,
    is_asgi_app,
    not_an_app,
    rsgi_server_call,
)
from readme_metrics.capture import nesting, unclosed
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.unclosed import calling, returned
from readme_metrics.capture.uwsgi_sendfile import NOTHING, record_sent_file, restore
from readme_metrics.capture.webob_request import BARE, Request
from readme_metrics.capture.webob_request import new as new_object
from readme_metrics.capture.wsgi_exchange import WSGICapture
from readme_metrics.capture.wsgi_grouping import NO_BODY
from readme_metrics.capture.wsgi_input import InputTee
from readme_metrics.capture.wsgi_loop import calls_itself
from readme_metrics.capture.wsgi_replay import replay_input
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import uwsgi_stop
from readme_metrics.middleware_arguments import (
    NO_CONFIG,
    checked_config,
    django_handler_hint,
    said_if_starlette_builds,
)
from readme_metrics.pipeline import MetricsPipeline
from readme_metrics.pipeline_controls import PipelineControls
from readme_metrics.skip_rules import OWN_AGENT
from readme_metrics.wsgi_types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["MetricsMiddleware"]

_MARK = nesting.MARK
_Call = TypeVar("_Call", bound=Callable[..., Any])


_ASGI_APP = (
    "readme_metrics: {0}(app, config): app is an ASGI app ({1}: its __call__ is async), "
    "and this {0} is the WSGI middleware: every request would fail with a TypeError. "
    "For FastAPI and Starlette, app.add_middleware(ReadMeMetricsMiddleware, config=...) "
    "(from readme_metrics.starlette import ReadMeMetricsMiddleware, or from "
    "readme_metrics.fastapi: the same class); for any other ASGI "
    "app, readme_metrics.asgi.MetricsMiddleware(app, config)")


def _declared_wsgi(call: _Call) -> _Call:
    """``call`` whose signature is PEP 3333's, ``(environ, start_response)``, both
    required: ``start_response``'s default and the third parameter are only there so
    that an ASGI server's call (the scope alone: uvicorn; ``(scope, receive, send)``:
    granian --interface asgi) reaches :meth:`MetricsMiddleware._served_by_asgi`. Seen by
    ``inspect.signature``, the default made the middleware an ASGI 2 app (a callable of
    the scope alone) to the ASGI companions' ``single_callable``, which called it with
    the scope alone; the third parameter would make it an ASGI 3 app."""
    signature = inspect.signature(call)
    call.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        parameter.replace(default=inspect.Parameter.empty)
        for parameter in list(signature.parameters.values())[:3]])  # self, environ, s_r
    return call


class MetricsMiddleware(PipelineControls):
    """Log every request/response exchange of a WSGI app to ReadMe's Metrics API.

    .. code-block:: python

        from readme_metrics import MetricsApiConfig, MetricsMiddleware

        app.wsgi_app = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
            grouping_function=lambda req: (
                {"api_key": req.headers["X-Api-Key"]} if "X-Api-Key" in req.headers
                else None),
        ))  # your ReadMe API key from README_API_KEY (or api_key="...")

    The grouping function receives a :class:`webob.Request` whose body can be read.
    With ``config.enabled`` false, calls go straight to the app and nothing is started.
    """

    def __init__(self, app: Optional[WSGIApplication] = None,
                 config: MetricsApiConfig = NO_CONFIG, *,
                 wsgi_app_reference: Optional[WSGIApplication] = None) -> None:
        # wsgi_app_reference: the official package's name for the app (3.x), so that
        # MetricsMiddleware(wsgi_app_reference=..., config=...) keeps working unedited.
        if wsgi_app_reference is not None:
            if app is not None:
                raise TypeError(f"readme_metrics: {type(self).__name__}(app, config): "
                                "app and wsgi_app_reference (its official 3.x name) were "
                                "both given: pass one")
            app = wsgi_app_reference
        self.config = config = checked_config(type(self).__name__, app, config)
        self.app: WSGIApplication = app  # type: ignore[assignment] # callable: checked
        if is_asgi_app(app):
            raise TypeError(said_if_starlette_builds(_ASGI_APP.format(
                type(self).__name__, (app if isinstance(app, type) else type(app)).__name__)
                + django_handler_hint(app)))
        shape = not_an_app(app, "WSGI")
        if shape is not None:
            raise TypeError(f"readme_metrics: {type(self).__name__}(app, config): {shape}")
        self.enabled = bool(getattr(config, "enabled", True))
        self.pipeline: Optional[MetricsPipeline] = (
            MetricsPipeline(config) if self.enabled else None)
        if self.enabled:
            unclosed.hook()  # the exit's, for a request the app is still computing then
        self.project, self.layers = nesting.layer(config, self) if self.enabled else (0, [1])
        if self.enabled and "flask" in sys.modules:  # a Flask app's: is it served wrapped?
            from readme_metrics.unwrapped import watch_flask

            watch_flask(app, config)
        if self.enabled and "bottle" in sys.modules:  # a Bottle app's: the same question
            from readme_metrics.unwrapped import watch_bottle

            watch_bottle(app, config)
        if self.enabled:  # Falcon's or Pyramid's: the server given it, not this one?
            from readme_metrics.served_bare import watch_served

            watch_served(app, self)
        #: True when a subclass hands something back in :meth:`grouped` (Flask's): the
        #: base's does nothing, and is not called per request.
        self.hands_back = type(self).grouped is not MetricsMiddleware.grouped
        #: True when the grouping function gets this class's own request
        #: (:meth:`grouping_request` not overridden, nothing handed back): the capture
        #: then makes it without a call, for a request that declares no body.
        self.own_request = (BARE and not self.hands_back and type(self).grouping_request
                            is MetricsMiddleware.grouping_request)

    @_declared_wsgi
    def __call__(self, environ: WSGIEnvironment,
                 start_response: Optional[StartResponse] = None,
                 asgi_send: Any = None) -> Iterable[bytes]:
        if start_response is None or asgi_send is not None:
            # An ASGI server's call: app(scope) (uvicorn), app(scope, receive, send)
            # (granian --interface asgi)
            self._served_by_asgi(environ, asgi_send is not None)
        pipeline = self.pipeline
        # Written out, not nesting.marked()/mark(): this runs for every request. (The
        # layers counted once a call: a layer is added when an app is wrapped.)
        stacked = self.layers[0] > 1
        marks = environ.get(_MARK) if stacked else None
        if pipeline is None or (marks is not None and self.project in marks):
            return self.app(environ, start_response)  # off, or logged by a layer outside
        if stacked and nesting.asgi_records(self.project, environ):
            # An ASGI layer of the project, before an ASGI-to-WSGI bridge, records it.
            environ[_MARK] = (self.project,) if marks is None else (*marks, self.project)
            return self.app(environ, start_response)
        if not pipeline.handed_over.empty():  # rarely: a call fewer on every request
            pipeline.run_handed_over()
        try:
            # wants_environ() written out for the usual case (every Host logged, a method
            # not skipped, another User-Agent than the library's own): a call fewer.
            agent = environ.get("HTTP_USER_AGENT")
            wanted = (True if pipeline.any_host
                      and environ.get("REQUEST_METHOD", "GET") not in pipeline.skip_methods
                      and (agent is None or not agent.startswith(OWN_AGENT))
                      else pipeline.wants_environ(environ))
            if stacked:  # this layer decides for its project, logged or not
                environ[_MARK] = (self.project,) if marks is None else (*marks, self.project)
            capture = WSGICapture(self, pipeline, environ, start_response) if wanted else None
        except Exception as exc:  # never let the library break a request
            if calls_itself(self, exc):  # app.wsgi_app = MetricsMiddleware(app, config)
                raise
            said = rsgi_server_call(type(self).__name__, environ)
            if said is not None:  # no WSGI call at all: the app cannot answer it either
                pipeline.logger.error(said)
                raise TypeError(said) from None
            pipeline.logger.exception("readme_metrics: could not start capturing")
            wanted, capture = False, None
        if capture is None:
            if not wanted:
                pipeline.skip()
            return self.app(environ, start_response)
        # Kept until the call returns: a request the app is still computing when the
        # process exits is logged (as unanswered) or counted dropped then (unclosed).
        # Taken off only once wrap() has registered its Response as in flight (or queued
        # its log): the exit looks at the in-call requests first, then at the responses
        # in flight, so a request between the two is in one of them (it was in neither,
        # lost uncounted, when the exit looked in that gap).
        calling(capture)
        if "uwsgi.version" not in environ:
            try:
                try:
                    result = self.app(environ, capture.start_response)
                except BaseException as error:
                    if not calls_itself(self, error):
                        capture.fail(unsent=True, in_call=True, error=error)
                    raise
                capture.returned = True
                return capture.wrap(result)
            finally:
                returned(capture)
        # A stop of this worker in the request sends what it held (delivery.uwsgi_stop).
        uwsgi_stop.arm()
        # uWSGI's file_wrapper returns the file itself: see uwsgi_sendfile.
        try:
            sent = record_sent_file(environ)
            try:
                result = self.app(environ, capture.start_response)
            except BaseException as error:
                if not calls_itself(self, error):
                    capture.fail(unsent=True, in_call=True, error=error)
                raise
            finally:
                if sent is not None:
                    restore(environ, sent)
                uwsgi_stop.keep()  # (the app's event loop may have taken the wakeup fd)
            capture.returned = True
            return capture.wrap(result, NOTHING if sent is None else sent.sent)
        finally:
            returned(capture)

    def _served_by_asgi(self, environ: WSGIEnvironment, three: bool) -> NoReturn:
        """Refuse a call without ``start_response`` (or with a third argument: ``three``),
        saying so when an ASGI server made it: the error of its first call, the lifespan
        at start-up, is logged (uvicorn and granian swallow it), and each request's is
        the 500's traceback."""
        name = type(self).__name__
        said = asgi_server_call(name, environ, three)
        if said is None:
            raise TypeError(f"{name}.__call__() takes 3 positional arguments but 4 were "
                            "given" if three else f"{name}.__call__() missing 1 required "
                            "positional argument: 'start_response'")
        if environ.get("type") == "lifespan":
            logger = getattr(self.config, "logger", None)
            (logger or logging.getLogger("readme_metrics")).error(said)
        raise TypeError(said)

    def grouping_request(self, environ: WSGIEnvironment, body: Optional[InputTee]) -> Any:
        """What the grouping function receives: a webob.Request whose body can be read.

        ``body`` is the request's :class:`~readme_metrics.capture.wsgi_input.InputTee`
        (None without ``wsgi.input``); the request reads a copy, the app's input is kept.
        """
        request_environ = dict(environ)
        if body is not None:
            replay_input(body, request_environ, environ)
        else:  # no body declared: the app's input stays the app's
            request_environ["wsgi.input"] = NO_BODY
            request_environ.pop("webob.is_body_seekable", None)
        if BARE:  # webob_request() written out: a call fewer per request
            request = new_object(Request)
            request.__dict__["environ"] = request_environ
            return request
        return Request(request_environ)

    def given_copy(self, request: Any, body: Optional[InputTee]) -> Optional[BodyRecord]:
        """The record of the body ``request`` (from :meth:`grouping_request`) reads from
        the middleware's copy: the error of a grouping function that raised says when
        that is the start of a body longer than max_body_bytes (see Identifier)."""
        return None if body is None else body.record

    def grouped(self, request: Any) -> None:
        """After the grouping function ran on ``request`` (from :meth:`grouping_request`):
        hand back to the app what was lent to the grouping function (nothing here)."""
