"""The ASGI capture: wrap any ASGI 3 app and log each HTTP exchange (SPEC sections 2, 5).

A pure ASGI middleware, never Starlette's ``BaseHTTPMiddleware``: ``receive`` and ``send``
are wrapped, not replaced by buffered copies (see :mod:`.asgi_exchange`), so streaming
and server-sent events keep their timing and nothing is held whole in memory.
``websocket`` scopes pass through untouched, and so does every scope when the config
says ``enabled=False``; the ``lifespan`` scope's messages pass unchanged, and the queue is
flushed at its end (:mod:`.asgi_lifespan`).

What it trusts: the scope the server built and, only as far as ``trusted_proxies`` says,
X-Forwarded-* headers. The event loop never waits on the network: in background mode a
log is a queue put; with ``background_worker_mode=False`` the send that a full batch
triggers runs in the loop's default executor, after the response has gone out.

Under an event loop that is not asyncio's (trio: ``hypercorn --worker-class trio``) there
is no framework-neutral way to await a thread, and the library depends on neither trio
nor anyio: an inline send is handed, in order, to one thread of the middleware's own and
not awaited.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from functools import partial
from typing import Any, Optional

from readme_metrics._logging import QuietLogger
from readme_metrics.added_made import watch_added
from readme_metrics.app_shape import not_an_app, wsgi_app_name
from readme_metrics.asgi_single import single_callable
from readme_metrics.asgi_types import ASGIApp, Receive, Scope, Send
from readme_metrics.capture import asgi_scope, nesting
from readme_metrics.capture.asgi_exchange import ASGIExchange
from readme_metrics.capture.asgi_grouping import AwaitingIdentifier
from readme_metrics.capture.asgi_inline import InlineSends
from readme_metrics.capture.asgi_lifespan import Lifespan
from readme_metrics.capture.asgi_no_lifespan import LifespanCheck
from readme_metrics.capture.asgi_outlive import Outlive, is_cancellation
from readme_metrics.capture.asgi_receive import running_asyncio_loop
from readme_metrics.capture.asgi_scope import ScopeRequest, header
from readme_metrics.capture.webob_request import webob_request
from readme_metrics.config import MetricsApiConfig
from readme_metrics.exchange import PendingExchange
from readme_metrics.middleware_arguments import NO_CONFIG, checked_config, django_handler_hint
from readme_metrics.pipeline import MetricsPipeline
from readme_metrics.pipeline_controls import PipelineControls
from readme_metrics.skip_rules import OWN_AGENT

_WSGI_APP = (
    "readme_metrics: {0}(app, config): app is a WSGI app ({1}: it takes (environ, "
    "start_response)), and this {0} is the ASGI middleware: every request would fail "
    "with a TypeError. For Flask, ReadMeMetrics(config, app) (from "
    "readme_metrics.flask_readme import ReadMeMetrics); for any other WSGI app, "
    "readme_metrics.MetricsMiddleware(app, config), served by a WSGI server (gunicorn, "
    "waitress; to serve it with an ASGI server, wrap the app in an adapter first, such "
    "as asgiref's WsgiToAsgi)")


class MetricsMiddleware(PipelineControls):
    """Log every HTTP request/response exchange of an ASGI 3 app to ReadMe's Metrics API.

    .. code-block:: python

        from readme_metrics import MetricsApiConfig
        from readme_metrics.asgi import MetricsMiddleware

        app = MetricsMiddleware(app, MetricsApiConfig(
            grouping_function=lambda req: (
                {"api_key": req.headers["X-Api-Key"]} if "X-Api-Key" in req.headers
                else None),
        ))  # your ReadMe API key from README_API_KEY (or api_key="...")

    The grouping function (plain or ``async``) runs once per exchange, when the app
    starts its response. Here it receives a :class:`webob.Request` built from the scope,
    the same type the WSGI middleware gives, with the request body as far as it has
    arrived and the scope as ``req.environ["asgi.scope"]``;
    :class:`readme_metrics.starlette.ReadMeMetricsMiddleware` gives Starlette's ``Request``.
    """

    def __init__(self, app: ASGIApp,
                 config: MetricsApiConfig = NO_CONFIG) -> None:
        self.app = app
        self.config = config = checked_config(type(self).__name__, app, config)
        wsgi = wsgi_app_name(app)
        if wsgi is not None:
            raise TypeError(_WSGI_APP.format(type(self).__name__, wsgi)
                            + django_handler_hint(app))
        shape = not_an_app(app, "ASGI")
        if shape is not None:
            raise TypeError(f"readme_metrics: {type(self).__name__}(app, config): {shape}")
        self.app = single_callable(app)  # an ASGI 2 app called as the servers call it
        # The app configures the logger: a filter or handler of its that raises must not
        # reach the request (or the lifespan) through a line logged there.
        self.logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self.enabled = bool(getattr(config, "enabled", True))
        self.limit = config.max_body_bytes
        self.background = config.background_worker_mode
        # The bound __call__ (see MetricsPipeline.identify): a C slot call fewer.
        self.identify = AwaitingIdentifier(config.grouping_function, self.logger,
                                           config.api_key).__call__
        # Work that outlives a cancelled exchange: its finish, its grouping function;
        # the calls a server's shutdown is cancelling (settled before the flush).
        self.outlive = Outlive(MetricsMiddleware.__call__.__code__)
        # Off means off: no worker thread, no docs URL lookup, no network.
        self.pipeline: Optional[MetricsPipeline] = (
            MetricsPipeline(config) if self.enabled else None)
        # base_log_url's base as the header's bytes (None: not given, or not latin-1).
        self._fixed_base: Optional[bytes] = None
        base = self.pipeline.fixed_base if self.pipeline is not None else None
        if base is not None:
            try:
                self._fixed_base = f"{base}/logs/".encode("latin-1")
            except UnicodeEncodeError:
                pass
        self._inline = InlineSends(self.submit, config.max_queue_size)
        if self.pipeline is not None:  # flush() and close() count what waits there
            self.pipeline.held_by(self._inline.hand_over)
        self._lifespan = Lifespan(self._flush_at_shutdown, config.shutdown_timeout, self.logger,
                                  self.outlive, self._left_said, self._stop_begins,
                                  self._stop_ends)
        # uvicorn --lifespan off: its SIGTERM loses what waits, said at the first request.
        self._no_lifespan = LifespanCheck(self.logger)
        self.project, self.layers = nesting.layer(config, self) if self.enabled else (0, [1])
        watch_added(app)  # given made to Starlette's add_middleware: said (added_made.py)
        if self.enabled:  # Starlette's or Falcon's: the server given it, not this one?
            from readme_metrics.served_bare import watch_served

            watch_served(app, self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pipeline = self.pipeline
        if scope["type"] != "http" or pipeline is None or nesting.recorded(scope, self.project):
            if scope["type"] == "lifespan" and pipeline is not None:
                self._no_lifespan.lifespan()  # its shutdown sends what waits
                await self._lifespan(self.app, scope, receive, send)
                return
            await self.app(scope, receive, send)  # off, not http, or logged outside
            return
        if self._no_lifespan.pending:
            self._no_lifespan.first_request(scope)
        recording = None
        try:
            request = ScopeRequest(scope, self.config.trusted_proxies)
            method = scope.get("method", "GET")
            # Only a POST can be the library's own (wants()): no User-Agent read else.
            agent = request.agent if method == "POST" else None
            if (pipeline.any_host and method not in pipeline.skip_methods
                    and (agent is None or not agent.startswith(OWN_AGENT))):
                wanted = True  # what wants() answers then, without the call
            else:
                wanted = pipeline.wants(
                    method, request.host or str((scope.get("server") or [""])[0]),
                    header(scope, b"x-forwarded-host") if pipeline.forwarded_hosts else None,
                    agent, scope.get("path", ""))
            exchange = ASGIExchange(self, scope, request, receive, send) if wanted else None
            # This layer decides for its project, logged or not (nesting.py).
            recording = nesting.recording(scope, self.project, self.layers)
        except Exception:  # never let the library break a request
            self.logger.exception("readme_metrics: could not start capturing")
            wanted, exchange = False, None
        if exchange is None:
            if not wanted:
                pipeline.skip()
            try:
                await self.app(scope, receive, send)
            finally:
                nesting.done(recording)
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BaseException as exc:
            nesting.done(recording)
            if is_cancellation(exc):
                # An anyio cancel scope around this middleware (a timeout middleware
                # using ``anyio.fail_after``, a task group) cancels every await of the
                # cancelled task, and trio every checkpoint: the finish's own (a drain,
                # an ``async`` grouping function, an inline send) would be cancelled
                # too, and the log lost. It runs outside (:mod:`.asgi_outlive`).
                exchange.cancelled()
                await self.outlive.run(partial(exchange.finish, True))
            else:
                left = exchange.finish_now(failed=True)
                if left is not None:
                    await left
            raise
        nesting.done(recording)
        left = exchange.finish_now(failed=False)
        if left is not None:
            await left

    def _flush_at_shutdown(self, timeout: Optional[float]) -> bool:
        """The lifespan's flush, then every queue-full drop no line said yet: uvicorn
        ends on SIGTERM with no exit hook (so no close) after it; a plain flush() says
        them at most once a minute (:meth:`Delivery.say_dropped
        <readme_metrics.delivery.core.Delivery.say_dropped>`)."""
        delivered = self.flush(timeout)
        if self.pipeline is not None:
            self.pipeline.delivery.say_dropped()
        return delivered

    def _stop_begins(self) -> None:
        """The lifespan's shutdown begins: the exit's close after it ends within the
        same shutdown_timeout (:meth:`Delivery.stop_begins
        <readme_metrics.delivery.core.Delivery.stop_begins>`)."""
        if self.pipeline is not None:
            self.pipeline.delivery.stop_begins()

    def _stop_ends(self) -> None:
        """The lifespan's flush at shutdown ended (:meth:`Delivery.stop_ends
        <readme_metrics.delivery.core.Delivery.stop_ends>`)."""
        if self.pipeline is not None:
            self.pipeline.delivery.stop_ends()

    def _left_said(self) -> int:
        """The logs still queued, as the lifespan's flush says it left them: the exit's
        close then says its own are the same (:meth:`Delivery.left_said
        <readme_metrics.delivery.core.Delivery.left_said>`)."""
        return 0 if self.pipeline is None else self.pipeline.delivery.left_said()

    # -- what the exchange asks of the middleware --------------------------------------

    def grouping_request(self, scope: Scope, body: bytes) -> Any:
        """What the grouping function receives: a webob.Request over the scope and body."""
        return webob_request(asgi_scope.wsgi_environ(scope, body))

    def documentation_url(self, log_id: str) -> Optional[bytes]:
        """The x-documentation-url header value, once the docs base is known."""
        pipeline = self.pipeline
        assert pipeline is not None
        # (Delivery.accepting written out: a property's call a request; cpu27.)
        batcher = pipeline.delivery._batcher
        if self._fixed_base is not None and not (batcher.closed or batcher.queue.refusing
                                                 or batcher.health.paused_until):
            # pipeline.documentation_url() written out for a base_log_url (a call fewer),
            # its base encoded once.
            return self._fixed_base + log_id.encode()
        url = pipeline.documentation_url(log_id)
        if url is None:
            return None
        try:
            return url.encode("latin-1")
        except UnicodeEncodeError:
            return None

    def skip(self) -> None:
        """Count an exchange that is seen but not logged."""
        if self.pipeline is not None:
            self.pipeline.skip()

    def submit(self, pending: PendingExchange, send: bool = True) -> None:
        """Queue the log (background mode, or ``send=False``: a queue put, no I/O)."""
        assert self.pipeline is not None
        self.pipeline.submit(pending, send)

    def submit_inline(self, pending: PendingExchange) -> Optional[Future[None]]:
        """Hand the log over in inline mode: the send of a full batch runs off the event
        loop, after the sends handed over before it (see :mod:`.asgi_inline`); the future
        is done once it was made, None for a send behind another's (not waited for).
        Handed over at once, not to a task of the loop: a task not yet run when the loop
        closes is dropped."""
        return self._inline.send_first(pending, running_asyncio_loop())

    async def sent(self, sending: Future[None]) -> None:
        """Wait for an inline send handed over (when the response ended): the app's call
        ends after it, as the process may be frozen then (serverless). Not under trio,
        where there is no neutral way to await a thread: the send goes on on its own."""
        if running_asyncio_loop() is not None:
            await asyncio.wrap_future(sending)
