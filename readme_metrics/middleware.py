"""The WSGI capture: wrap any PEP 3333 app and record each exchange (SPEC section 5).

What it trusts: the server's environ (REMOTE_ADDR, Host, wsgi.url_scheme) and, only when
``trusted_proxies`` says so, the last N hops of X-Forwarded-For/-Proto/-Host, as
werkzeug's ProxyFix does. What it guarantees the app: the same request bytes, the same
response bytes in the same chunks at the same moments, ``close()`` called exactly once,
exceptions unchanged, and a ``wsgi.file_wrapper`` response handed back as the very same
object. The request thread only copies references, counts bytes and calls the grouping
function; parsing and HAR building happen on the delivery worker.
"""

from __future__ import annotations

import io
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional
from urllib.parse import quote

import webob

from readme_metrics.config import MetricsApiConfig
from readme_metrics.exchange import Exchange, Group
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_UNKNOWN: Any = object()  # the grouping function has not run yet
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # keep what a valid request target may hold, escapes too
# What a path segment may hold literally (RFC 3986 pchar and "/"; brackets because clients
# send them raw). "%", "?" and "#" are not in it: in a decoded PATH_INFO they can only
# have arrived percent-encoded, and left bare they would end the path or start an escape.
_PATH_SAFE = "/!$&'()*+,;=:@[]~"


class _InputTee:
    """``wsgi.input`` stand-in: the app reads exactly what it would, we keep a copy.

    Reads are clamped to CONTENT_LENGTH, so nothing ever reads past the body; without a
    length every call is passed through as is (chunked input, ``wsgi.input_terminated``).
    At most ``limit`` bytes are kept while ``size`` counts them all, so a huge upload
    streams through with bounded memory. ``pull`` lets the grouping function read ahead
    of the app: those bytes wait in ``_pending`` and the app receives them next, in order.
    """

    __slots__ = ("_input", "declared", "_remaining", "_limit", "captured", "size",
                 "_pending", "eof", "terminated")

    def __init__(self, wsgi_input: Any, length: Optional[int], limit: int,
                 terminated: bool = False) -> None:
        self._input = wsgi_input
        self.declared = length  # None: unknown length (chunked or not given)
        # A chunked body on a server that ends wsgi.input at the body's end: reading it
        # to the end is safe even without a length.
        self.terminated = terminated
        self._remaining = length
        self._limit = limit
        self.captured = bytearray()
        self.size = 0
        self._pending = b""
        self.eof = length == 0

    @property
    def body_size(self) -> int:
        """Bytes of the request body: read to the end, declared, or -1 if unknown."""
        if self.eof:
            return self.size
        if self.declared is not None:
            return self.declared
        return -1 if self.size else 0

    def _source(self, method: str, size: Optional[int]) -> bytes:
        remaining = self._remaining
        if remaining is not None:
            if remaining <= 0:
                self.eof = True
                return b""
            if size is None or size < 0 or size > remaining:
                size = remaining
        if size is None:  # called without a size (chunked input): pass the call as is
            data = getattr(self._input, method)()
        else:
            data = getattr(self._input, method)(size)
        if size is None or size < 0:
            # read()/readline() without a limit read to the end (or to the end of a line)
            self.eof = method == "read" or not data.endswith(b"\n")
        elif not data and size > 0:
            self.eof = True
        n = len(data)
        if n:
            self.size += n
            if remaining is not None:
                self._remaining = remaining = remaining - n
                if remaining <= 0:
                    self.eof = True
            room = self._limit - len(self.captured)
            if room > 0:
                self.captured += data[:room] if n > room else data
        return data  # type: ignore[no-any-return,unused-ignore]

    def _take_pending(self, size: Optional[int]) -> bytes:
        data = self._pending
        if size is None or size < 0 or size >= len(data):
            self._pending = b""
            return data
        self._pending = data[size:]
        return data[:size]

    def read(self, *args: Any) -> bytes:
        size = args[0] if args else None
        if self._pending:
            return self._take_pending(size)
        return self._source("read", size)

    def readline(self, *args: Any) -> bytes:
        size = args[0] if args else None
        if self._pending:
            pending = self._pending
            limit = size if size is not None and size >= 0 else -1
            end = pending.find(b"\n", 0, limit if limit >= 0 else len(pending))
            if end >= 0:
                return self._take_pending(end + 1)
            if 0 <= limit <= len(pending):
                return self._take_pending(limit)
            head = self._take_pending(None)
            return head + self.readline(limit - len(head) if limit >= 0 else -1)
        return self._source("readline", size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def pull(self, size: int) -> bytes:
        """Read ahead for the grouping function; the app gets these bytes later."""
        data = self._source("read", size)
        self._pending += data
        return data

    def drain(self) -> None:
        """After the response: read what the app left unread, up to the capture limit.

        Only with a declared length or a terminated chunked input (any other read
        without a length could block on a live connection) and never past the body; the
        server would discard these bytes anyway.
        """
        if self.declared is None and not self.terminated:
            return
        while not self.eof and len(self.captured) < self._limit:
            if not self._source("read", min(65536, self._limit - len(self.captured))):
                return


class _ReplayInput(io.RawIOBase):
    """The body as the grouping function sees it: what was read so far, then the rest."""

    def __init__(self, tee: _InputTee) -> None:
        self._tee = tee
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        tee = self._tee
        want = len(buffer)
        if self._pos < len(tee.captured):
            chunk = bytes(tee.captured[self._pos:self._pos + want])
        elif self._pos == tee.size and not tee.eof:
            chunk = tee.pull(want)
        else:
            return 0  # the end, or a middle part over max_body_bytes that was not kept
        self._pos += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _LazyReplay:
    """``wsgi.input`` of the grouping request: the replay reader is built on first read."""

    __slots__ = ("_tee", "_reader")

    def __init__(self, tee: _InputTee) -> None:
        self._tee = tee
        self._reader: Optional[io.BufferedReader] = None

    def _get(self) -> io.BufferedReader:
        if self._reader is None:
            self._reader = io.BufferedReader(_ReplayInput(self._tee))
        return self._reader

    def read(self, *args: Any) -> bytes:
        return self._get().read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._get().readline(*args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._get().readlines(*args)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._get())


def _status_parts(status: str) -> tuple[int, str]:
    code_text, _, reason = status.partition(" ")
    try:
        code = int(code_text)
    except ValueError:
        return 500, status
    if not reason:
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = ""
    return code, reason


# environ key -> header name ("HTTP_X_API_KEY" -> "X-Api-Key"), or "" for a key that is
# not a header. The same few dozen keys come with every request and translating one costs
# a split, a join and a capitalize per part (most of what building the headers cost, 1 us
# each on a slow core), so each is translated once. Bounded: a client sending random
# header names cannot grow it; past the bound names are simply translated every time.
_HEADER_NAMES: dict[str, str] = {}
_HEADER_NAMES_MAX = 2048


def _header_name(key: str) -> str:
    name = _HEADER_NAMES.get(key)
    if name is None:
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        else:
            name = ""
        if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
            _HEADER_NAMES[key] = name
    return name


def _latin1_to_text(value: str) -> str:
    """WSGI strings are latin-1 decoded bytes; recover UTF-8 text when that is what it was."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _wsgi_bytes(value: str) -> bytes:
    """The bytes behind a WSGI string (latin-1 by PEP 3333; UTF-8 if a server broke it)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def _forwarded(environ: dict[str, str], key: str, trusted: int) -> Optional[str]:
    """The value a trusted proxy set, counting ``trusted`` hops from the right."""
    raw = environ.get(key)
    if not raw or trusted <= 0:
        return None
    values = [part.strip() for part in raw.split(",")]
    return values[-trusted] if len(values) >= trusted else None


def request_url(environ: dict[str, str], trusted_proxies: int = 0) -> str:
    """scheme://host[:port]/path?query as received (PEP 3333 reconstruction + raw URI)."""
    scheme = _forwarded(environ, "HTTP_X_FORWARDED_PROTO", trusted_proxies) or environ.get(
        "wsgi.url_scheme", "http"
    )
    host = _forwarded(environ, "HTTP_X_FORWARDED_HOST", trusted_proxies) or environ.get(
        "HTTP_HOST"
    )
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT", "")
        if port and (scheme, port) not in (("http", "80"), ("https", "443")):
            host = f"{host}:{port}"
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        target = raw
    elif raw and "://" in raw:  # absolute-form request target (proxy style)
        after = raw.split("://", 1)[1]
        slash = after.find("/")
        target = after[slash:] if slash >= 0 else "/"
    else:
        # No raw request target (wsgiref, direct calls): PATH_INFO is decoded, so encode
        # it again. QUERY_STRING is raw (PEP 3333) and stays as received.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(_wsgi_bytes(path), safe=_PATH_SAFE) or "/"
        query = environ.get("QUERY_STRING", "")
        if query:
            target = f"{target}?{query}"
    if not target.isascii() or " " in target or not target.isprintable():
        target = quote(_wsgi_bytes(target), safe=_URL_SAFE)
    return f"{scheme}://{host}{target}"


def request_headers(environ: dict[str, str]) -> list[tuple[str, str]]:
    """Every HTTP header of the request, Content-Type and Content-Length included."""
    headers: list[tuple[str, str]] = []
    names = _HEADER_NAMES
    for key, value in environ.items():
        name = names.get(key)  # inlined cache lookup: this loop runs for every log
        if name is None:
            name = _header_name(key)
        if name:
            headers.append((name, value if value.isascii() else _latin1_to_text(value)))
    content_type = environ.get("CONTENT_TYPE")
    if content_type and not (
        # wsgiref's server invents "text/plain" when a request has no Content-Type;
        # a body-less request with exactly that is its default, not what was sent.
        content_type == "text/plain"
        and not environ.get("CONTENT_LENGTH")
        and environ.get("SERVER_SOFTWARE", "").startswith("WSGIServer/")
    ):
        headers.append(("Content-Type", _latin1_to_text(content_type)))
    if environ.get("CONTENT_LENGTH"):
        headers.append(("Content-Length", environ["CONTENT_LENGTH"]))
    return headers


def content_length(environ: dict[str, str]) -> Optional[int]:
    """The declared request body length (CONTENT_LENGTH), None when absent or invalid."""
    raw = environ.get("CONTENT_LENGTH")
    try:
        length = int(raw) if raw else None
    except ValueError:
        return None
    return length if length is None or length >= 0 else None


def client_ip(environ: dict[str, str], trusted_proxies: int = 0) -> str:
    """REMOTE_ADDR, or the X-Forwarded-For hop set by the outermost trusted proxy."""
    forwarded = _forwarded(environ, "HTTP_X_FORWARDED_FOR", trusted_proxies)
    return forwarded or environ.get("REMOTE_ADDR", "")


class _WSGIPending:
    """What the request thread enqueues: raw pieces; the worker builds the Exchange."""

    __slots__ = (
        "environ", "trusted_proxies", "log_id", "started", "group", "request_body",
        "request_body_size", "status", "response_headers", "response_body",
        "response_body_size", "response_body_omitted", "wait", "duration", "nbytes",
    )

    def __init__(self, capture: _Capture, group: Group, finished: float) -> None:
        self.environ = capture.snapshot
        self.trusted_proxies = capture.pipeline.config.trusted_proxies
        self.log_id = capture.log_id
        self.started = capture.started
        self.group = group
        tee = capture.tee
        self.request_body = bytes(tee.captured) if tee is not None else b""
        self.request_body_size = tee.body_size if tee is not None else 0
        self.status = capture.status or "500 Internal Server Error"
        self.response_headers = capture.headers_out
        # One kept chunk (the usual case) is handed over as is: joining a single bytes
        # object returns that very object, no copy.
        self.response_body = b"".join(capture.body)
        self.response_body_size = capture.body_size
        self.response_body_omitted = capture.omitted
        begin = capture.begin
        self.wait = max(0.0, (capture.responded or finished) - begin)
        self.duration = max(self.wait, finished - begin)
        self.nbytes = len(self.request_body) + len(self.response_body)

    def to_exchange(self) -> Exchange:
        environ = self.environ
        code, reason = _status_parts(self.status)
        return Exchange(
            id=self.log_id,
            started=self.started,
            method=environ.get("REQUEST_METHOD", "GET"),
            url=request_url(environ, self.trusted_proxies),
            http_version=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            request_headers=request_headers(environ),
            client_ip=client_ip(environ, self.trusted_proxies),
            group=self.group,
            request_body=self.request_body,
            request_body_size=self.request_body_size,
            status=code,
            status_text=reason,
            response_headers=[(str(k), _latin1_to_text(str(v))) for k, v in
                              self.response_headers],
            response_body=self.response_body,
            response_body_size=self.response_body_size,
            response_body_omitted=self.response_body_omitted,
            wait=self.wait,
            duration=self.duration,
        )


class _Capture:
    """State of one exchange while the app runs and its response is sent."""

    __slots__ = (
        "middleware", "pipeline", "environ", "snapshot", "tee", "log_id", "started",
        "begin", "responded", "status", "headers_out", "body", "kept", "body_size", "limit",
        "omitted", "group", "done", "_start_response",
    )

    def __init__(self, middleware: MetricsMiddleware, environ: WSGIEnvironment,
                 start_response: StartResponse) -> None:
        self.middleware = middleware
        self.pipeline = pipeline = middleware.pipeline
        self.environ = environ
        self.begin = time.perf_counter()
        self.started = time.time()
        # Strings only: the worker must not keep the server's socket objects alive, and
        # a later app or dispatcher rewriting PATH_INFO must not change what is logged.
        self.snapshot = {k: v for k, v in environ.items() if v.__class__ is str}
        self.log_id = pipeline.new_id()
        self.limit = pipeline.config.max_body_bytes
        self.responded = 0.0
        self.status = ""
        self.headers_out: list[tuple[str, str]] = []
        # The kept response chunks (at most ``limit`` bytes in all), by reference: copying
        # a 100 KB body into a buffer and out again cost more than the rest of the request
        # path (fresh large allocations fault their pages in).
        self.body: list[bytes] = []
        self.kept = 0
        self.body_size = 0
        self.omitted = False
        self.group: Any = _UNKNOWN
        self.done = False
        self._start_response = start_response
        self.tee: Optional[_InputTee] = None
        wsgi_input = environ.get("wsgi.input")
        if wsgi_input is not None:
            length = content_length(environ)
            terminated = (length is None and bool(environ.get("HTTP_TRANSFER_ENCODING"))
                          and environ.get("wsgi.input_terminated") is True)
            self.tee = _InputTee(wsgi_input, length, self.limit, terminated)
            environ["wsgi.input"] = self.tee
            # An outer webob layer may have marked the input seekable; the tee is not, and
            # webob in the app would call seek() on it. Unmarked, webob copies the body.
            environ.pop("webob.is_body_seekable", None)

    # -- identification ----------------------------------------------------------------

    def _identify(self) -> Optional[Group]:
        if self.group is _UNKNOWN:
            try:
                request = self.middleware.grouping_request(self.environ, self.tee)
                self.group = self.pipeline.identify(request)
            except Exception:
                self.group = None
        return self.group  # type: ignore[no-any-return,unused-ignore]

    # -- the app's side ----------------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Optional[OptExcInfo] = None) -> Callable[[bytes], Any]:
        self.status = status
        self.responded = time.perf_counter()
        group = self._identify()
        if group is not None:
            url = self.pipeline.documentation_url(self.log_id)
            if url is not None:
                headers = [*headers, ("x-documentation-url", url)]
        self.headers_out = headers
        if exc_info is None:
            write = self._start_response(status, headers)
        else:
            write = self._start_response(status, headers, exc_info)

        def capture_write(data: bytes) -> Any:
            self.record(data)
            return write(data)

        return capture_write

    def record(self, chunk: bytes) -> None:
        n = len(chunk)
        self.body_size += n
        room = self.limit - self.kept
        if room > 0 and n:
            part = chunk[:room] if n > room else chunk
            if part.__class__ is not bytes:
                try:  # a mutable buffer (bytearray, memoryview) could change later: copy
                    part = bytes(memoryview(part))
                except TypeError:  # not bytes: the server will complain to the app, not us
                    return
            self.body.append(part)
            self.kept += len(part)

    def finish(self) -> None:
        """Turn the exchange into one queued log (exactly once). Never raises."""
        if self.done:
            return
        self.done = True
        try:
            finished = time.perf_counter()
            group = self._identify()
            if group is None:
                self.pipeline.skip()
                return
            if self.tee is not None and not self.environ.get("HTTP_EXPECT"):
                self.tee.drain()
            self.pipeline.submit(_WSGIPending(self, group, finished))
        except Exception:
            self.pipeline.config.logger.exception("readme_metrics: could not record a request")

    def fail(self) -> None:
        """The app raised: log what we know (status 500 unless a response had started)."""
        if not self.status:
            self.status = "500 Internal Server Error"
        self.finish()

    def wrap(self, result: Iterable[bytes]) -> Iterable[bytes]:
        file_wrapper = self.environ.get("wsgi.file_wrapper")
        if (file_wrapper is not None and isinstance(file_wrapper, type)
                and isinstance(result, file_wrapper)):
            # Same object back, so the server keeps its sendfile fast path.
            self.omitted = True
            self.body_size = self._response_content_length()
            self.finish()
            return result
        if type(result) in (list, tuple) and self.status:
            for chunk in result:
                self.record(chunk)
            self.finish()
            return result
        if hasattr(result, "__len__"):
            return _SizedResponse(self, result)
        return _Response(self, result)

    def _response_content_length(self) -> int:
        for name, value in self.headers_out:
            if name.lower() == "content-length":
                try:
                    return int(value)
                except ValueError:
                    return -1
        return -1


class _Response:
    """The app's iterable, passed through chunk by chunk; closing it finishes the log."""

    __slots__ = ("_capture", "_result", "_iterator", "_closed")

    def __init__(self, capture: _Capture, result: Iterable[bytes]) -> None:
        self._capture = capture
        self._result = result
        self._iterator: Optional[Iterator[bytes]] = None
        self._closed = False

    def __iter__(self) -> _Response:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._result)
        try:
            chunk = next(self._iterator)
        except StopIteration:
            raise
        except BaseException:
            self._capture.fail()
            raise
        self._capture.record(chunk)
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        except BaseException:
            self._capture.fail()
            raise
        finally:
            self._capture.finish()


class _SizedResponse(_Response):
    """Same, for iterables with a length (servers use ``len() == 1`` for Content-Length)."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)  # type: ignore[arg-type]


class MetricsMiddleware:
    """Log every request/response exchange of a WSGI app to ReadMe's Metrics API.

    .. code-block:: python

        from readme_metrics import MetricsApiConfig, MetricsMiddleware

        app.wsgi_app = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
            api_key="rdme_...",
            grouping_function=lambda req: {"api_key": req.headers["X-Api-Key"]},
        ))

    The grouping function receives a :class:`webob.Request` whose body can be read.
    """

    def __init__(self, app: WSGIApplication, config: MetricsApiConfig) -> None:
        self.app = app
        self.config = config
        self.pipeline = MetricsPipeline(config)

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        try:
            wanted = self.pipeline.wants(
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
            )
            capture = _Capture(self, environ, start_response) if wanted else None
        except Exception:  # never let the library break a request
            self.config.logger.exception("readme_metrics: could not start capturing")
            wanted, capture = False, None
        if capture is None:
            if not wanted:
                self.pipeline.skip()
            return self.app(environ, start_response)
        try:
            result = self.app(environ, capture.start_response)
        except BaseException:
            capture.fail()
            raise
        return capture.wrap(result)

    def grouping_request(self, environ: WSGIEnvironment, body: Optional[_InputTee]) -> Any:
        """What the grouping function receives: a webob.Request whose body can be read.

        A body the app already read past ``max_body_bytes`` was streamed, not kept: the
        request then holds the kept prefix as its whole body (webob would otherwise
        raise DisconnectionError for the missing bytes and the exchange would be lost).
        """
        request_environ = dict(environ)
        if body is not None:
            request_environ.pop("webob.is_body_seekable", None)
            if body.size > len(body.captured):
                request_environ["wsgi.input"] = io.BytesIO(bytes(body.captured))
                request_environ["CONTENT_LENGTH"] = str(len(body.captured))
            else:
                request_environ["wsgi.input"] = _LazyReplay(body)
        return webob.Request(request_environ)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send every queued log now; True when all of them were delivered."""
        return self.pipeline.flush(timeout)

    def close(self) -> None:
        """Flush within shutdown_timeout and stop the worker (idempotent; run at exit)."""
        self.pipeline.close()

    @property
    def stats(self) -> dict[str, int]:
        """Counters: captured, skipped, queued, sent, dropped, failed_batches, retries."""
        return self.pipeline.stats
