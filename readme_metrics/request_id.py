"""One id per request: in the environ, in every log line, on the response, downstream.

A request id lets you find every log line, metrics log and downstream call belonging to
one request. This middleware takes the id a proxy or client sent in the request header
(``X-Request-Id`` by default), or makes a uuid4, and makes it visible everywhere:

- ``environ["readme_metrics.request_id"]``, and the request header itself rewritten in the
  environ, so a :class:`readme_metrics.MetricsMiddleware` wrapped inside logs it among the
  request headers;
- :func:`current_request_id`, a context variable, right for threads and nested calls;
- :class:`RequestIdFilter`, which puts it on every log record as ``%(request_id)s``;
- the response header of the same name.

What it trusts: an incoming id only when it is a sane token (1 to 200 printable ASCII
characters, no spaces, no commas), since it ends up in log files and headers; anything
else is replaced. The ``Authorization`` header is kept in a context variable so the filter can
log the caller's token masked (``readme_metrics.masking.mask``), never in clear.

.. autoclass:: RequestIdMiddleware
.. autoclass:: RequestIdFilter
"""

from __future__ import annotations

import logging
import re
import typing as t
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from readme_metrics._env import blamed, flag, setting
from readme_metrics._http import as_given, is_token
from readme_metrics.app_shape import other_kind
from readme_metrics.capture.uwsgi_sendfile import NOTHING, record_sent_file, restore
from readme_metrics.masking import mask
from readme_metrics.wsgi_types import StartResponse, WSGIApplication, WSGIEnvironment

ENVIRON_KEY = "readme_metrics.request_id"
DEFAULT_HEADER = "X-Request-Id"

# Printable ASCII but a comma, which separates a header's list: a server joins two id
# lines with one (gunicorn "a,b", waitress "a, b"), and two ids are no id.
_SANE_ID = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,200}\Z")

_request_id: ContextVar[t.Optional[str]] = ContextVar("readme_metrics.request_id", default=None)
# The raw Authorization header of the current request: only the filter reads it, and only
# its mask ever leaves this module.
_authorization: ContextVar[t.Optional[str]] = ContextVar(
    "readme_metrics.authorization", default=None
)


def current_request_id() -> str | None:
    """The id of the request being handled in this thread or context, None outside one."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str, authorization: str | None) -> t.Iterator[None]:
    """The request's id and Authorization header set for the code run inside, then
    restored: for :class:`readme_metrics.asgi_request_id.RequestIdMiddleware`, whose app
    runs in one task (the WSGI middleware sets them around each step: ``_Scope``)."""
    id_token = _request_id.set(request_id)
    auth_token = _authorization.set(authorization)
    try:
        yield
    finally:
        _authorization.reset(auth_token)
        _request_id.reset(id_token)


class _Scope:
    """Set both context variables for one stretch of app code, then restore them."""

    def __init__(self, request_id: str, authorization: str | None) -> None:
        self.values = (request_id, authorization)

    def run(self, function: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        id_token = _request_id.set(self.values[0])
        auth_token = _authorization.set(self.values[1])
        try:
            return function(*args)
        finally:
            _authorization.reset(auth_token)
            _request_id.reset(id_token)


class _ScopedIterable:
    """The app's response, iterated and closed with the request's context set.

    Setting the variables around each step (rather than from the call until close) keeps
    them right when a server interleaves several responses in one thread.
    """

    def __init__(self, iterable: t.Iterable[bytes], scope: _Scope) -> None:
        self._iterable = iterable
        self._iterator = iter(iterable)
        self._scope = scope

    def __iter__(self) -> _ScopedIterable:
        return self

    def __next__(self) -> bytes:
        return t.cast(bytes, self._scope.run(next, self._iterator))

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            self._scope.run(close)


class _SizedScopedIterable(_ScopedIterable):
    """Same, for an iterable with a length: wsgiref and runserver send Content-Length
    when ``len(result) == 1``, and the metrics middleware's response can have one."""

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]


class HeaderNamed:
    """The twins' ``header``: the header carrying the id; one set later is checked as the
    argument is and read and echoed from the next request on (``_keyed``: the twin's own
    key for it, WSGI's environ key or ASGI's lowered bytes)."""

    _header: str

    @property
    def header(self) -> str:
        """The header carrying the id."""
        return self._header

    @header.setter
    def header(self, value: t.Optional[str]) -> None:
        name = header_name(value)
        self._header = name
        self._keyed(name)

    def _keyed(self, name: str) -> None:
        raise NotImplementedError


class RequestIdMiddleware(HeaderNamed):
    """Give every request an id, exposed to the app, the logs and the client.

    .. code-block:: python

        from readme_metrics.request_id import RequestIdMiddleware, current_request_id

        app = RequestIdMiddleware(app)              # header from REQUEST_ID_HEADER
        app = RequestIdMiddleware(app, header="X-Correlation-Id")

    :param header: request and response header carrying the id; default from the
        ``REQUEST_ID_HEADER`` environment variable, else ``X-Request-Id``.

    The response carries exactly one such header, with the id of this request: a value
    the app set itself is replaced, because two ids for one request would defeat the
    point. A response that is a ``wsgi.file_wrapper`` or a list is returned as is (no app
    code runs while it is sent, and the server keeps its fast path).
    """

    def __init__(self, app: WSGIApplication, header: t.Optional[str] = None) -> None:
        other_kind("readme_metrics.request_id.RequestIdMiddleware", app, "WSGI",
                   "readme_metrics.asgi.RequestIdMiddleware")
        self.app = app
        self.header = header  # None: REQUEST_ID_HEADER

    def _keyed(self, name: str) -> None:
        self.environ_key = "HTTP_" + name.upper().replace("-", "_")

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        request_id = self._request_id(environ.get(self.environ_key))
        environ[ENVIRON_KEY] = request_id
        environ[self.environ_key] = request_id
        scope = _Scope(request_id, environ.get("HTTP_AUTHORIZATION"))

        def id_start_response(
            status: str, headers: t.List[t.Tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            wanted = self.header.lower()
            try:
                kept = [item for item in headers if item[0].lower() != wanted]
            except Exception:  # not pairs of names: the server's to refuse, as bare
                pass
            else:
                kept.append((self.header, request_id))
                headers = as_given(headers, kept)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        if "uwsgi.version" not in environ:
            result = scope.run(self.app, environ, id_start_response)
            sent_file = NOTHING
        else:  # uWSGI's file_wrapper returns the file itself: see uwsgi_sendfile
            sent = record_sent_file(environ)
            try:
                result = scope.run(self.app, environ, id_start_response)
            finally:
                if sent is not None:
                    restore(environ, sent)
            sent_file = NOTHING if sent is None else sent.sent
        if (isinstance(result, (list, tuple)) or result is sent_file
                or _is_file_wrapper(environ, result)):
            return t.cast("t.Iterable[bytes]", result)
        if hasattr(result, "__len__"):
            return _SizedScopedIterable(result, scope)
        return _ScopedIterable(result, scope)

    @staticmethod
    def _request_id(incoming: object) -> str:
        return request_id_for(incoming)


def header_name(header: t.Optional[str]) -> str:
    """The header carrying the id: ``header``, else ``REQUEST_ID_HEADER``, else the
    default; ``ValueError`` naming the variable for anything that is no header name."""
    name = setting("header", "REQUEST_ID_HEADER", header, "str")
    name = DEFAULT_HEADER if name is None else name
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not is_token(name):
        with blamed("REQUEST_ID_HEADER", header, items=False):
            raise ValueError(
                f"readme_metrics: header (REQUEST_ID_HEADER) must be a header name, "
                f"got {name!r}"
            )
    return name


def request_id_for(incoming: object) -> str:
    """``incoming`` when it is a sane id (1 to 200 printable ASCII characters, no
    spaces, no commas: two id lines joined), else a new uuid4."""
    # Not a str: a broken server's environ (PEP 3333 says str), replaced all the same.
    if isinstance(incoming, str) and _SANE_ID.match(incoming):
        return incoming
    return str(uuid.uuid4())


def _is_file_wrapper(environ: WSGIEnvironment, result: object) -> bool:
    wrapper = environ.get("wsgi.file_wrapper")
    return isinstance(wrapper, type) and isinstance(result, wrapper)


def _bearer(authorization: str) -> str:
    """The credentials of an Authorization value: the token after ``Bearer``, or all."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return authorization.strip()


class RequestIdFilter(logging.Filter):
    """Put the current request's id (and masked token) on every log record.

    Sets ``record.request_id`` (``"-"`` outside a request) and ``record.auth_token``: the
    :func:`~readme_metrics.masking.mask` of the request's bearer token (of the whole
    ``Authorization`` value for other schemes) when ``log_tokens`` is true, else ``"-"``.
    The raw token is never put on a record. The filter never drops a record.

    .. code-block:: python

        logging.config.dictConfig({
            "version": 1,
            "filters": {"request_id": {"()": "readme_metrics.request_id.RequestIdFilter"}},
            "formatters": {"plain": {"format": "%(request_id)s %(auth_token)s %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler",
                                     "formatter": "plain", "filters": ["request_id"]}},
            "root": {"handlers": ["console"], "level": "INFO"},
        })

    :param log_tokens: default from the ``LOG_TOKENS`` environment variable, else True.
    """

    def __init__(self, name: str = "", log_tokens: t.Optional[bool] = None) -> None:
        super().__init__(name)
        self.log_tokens: bool = flag("log_tokens", "LOG_TOKENS", log_tokens, True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``request_id`` and ``auth_token`` to ``record``; always keep it."""
        record.request_id = _request_id.get() or "-"
        token = _authorization.get() if self.log_tokens else None
        credentials = _bearer(token) if token else ""
        record.auth_token = mask(credentials) if credentials else "-"
        return True
