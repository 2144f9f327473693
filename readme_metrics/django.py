"""Django middleware: capture each exchange from Django's request and response objects.

.. code-block:: python

    # settings.py
    from readme_metrics import MetricsApiConfig

    MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware", *MIDDLEWARE]
    README_METRICS_CONFIG = MetricsApiConfig(
        grouping_function="myapp.metrics.grouping",  # receives the HttpRequest
    )  # your ReadMe API key from README_API_KEY (or api_key="...")

The capture builds the same plain-data record as the WSGI middleware and hands it to the
same pipeline (HAR, redaction, delivery are shared). What it trusts: the request's META,
as Django's WSGI or ASGI handler filled it, and the response object as returned by the
views and the middlewares below it; put it first in ``MIDDLEWARE`` so it sees the final
response and ``request.user`` is set when the grouping function runs.

Request bodies stay readable by views: the request's stream is replaced by a tee that
keeps a copy (at most ``max_body_bytes``) while the view reads through ``request.body``,
``request.POST``, uploads or ``request.read()`` as usual. Streaming responses
(``StreamingHttpResponse``, ``FileResponse``) stay streamed: their iterator is wrapped
chunk by chunk, sync or async as Django gave it, and the log is finished when it ends or
the response is closed. A body the view left unread is recorded as far as it has
arrived, once the server has sent the answer (in the response's ``close()``) wherever
the server keeps unread input until then, so the answer goes out as without the
middleware. Works under WSGI and ASGI (sync and async middleware chains).

This module holds the middleware and its settings; one exchange's translation
(Django's request and response objects for the shared capture core) is
:mod:`readme_metrics.django_exchange`, the grouping function's call (sync, or awaited
on the event loop) :mod:`readme_metrics.django_grouping`, the pipeline each
configuration shares :mod:`readme_metrics.django_pipelines`', the check of its place in
``MIDDLEWARE`` :mod:`readme_metrics.django_placement`'. Recording, timing, finish-once and
request parsing are the shared capture core's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Mapping, Optional

try:
    from asgiref.sync import iscoroutinefunction, sync_to_async
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
    from django.http import HttpRequest
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without Django
    raise ImportError(
        # Django itself, not the extra by name: until this package is on PyPI, "pip
        # install readme-metrics[django]" would fetch the official 3.x package instead.
        'readme_metrics.django needs Django 3.2 or later (the "django" extra): '
        'pip install "django>=3.2"'
    ) from exc

from readme_metrics import django_abandoned as abandoned
from readme_metrics import django_interrupted as interrupted
from readme_metrics import django_verdict
from readme_metrics.capture import nesting, unclosed
from readme_metrics.capture.unclosed import calling, returned
from readme_metrics.config import MetricsApiConfig
from readme_metrics.django_asgi import check_lifespan
from readme_metrics.django_asgi import checked as lifespan_checked
from readme_metrics.django_exchange import Capture, async_stream, finish_at_close, sync_stream
from readme_metrics.django_grouping import Grouping
from readme_metrics.django_meta import method_sent
from readme_metrics.django_pipelines import entry_for as _entry_for
from readme_metrics.django_pipelines import flush_all
from readme_metrics.django_pipelines import pipelines as _pipelines
from readme_metrics.django_placement import DJANGO_NOT_FIRST
from readme_metrics.django_placement import django_middlewares_before as _django_middlewares_before
from readme_metrics.django_settings_names import unread_settings
from readme_metrics.exchange import Group
from readme_metrics.unwrapped import django_middleware_made

try:  # asgiref >= 3.6 (Django >= 4.2)
    from asgiref.sync import markcoroutinefunction
except ImportError:  # pragma: no cover - older asgiref, as Django 3.2's MiddlewareMixin

    def markcoroutinefunction(func: Any) -> Any:
        func._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
        return func


# (the shared pipelines moved to django_pipelines, the check of the middleware's place in
# settings.MIDDLEWARE to django_placement: importable from here as before)
__all__ = ["DJANGO_NOT_FIRST", "MetricsMiddleware", "_entry_for", "_pipelines", "flush_all"]

_placement_checked: list[bool] = []  # once per process
_default_config: list[MetricsApiConfig] = []


def _configured() -> MetricsApiConfig:
    config = getattr(settings, "README_METRICS_CONFIG", None)
    if config is None:
        if not _default_config:
            try:
                _default_config.append(MetricsApiConfig())
            except ValueError as exc:
                # A sentence of its own: the error may already end with a hint in
                # parentheses, and two in a row read as one garbled one.
                unread = "".join(f"; {line}" for line in unread_settings(settings))
                raise ImproperlyConfigured(
                    f"{exc}. In Django, settings.README_METRICS_CONFIG = "
                    f"MetricsApiConfig(...) may configure it instead{unread}"
                ) from exc
        return _default_config[0]
    if not isinstance(config, MetricsApiConfig):
        # A dict is how most Django settings are written (DATABASES, CACHES): say how
        # to make one of it, as the WSGI and ASGI middlewares' own check does.
        hint = (" (MetricsApiConfig(**options) makes one of a dict, with from "
                "readme_metrics import MetricsApiConfig)" if isinstance(config, Mapping)
                else "")
        raise ImproperlyConfigured(
            "readme_metrics: settings.README_METRICS_CONFIG must be a MetricsApiConfig, "
            f"got {type(config).__name__}{hint}"
        )
    return config


class MetricsMiddleware:
    """Django middleware logging every exchange to ReadMe's Metrics API.

    Configured by ``settings.README_METRICS_CONFIG`` (a :class:`MetricsApiConfig`), or
    from the ``README_*`` environment variables when that setting is absent. The
    grouping function receives Django's ``HttpRequest`` (``request.user`` works).
    Sync and async capable: under ASGI it runs without a thread switch per request,
    except for the grouping function, which is user code that may touch the database
    (an ``async`` one is awaited on the loop, in the sync chain too; under WSGI it is an
    error: no loop), and, with ``background_worker_mode=False``, the send of a full
    batch (the loop's executor, so that the event loop and the answer never wait on the
    Metrics API).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any],
                 config: Optional[MetricsApiConfig] = None) -> None:
        # ``config`` as in the official package, for code that builds the chain itself.
        self.get_response = get_response
        self.config = config if config is not None else _configured()
        if not getattr(self.config, "enabled", True):
            # Django leaves this middleware out of the chain: no pipeline, no thread.
            raise MiddlewareNotUsed("readme_metrics: metrics are turned off (enabled=False)")
        django_middleware_made()
        unclosed.hook()  # the exit's, for a request still inside the view then
        self._shared = _entry_for(self.config)  # holds it while this chain is in use
        self.pipeline, self._inline = self._shared.pipeline, self._shared.inline
        if not _placement_checked:
            _placement_checked.append(True)
            outer = _django_middlewares_before()
            if outer:
                self.pipeline.logger.warning(DJANGO_NOT_FIRST.format(", ".join(outer)))
            for line in unread_settings(settings, self.config):  # GROUPING_FUNCTION = ...
                self.pipeline.logger.warning(f"readme_metrics: {line}")
        self._project, self._layers = nesting.layer(self.config, self)
        self._grouping = Grouping(self.config, self.pipeline)  # (sync, or on the loop)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        #: True until this chain's first request: a sync chain serves ASGI too when a
        #: sync-only middleware is in MIDDLEWARE, and is checked for uvicorn's lifespan.
        self._unchecked = not self._async

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        try:
            if self._unchecked:
                self._unchecked = False
                scope = getattr(request, "scope", None)  # an ASGIRequest's: under ASGI
                if scope is not None and not lifespan_checked:
                    check_lifespan(self.pipeline.logger, scope)
            capture = self._start(request)
        except BaseException as error:  # a signal handler's raise (django_interrupted)
            interrupted.cut_at_start(self, request, error)
            raise
        if capture is None:
            return self.get_response(request)
        # In unclosed's in-call requests until its log is queued or its response is in
        # flight (_complete): one still inside the view at exit is cut then (the async
        # chain's too), as the WSGI middleware's (it was lost without a word).
        try:
            capture.in_call = True
            calling(capture)
            try:
                response = self.get_response(request)
            except BaseException as failure:
                self._failed(capture, failure)
                raise
            capture.recorder.responded = time.perf_counter()
            group = self._grouping.identify(capture, response)
            return self._complete(capture, response, group, abandoned.sync_cut(request))
        except BaseException as error:  # the log queued first (django_interrupted)
            interrupted.cut(self, capture, error)
            raise
        finally:
            capture.in_call = False
            returned(capture)

    async def __acall__(self, request: HttpRequest) -> Any:
        """The async chain (ASGI): same steps, the grouping function in a thread (an
        ``async`` one on the loop)."""
        try:
            if not lifespan_checked:
                check_lifespan(self.pipeline.logger, getattr(request, "scope", None))
            capture = self._start(request)
        except (KeyboardInterrupt, SystemExit):
            interrupted.held_at_start(self, request)
            raise
        if capture is None:
            return await self.get_response(request)
        calling(capture)  # as the sync chain's (see _captured)
        try:
            response = await self._captured(capture, request)
            returned(capture)
            return response
        except GeneratorExit:
            raise  # its task dropped: left to the exit's cut
        except (KeyboardInterrupt, SystemExit) as error:
            # The loop ends: a log not queued yet is the exit's cut's, one queued says
            # the answer that never went out (delivery57)
            interrupted.queued_unsent(capture, error)
            raise
        except BaseException:
            returned(capture)
            raise

    async def _captured(self, capture: Capture, request: HttpRequest) -> Any:
        """The async chain's steps, in unclosed's in-call requests (delivery54): a server's
        stop cancels Django's handler, which leaves this task running, resumed late or
        never; a signal handler's raise ends the (main thread's) loop: cut at exit."""
        try:
            response = await self.get_response(request)
        except GeneratorExit:
            raise  # (no await in a closed coroutine)
        except BaseException:
            await sync_to_async(self._failed)(capture)
            raise
        capture.recorder.responded = time.perf_counter()
        capture.client_ended = django_verdict.client_ended()  # (before the hop: flaky52)
        if not self.config.background_worker_mode:
            capture.inline = (self._inline, asyncio.get_running_loop())
        # Sync user code (request.user hits the database), so not on the event loop.
        group = await sync_to_async(self._grouping.identify)(capture, response, True)
        if group is not None and group.__class__ is not Group:
            group = await self._grouping.settle(capture, group)  # async: on the loop
        return self._complete(capture, response, group, abandoned.async_cut())

    # -- steps ---------------------------------------------------------------------------

    def _start(self, request: HttpRequest) -> Optional[Capture]:
        try:
            meta = request.META
            stacked = self._layers[0] > 1
            if stacked and (nesting.marked(meta, self._project) or self._outside(request)):
                return None  # a layer outside (the WSGI or ASGI middleware) logs it
            host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME", "")
            if not self.pipeline.wants(method_sent(request, meta), str(host),
                                       meta.get("HTTP_X_FORWARDED_HOST"),
                                       meta.get("HTTP_USER_AGENT"), request.path):
                self.pipeline.skip()
                if stacked:  # this layer decided for its project: not logged
                    nesting.mark(meta, self._project)
                return None
            capture = Capture(self.pipeline, request)
            if stacked:
                nesting.mark(meta, self._project)
            return capture
        except Exception:  # never let the library break a request
            self.pipeline.logger.exception("readme_metrics: could not start capturing")
            return None

    def _outside(self, request: HttpRequest) -> bool:
        """Whether an ASGI layer of the project outside Django records this request
        (while the project has two middlewares): its scope marked or recorded in this
        context (:func:`~readme_metrics.capture.nesting.recorded`), or, for a WSGI
        request, the ASGI layer before an ASGI-to-WSGI bridge (Starlette's WSGIMiddleware,
        asgiref's WsgiToAsgi: a Django project mounted in a FastAPI app), whose environ
        carries no mark (:func:`~readme_metrics.capture.nesting.asgi_records`)."""
        scope = getattr(request, "scope", None)
        if isinstance(scope, dict):
            return nesting.recorded(scope, self._project)
        if nesting.asgi_records(self._project, request.META):
            nesting.mark(request.META, self._project)  # for a layer further in
            return True
        return False

    def _failed(self, capture: Capture, error: Optional[BaseException] = None) -> None:
        """Something below raised out of Django's own handling (``error``, where the sync
        chain knows it): still log a 500, or no answer at all where the server sends
        none for it (:func:`.django_interrupted.unanswered`)."""
        try:
            capture.recorder.responded = time.perf_counter()
            capture.recorder.fail()
            if error is not None and not interrupted.unanswered(capture, error):
                abandoned.sync_failed(capture, error)  # (Django's cancel: the client left)
            if self._grouping.identify(capture) is None:
                self.pipeline.skip()
                return
            capture.finish()
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")

    def _complete(self, capture: Capture, response: Any, group: Optional[Group],
                  cut: Optional[Callable[[Capture], None]] = None) -> Any:
        """Log ``response``; ``cut``: Django's handler (ASGI) no longer waited for it (the
        server cancelled the handler, or Django the chain as the client left): makes the
        log what the client got (:mod:`.django_abandoned`, :mod:`.django_verdict`)."""
        try:
            if group is None:
                self.pipeline.skip()
                return response
            url = self.pipeline.documentation_url(capture.recorder.log_id)
            if url is not None and not response.has_header("x-documentation-url"):
                response["x-documentation-url"] = url  # the app's own is kept
            capture.respond(response)
            if cut is not None:
                cut(capture)
            if getattr(response, "streaming", False):
                self._stream(capture, response)
            else:
                capture.body_recorder()(bytes(response.content))
                # The app's whole answer: shorter than its own Content-Length, the log
                # says the client's was cut short (Exchange.response_body_short).
                capture.recorder.ended = True
                if capture.finish_in_close or capture.verdict:  # (else at exit: dropped)
                    finish_at_close(self.pipeline, capture, response)
                else:
                    capture.finish()
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")
        return response

    def _stream(self, capture: Capture, response: Any) -> None:
        # Closing the response (the server does, after the last chunk) finishes the log
        # even when the iterator was never started.
        finish_at_close(self.pipeline, capture, response)
        meta = capture.request.META
        if getattr(response, "file_to_stream", None) is not None and meta.get(
            "wsgi.file_wrapper"
        ):
            # Django hands the file itself to the server (sendfile): keep that fast path
            # and log the size from Content-Length, without the body.
            try:
                capture.recorder.omit_body(int(response.get("Content-Length", -1)))
            except ValueError:
                capture.recorder.omit_body(-1)
            return
        if getattr(response, "is_async", False):
            response.streaming_content = async_stream(capture, response.streaming_content)
        else:
            response.streaming_content = sync_stream(capture, response.streaming_content)
