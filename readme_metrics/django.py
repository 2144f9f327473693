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
the response is closed. Works under WSGI and ASGI (sync and async middleware chains).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from readme_metrics.config import MetricsApiConfig
from readme_metrics.exchange import Exchange, Group
from readme_metrics.middleware import client_ip, content_length, request_headers, request_url
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
_pipelines: dict[int, tuple[MetricsApiConfig, MetricsPipeline]] = {}
_pipelines_lock = threading.Lock()
_default_config: list[MetricsApiConfig] = []


def _configured() -> MetricsApiConfig:
    config = getattr(settings, "README_METRICS_CONFIG", None)
    if config is None:
        if not _default_config:
            try:
                _default_config.append(MetricsApiConfig())
            except ValueError as exc:
                raise ImproperlyConfigured(
                    f"{exc} (or set settings.README_METRICS_CONFIG to a MetricsApiConfig)"
                ) from exc
        return _default_config[0]
    if not isinstance(config, MetricsApiConfig):
        raise ImproperlyConfigured(
            "readme_metrics: settings.README_METRICS_CONFIG must be a MetricsApiConfig, "
            f"got {type(config).__name__}"
        )
    return config


def _pipeline_for(config: MetricsApiConfig) -> MetricsPipeline:
    with _pipelines_lock:
        known = _pipelines.get(id(config))
        if known is None or known[0] is not config:
            known = (config, MetricsPipeline(config))
            _pipelines[id(config)] = known
        return known[1]


class _BodyTee:
    """Stands in for ``request._stream``: the view reads as usual, a copy is kept.

    ``seek`` is passed through (Django measures seekable ASGI bodies before reading
    them); going back to the start restarts the copy so nothing is recorded twice.
    """

    def __init__(self, stream: Any, limit: int, declared: Optional[int]) -> None:
        self._stream = stream
        self._limit = limit
        self._declared = declared  # Content-Length, None when unknown (chunked ASGI)
        self.captured = bytearray()
        self.size = 0
        self.eof = declared == 0

    def _keep(self, data: bytes, asked: Optional[int]) -> bytes:
        n = len(data)
        if asked is None or asked < 0 or (n == 0 and asked > 0):
            self.eof = True
        if n:
            self.size += n
            room = self._limit - len(self.captured)
            if room > 0:
                self.captured += data[:room] if n > room else data
            if self._declared is not None and self.size >= self._declared:
                self.eof = True
        return data

    def read(self, size: Optional[int] = -1, *args: Any) -> bytes:
        return self._keep(self._stream.read(size, *args), size)

    def readline(self, size: Optional[int] = -1, *args: Any) -> bytes:
        line = self._stream.readline(size, *args)
        if not line:
            self.eof = True
        return self._keep(line, 0)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def seek(self, offset: int, whence: int = 0) -> int:
        position: int = self._stream.seek(offset, whence)
        if position == 0:
            self.captured.clear()
            self.size = 0
            self.eof = self._declared == 0
        return position

    def close(self) -> None:
        self._stream.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # e.g. copy() probing before __init__ ran: no recursion
            raise AttributeError(name)
        return getattr(self._stream, name)

    def drain(self) -> None:
        """Read what the view left unread, up to the capture limit (Django bounds it)."""
        while not self.eof and len(self.captured) < self._limit:
            if not self.read(min(65536, self._limit - len(self.captured))):
                return


class _DjangoPending:
    """The queued item: raw pieces of one exchange; the worker builds the Exchange."""

    __slots__ = ("meta", "trusted_proxies", "log_id", "started", "group", "request_body",
                 "request_body_size", "status", "status_text", "response_headers",
                 "response_body", "response_body_size", "response_body_omitted", "wait",
                 "duration", "nbytes")

    def __init__(self, capture: _Capture, group: Group, finished: float) -> None:
        self.meta = capture.meta
        self.trusted_proxies = capture.pipeline.config.trusted_proxies
        self.log_id = capture.log_id
        self.started = capture.started
        self.group = group
        self.request_body, self.request_body_size = capture.request_body()
        self.status = capture.status
        self.status_text = capture.status_text
        self.response_headers = capture.response_headers
        self.response_body = bytes(capture.body)
        self.response_body_size = capture.body_size
        self.response_body_omitted = capture.omitted
        self.wait = max(0.0, (capture.responded or finished) - capture.begin)
        self.duration = max(self.wait, finished - capture.begin)
        self.nbytes = len(self.request_body) + len(self.response_body)

    def to_exchange(self) -> Exchange:
        meta = self.meta
        return Exchange(
            id=self.log_id,
            started=self.started,
            method=meta.get("REQUEST_METHOD", "GET"),
            url=request_url(meta, self.trusted_proxies),
            http_version=meta.get("SERVER_PROTOCOL", "HTTP/1.1"),
            request_headers=request_headers(meta),
            client_ip=client_ip(meta, self.trusted_proxies),
            group=self.group,
            request_body=self.request_body,
            request_body_size=self.request_body_size,
            status=self.status,
            status_text=self.status_text,
            response_headers=self.response_headers,
            response_body=self.response_body,
            response_body_size=self.response_body_size,
            response_body_omitted=self.response_body_omitted,
            wait=self.wait,
            duration=self.duration,
        )


def _wsgi_meta(request: HttpRequest) -> dict[str, str]:
    """META as WSGI strings, so the WSGI middleware's URL and header helpers apply."""
    meta = {k: v for k, v in request.META.items() if v.__class__ is str}
    # Django replaces PATH_INFO/SCRIPT_NAME by decoded text; WSGI strings are the raw
    # bytes read as latin-1, which request_url percent-encodes back exactly.
    for key in ("PATH_INFO", "SCRIPT_NAME"):
        if key in meta and not meta[key].isascii():
            meta[key] = meta[key].encode("utf-8", "surrogateescape").decode("latin-1")
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):  # ASGI: fill in what a WSGI environ would carry
        meta.setdefault("wsgi.url_scheme", str(scope.get("scheme") or "http"))
        meta.setdefault("SERVER_PROTOCOL", f"HTTP/{scope.get('http_version') or '1.1'}")
        raw_path = scope.get("raw_path")
        if isinstance(raw_path, bytes) and raw_path.startswith(b"/"):
            query = meta.get("QUERY_STRING", "")
            meta["RAW_URI"] = raw_path.decode("latin-1") + (f"?{query}" if query else "")
    return meta


class _Capture:
    """One exchange seen by the Django middleware, from request to closed response."""

    def __init__(self, pipeline: MetricsPipeline, request: HttpRequest) -> None:
        self.pipeline = pipeline
        self.request = request
        self.begin = time.perf_counter()
        self.started = time.time()
        self.log_id = pipeline.new_id()
        self.limit = pipeline.config.max_body_bytes
        self.meta = _wsgi_meta(request)
        self.responded = 0.0
        self.status = 500
        self.status_text = "Internal Server Error"
        self.response_headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.body_size = 0
        self.omitted = False
        self.group: Optional[Group] = None
        self._done = False
        self._lock = threading.Lock()
        self.tee: Optional[_BodyTee] = None
        stream = getattr(request, "_stream", None)
        if stream is not None and not hasattr(request, "_body") and not getattr(
            request, "_read_started", False
        ):
            self.tee = _BodyTee(stream, self.limit, content_length(self.meta))
            request._stream = self.tee

    # -- request body --------------------------------------------------------------------

    def settle_request_body(self, streaming: bool) -> None:
        """After the view: make the body recorded, and readable by the grouping function."""
        request = self.request
        if hasattr(request, "_body") or self.tee is None:
            return
        if not getattr(request, "_read_started", False):
            declared = content_length(self.meta)
            if declared is not None and declared <= self.limit:
                # The view did not read it: read it the way Django does, so it stays
                # readable (request.body, a streaming view reading later) and is recorded.
                # Too big for Django's limits or the client went away: no body then.
                with contextlib.suppress(Exception):
                    request.body  # noqa: B018
            return
        tee = self.tee
        if not tee.eof and not streaming:
            # The view read part of it and is done (a streaming body may still read on).
            with contextlib.suppress(Exception):
                tee.drain()
        if tee.eof and tee.size <= self.limit:
            # The view consumed the stream (request.POST for multipart, read()): give
            # request.body back to the grouping function from the copy.
            request._body = bytes(tee.captured)

    def request_body(self) -> tuple[bytes, int]:
        raw = getattr(self.request, "_body", None)
        if isinstance(raw, bytes) and (self.tee is None or self.tee.size <= len(raw)):
            return raw[: self.limit], len(raw)
        tee = self.tee
        if tee is None:
            return b"", 0
        if not tee.eof:
            # Unread and larger than max_body_bytes: record the start. The handler may
            # have closed the body file already, then there is nothing more to have.
            with contextlib.suppress(Exception):
                tee.drain()
        declared = content_length(self.meta)
        if tee.eof:
            return bytes(tee.captured), tee.size
        return bytes(tee.captured), declared if declared is not None else -1

    # -- response ----------------------------------------------------------------------

    def respond(self, response: HttpResponseBase) -> None:
        self.status = response.status_code
        self.status_text = response.reason_phrase

    def headers_of(self, response: HttpResponseBase) -> None:
        headers = [(str(name), str(value)) for name, value in response.items()]
        for cookie in response.cookies.values():
            headers.append(("Set-Cookie", cookie.output(header="").strip()))
        self.response_headers = headers

    def record(self, chunk: bytes) -> None:
        n = len(chunk)
        self.body_size += n
        room = self.limit - len(self.body)
        if room > 0 and n:
            self.body += chunk[:room] if n > room else chunk

    def finish(self) -> None:
        """Queue the log, exactly once. Never raises."""
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            if self.group is not None:
                self.pipeline.submit(_DjangoPending(self, self.group, time.perf_counter()))
        except Exception:
            self.pipeline.config.logger.exception("readme_metrics: could not record a request")


def _sync_stream(capture: _Capture, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            capture.record(chunk)
            yield chunk
    finally:
        capture.finish()


async def _async_stream(capture: _Capture, chunks: AsyncIterator[bytes]
                        ) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            capture.record(chunk)
            yield chunk
    finally:
        capture.finish()


class MetricsMiddleware:
    """Django middleware logging every exchange to ReadMe's Metrics API.

    Configured by ``settings.README_METRICS_CONFIG`` (a :class:`MetricsApiConfig`), or
    from the ``README_*`` environment variables when that setting is absent. The
    grouping function receives Django's ``HttpRequest`` (``request.user`` works).
    Sync and async capable: under ASGI it runs without a thread switch per request,
    except for the grouping function, which is user code that may touch the database.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any],
                 config: Optional[MetricsApiConfig] = None) -> None:
        # ``config`` as in the official package, for code that builds the chain itself.
        self.get_response = get_response
        self.config = config if config is not None else _configured()
        self.pipeline = _pipeline_for(self.config)
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
        capture.responded = time.perf_counter()
        group = self._identify(capture, response)
        return self._complete(capture, response, group)

    async def __acall__(self, request: HttpRequest) -> Any:
        """The async chain (ASGI): same steps, the grouping function in a thread."""
        capture = self._start(request)
        if capture is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            await sync_to_async(self._failed)(capture)
            raise
        capture.responded = time.perf_counter()
        # Sync user code (request.user hits the database), so not on the event loop.
        group = await sync_to_async(self._identify)(capture, response)
        return self._complete(capture, response, group)

    # -- steps ---------------------------------------------------------------------------

    def _start(self, request: HttpRequest) -> Optional[_Capture]:
        try:
            meta = request.META
            host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME", "")
            if not self.pipeline.wants(request.method or "GET", str(host)):
                self.pipeline.skip()
                return None
            return _Capture(self.pipeline, request)
        except Exception:  # never let the library break a request
            self.config.logger.exception("readme_metrics: could not start capturing")
            return None

    def _identify(self, capture: _Capture, response: Any = None) -> Optional[Group]:
        try:
            capture.settle_request_body(bool(getattr(response, "streaming", False)))
        except Exception:
            self.config.logger.debug("readme_metrics: request body not settled",
                                     exc_info=True)
        capture.group = self.pipeline.identify(capture.request)
        return capture.group

    def _failed(self, capture: _Capture) -> None:
        """Something below raised out of Django's own handling: still log a 500."""
        try:
            capture.responded = time.perf_counter()
            if self._identify(capture) is None:
                self.pipeline.skip()
                return
            capture.finish()
        except Exception:
            self.config.logger.exception("readme_metrics: could not record a request")

    def _complete(self, capture: _Capture, response: Any, group: Optional[Group]) -> Any:
        try:
            if group is None:
                self.pipeline.skip()
                return response
            capture.respond(response)
            url = self.pipeline.documentation_url(capture.log_id)
            if url is not None:
                response["x-documentation-url"] = url
            capture.headers_of(response)
            if getattr(response, "streaming", False):
                self._stream(capture, response)
            else:
                capture.record(bytes(response.content))
                capture.finish()
        except Exception:
            self.config.logger.exception("readme_metrics: could not record a request")
        return response

    def _stream(self, capture: _Capture, response: Any) -> None:
        # Closing the response (the server does, after the last chunk) finishes the log
        # even when the iterator was never started.
        response._resource_closers.append(capture.finish)
        meta = capture.request.META
        if getattr(response, "file_to_stream", None) is not None and meta.get(
            "wsgi.file_wrapper"
        ):
            # Django hands the file itself to the server (sendfile): keep that fast path
            # and log the size from Content-Length, without the body.
            capture.omitted = True
            try:
                capture.body_size = int(response.get("Content-Length", -1))
            except ValueError:
                capture.body_size = -1
            return
        if getattr(response, "is_async", False):
            response.streaming_content = _async_stream(capture, response.streaming_content)
        else:
            response.streaming_content = _sync_stream(capture, response.streaming_content)
