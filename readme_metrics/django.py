"""Django middleware: capture each exchange from Django's request and response objects.

.. code-block:: python

    # settings.py
    from readme_metrics import MetricsApiConfig

    MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware", *MIDDLEWARE]
    README_METRICS_CONFIG = MetricsApiConfig(
        api_key="rdme_...",
        grouping_function="myapp.metrics.grouping",  # receives the HttpRequest
    )

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

It runs to about 400 lines because Django gives it four entry points to translate
(the sync and async middleware calls, sync and async streaming iterators); recording,
timing, finish-once and request parsing are the shared capture core's.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any, Callable, Optional

try:
    from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
    from django.http import HttpRequest, HttpResponseBase
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without Django
    raise ImportError(
        # Django itself, not the extra by name: until this package is on PyPI, "pip
        # install readme-metrics[django]" would fetch the official 3.x package instead.
        'readme_metrics.django needs Django 3.2 or later (the "django" extra): '
        'pip install "django>=3.2"'
    ) from exc

from readme_metrics.capture import nesting, unclosed
from readme_metrics.capture.asgi_grouping import AwaitingIdentifier
from readme_metrics.capture.asgi_inline import InlineSends
from readme_metrics.capture.asgi_outlive import Outlive
from readme_metrics.capture.asgi_scope import request_path
from readme_metrics.capture.body import GRACE, BodyRecord
from readme_metrics.capture.recorder import Pending, Recorder
from readme_metrics.capture.request import EnvironRequest, content_length
from readme_metrics.capture.stream_tee import StreamTee
from readme_metrics.capture.wsgi_response import answers_500, cuts_at_length, holds_empty_chunks
from readme_metrics.config import MetricsApiConfig
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

try:  # asgiref >= 3.6 (Django >= 4.2)
    from asgiref.sync import markcoroutinefunction
except ImportError:  # pragma: no cover - older asgiref, as Django 3.2's MiddlewareMixin

    def markcoroutinefunction(func: Any) -> Any:
        func._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
        return func


__all__ = ["MetricsMiddleware"]

# One pipeline (one delivery worker) per configuration object and process, however many
# times Django builds its middleware chain (each test Client builds one, for instance).
_pipelines: dict[int, tuple[MetricsApiConfig, MetricsPipeline, InlineSends]] = {}
_pipelines_lock = threading.Lock()
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
                raise ImproperlyConfigured(
                    f"{exc}. In Django, settings.README_METRICS_CONFIG = "
                    "MetricsApiConfig(...) may configure it instead"
                ) from exc
        return _default_config[0]
    if not isinstance(config, MetricsApiConfig):
        raise ImproperlyConfigured(
            "readme_metrics: settings.README_METRICS_CONFIG must be a MetricsApiConfig, "
            f"got {type(config).__name__}"
        )
    return config


def _shared_for(config: MetricsApiConfig) -> tuple[MetricsPipeline, InlineSends]:
    """The pipeline of a configuration, and its inline sends under the async chain: one
    of each, so that the sends take turns whichever handler or chain made them."""
    with _pipelines_lock:
        known = _pipelines.get(id(config))
        if known is None or known[0] is not config:
            pipeline = MetricsPipeline(config)
            known = (config, pipeline, InlineSends(pipeline.submit, config.max_queue_size))
            _pipelines[id(config)] = known
        return known[1], known[2]


def _pipeline_for(config: MetricsApiConfig) -> MetricsPipeline:
    return _shared_for(config)[0]


# How Django's repercent_broken_unicode writes bytes that are no UTF-8 into the decoded
# path (upper case): a run of them. A literal "%E9" (sent as %25E9) reads the same; it is
# taken as the byte, much the likelier of the two. A run that is UTF-8 (a literal
# "%C3%A9", sent as %25C3%25A9) Django would have decoded: it is the text as sent.
_REPERCENT = re.compile(r"(?:%[89A-F][0-9A-F])+")


def _escaped_bytes(match: re.Match[str]) -> str:
    run = bytes.fromhex(match[0].replace("%", ""))
    try:
        run.decode("utf-8")
    except UnicodeDecodeError:
        return run.decode("latin-1")
    return match[0]


def _wsgi_meta(request: HttpRequest) -> dict[str, str]:
    """META as WSGI strings, so the shared URL and header helpers apply."""
    meta = {k: v for k, v in request.META.items() if v.__class__ is str}
    # Django replaces PATH_INFO/SCRIPT_NAME by decoded text; WSGI strings are the raw
    # bytes read as latin-1, which request_url percent-encodes back exactly. Bytes that
    # were no UTF-8 are escapes in that text (%E9): back to the bytes, or a server with
    # no raw target to log (runserver, granian) would log %25E9.
    for key in ("PATH_INFO", "SCRIPT_NAME"):
        value = meta.get(key)
        if value:
            if not value.isascii():
                value = value.encode("utf-8", "surrogateescape").decode("latin-1")
            if "%" in value:
                value = _REPERCENT.sub(_escaped_bytes, value)
            meta[key] = value
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):  # ASGI: fill in what a WSGI environ would carry
        meta.setdefault("wsgi.url_scheme", str(scope.get("scheme") or "http"))
        meta.setdefault("SERVER_PROTOCOL", f"HTTP/{scope.get('http_version') or '1.1'}")
        raw_path = scope.get("raw_path")
        if isinstance(raw_path, bytes) and raw_path.startswith(b"/"):
            query = meta.get("QUERY_STRING", "")
            meta["RAW_URI"] = request_path(scope) + (f"?{query}" if query else "")
    return meta


class _Capture:
    """One exchange seen by the Django middleware: Django's objects -> the shared core."""

    def __init__(self, pipeline: MetricsPipeline, request: HttpRequest) -> None:
        self.pipeline = pipeline
        self.request = request
        meta = _wsgi_meta(request)
        self.source = EnvironRequest(meta, pipeline.config.trusted_proxies)
        self.limit = limit = pipeline.config.max_body_bytes
        self.declared = content_length(meta)
        self.group: Optional[Group] = None
        self.tee: Optional[StreamTee] = None
        # Inline mode under the async chain (ASGI): the sends, and the loop whose
        # executor makes them, wherever the log is finished (on the loop, or in the
        # thread Django consumes a sync stream in: then a thread of their own), so that
        # neither the loop nor the answer waits on the Metrics API (SPEC 7).
        self.inline: Optional[tuple[InlineSends, asyncio.AbstractEventLoop]] = None
        # True when a body still in flight is waited for in the response's close(), once
        # the answer has gone out (see settle_request_body).
        self.rest_in_close = False
        self.read_started = False  # the view had read part of the body (then)
        self.streaming = False  # the response is streamed: the view may read on
        # What the grouping function is lent in place of the view's body (see grouped()):
        # a _RestOnRead as request._stream, True for request._body set from the copy.
        self.lent: Any = None
        # Under WSGI Django reads no chunked body that comes without a CONTENT_LENGTH (it
        # reads CONTENT_LENGTH bytes: none): all of it is still the server's to copy.
        self.unseen_chunked = (self.declared is None and "HTTP_TRANSFER_ENCODING" in meta
                               and getattr(request, "scope", None) is None)
        record = BodyRecord(limit, self.declared)
        stream = getattr(request, "_stream", None)
        if stream is not None and not hasattr(request, "_body") and not getattr(
            request, "_read_started", False
        ):
            self.tee = StreamTee(stream, record)
            request._stream = self.tee
        self.recorder = Recorder(pipeline.new_id(), limit, record, request.method == "HEAD")

    def settle_request_body(self, streaming: bool) -> None:
        """After the view: record the body, and make it readable by the grouping function.

        An unread rest is read only as far as it has arrived, giving a body still in
        flight ``GRACE`` at most; a body the grouping function could not have whole is
        given to it as what arrived, one longer than ``max_body_bytes`` as its start.
        Where the server keeps unread input until it closes the response (gunicorn,
        uWSGI, wsgiref: ``rest.waits_for_close``), the rest is
        read in ``close()``, once the answer has gone out, as the WSGI middleware does:
        the answer is not held back, unless the grouping function reads the body (it
        then gets it as the log will). runserver throws unread input away before it
        closes the response: there the rest is read here, before the answer.
        """
        request, tee = self.request, self.tee
        if hasattr(request, "_body") or tee is None:
            return
        self.streaming = streaming
        record = tee.record
        unread = not getattr(request, "_read_started", False)
        if not unread and (record.eof or streaming):
            pass  # read to the end, or a streaming response that may read on
        elif self.declared is not None:
            meta = request.META
            if tee.waits_for_close(meta, meta.get("wsgi.input")):
                self.rest_in_close = True
                self.read_started = not unread
                request._stream = self.lent = _RestOnRead(tee, meta)
                request._read_started = False  # request.body reads it, as if unread
                return
            tee.read_rest(meta, GRACE)
            self.lent = True
            if not record.eof and not record.room:
                # Longer than max_body_bytes: request.body is its start, as the log's.
                request._body = record.content()
                return
        if (record.eof and record.size <= self.limit) or record.incomplete:
            # Consumed (request.POST for multipart, read()) or read here: request.body
            # comes back from the copy.
            request._body = record.content()

    @property
    def finish_in_close(self) -> bool:
        """The log is finished in the response's close(), once the server has sent the
        answer: for the rest of the body (see settle_request_body), or in inline mode,
        but for the async chain's sends off the loop, for the POST of a full batch,
        which the answer must not wait for (as the WSGI middleware's inline mode)."""
        return self.rest_in_close or (
            self.inline is None and not self.pipeline.config.background_worker_mode)

    def grouped(self) -> None:
        """After the grouping function: a body it left unread is the app's again, as it
        was (a streamed answer's iterator may read it as it goes, whole, as without the
        middleware); what is still unread then is read in close(). Under a streamed
        answer, a body it read is the app's again too: the view reads all of it, what
        the grouping function read and then the rest, waiting for it as bare."""
        lent, self.lent = self.lent, None
        if lent is None or not (self.streaming or (
                isinstance(lent, _RestOnRead) and not lent.read_from)):
            return
        request = self.request
        request._stream = self.tee
        request._read_started = self.read_started
        if self.streaming:  # what the grouping function's reads cached
            for name in ("_body", "_post", "_files"):
                request.__dict__.pop(name, None)

    def request_body(self) -> None:
        """Before queueing: the body Django already held, or the start of a long one."""
        record = self.recorder.request_body
        raw = getattr(self.request, "_body", None)
        if self.unseen_chunked and record is not None and record.eof and not record.size:
            record.restart()  # the empty end Django read is not the body's end
        if self.tee is None and isinstance(raw, bytes) and record is not None:
            record.feed(raw)  # read before this middleware ran
            record.end()
        elif self.tee is not None and not record.eof:  # type: ignore[union-attr]
            self.tee.read_rest(self.request.META, GRACE if self.rest_in_close else 0.0)

    def respond(self, response: HttpResponseBase) -> None:
        headers = [(str(name), str(value)) for name, value in response.items()]
        for cookie in response.cookies.values():
            headers.append(("Set-Cookie", cookie.output(header="").strip()))
        self.recorder.respond(response.status_code, response.reason_phrase, headers)
        # The WSGI server may send only the Content-Length's bytes (ASGI: no such keys).
        self.recorder.cut_at_length = cuts_at_length(self.request.META, response)

    def finish(self) -> None:
        """Queue the log, exactly once. Never raises."""
        if not self.recorder.finish():
            return
        try:
            if self.group is not None:
                self.request_body()
                self._submit(self.recorder.pending(self.source, self.group))
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")

    def _submit(self, pending: Pending) -> None:
        """Queue the log; inline under the async chain, off the loop and in turn."""
        if self.inline is not None:
            self.inline[0].send(pending, self.inline[1])
        else:
            self.pipeline.submit(pending)


class _RestOnRead:
    """``request._stream`` while the grouping function runs, when the unread rest is left
    to the response's close(): the grouping function reading the body gets it as the log
    will have it, what arrives within ``GRACE``, not a read that waits for the client.
    The tee records it then, once. Unread, the app's stream is put back after it."""

    __slots__ = ("_tee", "_meta", "_copy")

    def __init__(self, tee: StreamTee, meta: Any) -> None:
        self._tee = tee
        self._meta = meta
        self._copy: Optional[io.BytesIO] = None

    @property
    def read_from(self) -> bool:
        """True once something read the body through it."""
        return self._copy is not None

    def _body(self) -> io.BytesIO:
        if self._copy is None:
            self._tee.read_rest(self._meta, GRACE)
            self._copy = io.BytesIO(self._tee.record.content())
        return self._copy

    def read(self, *args: Any) -> bytes:
        return self._body().read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._body().readline(*args)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body())

    def seekable(self) -> bool:
        return False  # as Django's LimitedStream: Django 6.1's request.body asks

    def close(self) -> None:
        pass  # the tee's stream is Django's own; request.body closes this one after reading


def _finish_at_close(pipeline: MetricsPipeline, capture: _Capture, response: Any) -> None:
    """Finish the log in the response's close(), or, when the response is dropped
    unclosed (an outer middleware answered with a response of its own: CommonMiddleware's
    APPEND_SLASH redirect of a 404), from the thread that runs what a finalizer hands
    over (``unclosed.py``), off the request path."""
    dropped = weakref.finalize(response, _finish_dropped, pipeline, capture.finish)
    unclosed.ready()

    def closed() -> None:
        dropped.detach()
        capture.finish()

    response._resource_closers.append(closed)


def _finish_dropped(pipeline: MetricsPipeline, finish: Callable[[], None]) -> None:
    pipeline.hand_over(finish)  # a finalizer only hands over (see MetricsPipeline.hand_over)
    unclosed.wake(pipeline)


def _sync_stream(capture: _Capture, chunks: Iterator[bytes]) -> Iterator[bytes]:
    # A WSGI server sends the status with the first chunk it sends; Django's ASGI handler
    # sends it before the first chunk.
    unsent = not hasattr(capture.request, "scope")
    try:
        for chunk in chunks:
            capture.recorder.record(chunk)
            if unsent:
                unsent = not chunk and holds_empty_chunks(capture.request.META)
            yield chunk
    except Exception:
        # The client gets the server's own 500 (as WSGI's _Capture.fail).
        if unsent and answers_500(capture.request.META, in_call=False, wrote=False):
            capture.recorder.server_answered(500, "Internal Server Error", "the app raised")
        raise
    finally:
        if not capture.finish_in_close:  # else in close(), after the end of the answer
            capture.finish()


async def _async_stream(capture: _Capture, chunks: AsyncIterator[bytes]
                        ) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            capture.recorder.record(chunk)
            yield chunk
    finally:
        if not capture.finish_in_close:  # as _sync_stream (WSGI consumes it in one go)
            capture.finish()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


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
        self.pipeline, self._inline = _shared_for(self.config)
        self._project, self._layers = nesting.layer(self.config, self)
        # Under ASGI, an ``async`` grouping function (or an awaitable returned) is awaited
        # on the event loop; under WSGI there is no loop: the pipeline's says so.
        self._awaiting = AwaitingIdentifier(self.config.grouping_function,
                                            self.pipeline.logger)
        self._outlive = Outlive()
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        capture = self._start(request)
        if capture is None:
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException:
            self._failed(capture)
            raise
        capture.recorder.responded = time.perf_counter()
        group = self._identify(capture, response)
        return self._complete(capture, response, group)

    async def __acall__(self, request: HttpRequest) -> Any:
        """The async chain (ASGI): same steps, the grouping function in a thread (an
        ``async`` one on the loop)."""
        capture = self._start(request)
        if capture is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            await sync_to_async(self._failed)(capture)
            raise
        capture.recorder.responded = time.perf_counter()
        if not self.config.background_worker_mode:
            capture.inline = (self._inline, asyncio.get_running_loop())
        # Sync user code (request.user hits the database), so not on the event loop.
        group = await sync_to_async(self._identify)(capture, response, True)
        if group is not None and group.__class__ is not Group:
            group = await self._settle(capture, group)  # an async function: on the loop
        return self._complete(capture, response, group)

    async def _settle(self, capture: _Capture, pending: Any) -> Optional[Group]:
        """Await an ``async`` grouping function's answer, outside the request's task
        (:mod:`.capture.asgi_outlive`): Django cancels that task when the client leaves,
        and the function, cancelled with it, lost the log. Then, as for a cancellation
        of the view, the log has status 500 (nothing was sent) and the cancellation goes
        on once it is queued."""
        outlive = self._outlive
        started = outlive.start(pending)
        try:
            return self._grouped(capture, await outlive.wait(started))
        except asyncio.CancelledError:
            await outlive.run(partial(self._settled_cancelled, capture, started))
            raise

    async def _settled_cancelled(self, capture: _Capture, started: Any) -> None:
        group = self._grouped(capture, await started)
        capture.recorder.responded = time.perf_counter()
        capture.recorder.fail()
        if group is None:
            self.pipeline.skip()
        else:
            capture.finish()

    # -- steps ---------------------------------------------------------------------------

    def _start(self, request: HttpRequest) -> Optional[_Capture]:
        try:
            meta = request.META
            stacked = self._layers[0] > 1
            if stacked and (nesting.marked(meta, self._project) or nesting.marked(
                    getattr(request, "scope", None) or {}, self._project)):
                return None  # a layer outside (the WSGI or ASGI middleware) logs it
            host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME", "")
            if not self.pipeline.wants(request.method or "GET", str(host),
                                       meta.get("HTTP_X_FORWARDED_HOST"),
                                       meta.get("HTTP_USER_AGENT"), request.path):
                self.pipeline.skip()
                if stacked:  # this layer decided for its project: not logged
                    nesting.mark(meta, self._project)
                return None
            capture = _Capture(self.pipeline, request)
            if stacked:
                nesting.mark(meta, self._project)
            return capture
        except Exception:  # never let the library break a request
            self.pipeline.logger.exception("readme_metrics: could not start capturing")
            return None

    def _identify(self, capture: _Capture, response: Any = None, on_loop: bool = False
                  ) -> Any:
        """The caller per the grouping function, or, ``on_loop``, the awaitable an
        ``async`` one gave (for the caller to await on the event loop, then
        :meth:`_grouped`)."""
        try:
            capture.settle_request_body(bool(getattr(response, "streaming", False)))
        except Exception:
            self.pipeline.logger.debug("readme_metrics: request body not settled",
                                     exc_info=True)
        request = capture.request
        if not isinstance(getattr(request, "scope", None), dict):
            # WSGI: no event loop to await an async function on (a clear error).
            return self._grouped(capture, self.pipeline.identify(request))
        group = self._awaiting(request)
        if group is None or group.__class__ is Group:
            return self._grouped(capture, group)
        if on_loop:
            return group
        # The sync chain under ASGI (a sync-only middleware below this one), or a
        # failure: this thread is Django's, off the loop, which awaits the function.
        try:
            return self._grouped(capture, async_to_sync(_awaited)(group))
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not await the grouping "
                                         "function; the request is not logged")
            return self._grouped(capture, None)

    def _grouped(self, capture: _Capture, group: Optional[Group]) -> Optional[Group]:
        capture.group = group
        try:
            capture.grouped()
        except Exception:  # pragma: no cover - attribute reads and writes only
            self.pipeline.logger.debug("readme_metrics: request body not handed back",
                                     exc_info=True)
        return group

    def _failed(self, capture: _Capture) -> None:
        """Something below raised out of Django's own handling: still log a 500."""
        try:
            capture.recorder.responded = time.perf_counter()
            capture.recorder.fail()
            if self._identify(capture) is None:
                self.pipeline.skip()
                return
            capture.finish()
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")

    def _complete(self, capture: _Capture, response: Any, group: Optional[Group]) -> Any:
        try:
            if group is None:
                self.pipeline.skip()
                return response
            url = self.pipeline.documentation_url(capture.recorder.log_id)
            if url is not None and not response.has_header("x-documentation-url"):
                response["x-documentation-url"] = url  # the app's own is kept
            capture.respond(response)
            if getattr(response, "streaming", False):
                self._stream(capture, response)
            else:
                capture.recorder.record(bytes(response.content))
                if capture.finish_in_close:
                    _finish_at_close(self.pipeline, capture, response)
                else:
                    capture.finish()
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")
        return response

    def _stream(self, capture: _Capture, response: Any) -> None:
        # Closing the response (the server does, after the last chunk) finishes the log
        # even when the iterator was never started.
        _finish_at_close(self.pipeline, capture, response)
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
            response.streaming_content = _async_stream(capture, response.streaming_content)
        else:
            response.streaming_content = _sync_stream(capture, response.streaming_content)
