"""Cross-Origin Resource Sharing for any WSGI app, configured from the environment.

Browsers only let a page on one origin read responses from another when the response
says so with ``Access-Control-*`` headers, and they ask first (a "preflight" ``OPTIONS``)
before sending anything but the simplest requests. This middleware answers preflights
from allowed origins itself and adds the headers to the app's responses for them.

What it trusts: the ``Origin`` request header and nothing else. An origin is allowed only
when its ``scheme://host:port`` equals a configured one (case and default ports
normalised), so look-alikes such as ``https://evil-example.com`` or
``https://example.com.evil.com`` never match ``https://example.com``. ``*`` allows every
origin, but only when configured explicitly. Requests without an allowed origin are passed
to the app and answered with the app's response, with ``Origin`` added to its ``Vary``
alone: once any origin is configured, every answer depends on the Origin header (with
CORS headers or without), and a shared cache that kept the answer without them must not
serve it to an allowed origin, which the browser would then refuse. With no origin
configured, nothing depends on Origin and not a header is touched.

.. autoclass:: CORSMiddleware
"""

from __future__ import annotations

import contextlib
import logging
import re
import typing as t

from readme_metrics._env import flag, setting
from readme_metrics._http import is_token

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# A serialised origin as browsers send it: scheme://host[:port], nothing else (no path,
# no user info, no spaces). "null" (sandboxed frames, file:// pages) does not match.
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~]+)"
    r"(?::(?P<port>[0-9]{1,5}))?\Z"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Ten minutes: preflights are cached by the browser that long, yet a configuration
# change still reaches every client quickly (Chromium caps the value at two hours).
_DEFAULT_MAX_AGE = 600

Headers = t.List[t.Tuple[str, str]]


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without its default port, or None."""
    match = _ORIGIN.match(origin.strip())
    if match is None:
        return None
    scheme, host, port = match.group("scheme", "host", "port")
    scheme, host = scheme.lower(), host.lower()
    if port is not None:
        number = int(port)
        if number > 65535:
            return None
        if number != _DEFAULT_PORTS.get(scheme):
            return f"{scheme}://{host}:{number}"
    return f"{scheme}://{host}"


def _names(option: str, variable: str, value: t.Any) -> list[str]:
    """A comma-separated string or a sequence of strings, as a clean list."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, t.Iterable) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        items = [value]  # refused just below, with the option's name
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"readme_metrics: {option} ({variable}) must be strings, got {value!r}")
    return [item.strip() for item in items if item.strip()]


def _tokens(option: str, variable: str, value: t.Any) -> list[str]:
    names = _names(option, variable, value)
    for name in names:
        if name != "*" and not is_token(name):
            raise ValueError(
                f"readme_metrics: {option} ({variable}) has an invalid name {name!r}"
            )
    return names


def _configured_origin(value: str) -> str:
    """Normalise one configured origin; IDN hosts become punycode as browsers send them."""
    text = value.strip().rstrip("/")
    scheme, sep, hostport = text.partition("://")
    if sep and not hostport.isascii():
        host, colon, port = hostport.partition(":")
        # A host idna cannot encode stays as is and is reported just below.
        with contextlib.suppress(UnicodeError):
            text = scheme + sep + host.encode("idna").decode("ascii") + colon + port
    origin = normalise_origin(text)
    if origin is None:
        raise ValueError(
            "readme_metrics: allowed_origins (CORS_ALLOWED) entries must be "
            f"'scheme://host[:port]' or '*', got {value!r}"
        )
    return origin


def _token_list(option: str, variable: str, given: t.Any, default: t.Any) -> list[str]:
    value = setting(option, variable, given, "str")
    return _tokens(option, variable, default if value is None else value)


def _seconds(option: str, variable: str, given: t.Any) -> int:
    expects = "a whole number of seconds >= 0"
    age = setting(option, variable, given, "int", expects)
    age = _DEFAULT_MAX_AGE if age is None else age
    if isinstance(age, bool) or not isinstance(age, int) or age < 0:
        raise ValueError(f"readme_metrics: {option} ({variable}) must be {expects}, "
                         f"got {age!r}")
    return age


class CORSMiddleware:
    """Answer CORS preflights and add ``Access-Control-*`` headers for allowed origins.

    .. code-block:: python

        from readme_metrics.cors import CORSMiddleware

        app = CORSMiddleware(app, allowed_origins=["https://app.example.com"])

    Every option left out (None) is read from its environment variable (also from a
    ``.env`` file), then defaulted:

    ================= ====================== =========================================
    argument          environment            default
    ================= ====================== =========================================
    allowed_origins   CORS_ALLOWED           none (comma-separated; ``*`` = any)
    allow_credentials CORS_ALLOW_CREDENTIALS False
    allow_methods     CORS_ALLOW_METHODS     GET, HEAD, POST, PUT, PATCH, DELETE
    allow_headers     CORS_ALLOW_HEADERS     ``*``: echo the requested headers
    expose_headers    CORS_EXPOSE_HEADERS    none
    max_age           CORS_MAX_AGE           600 (seconds)
    ================= ====================== =========================================

    - A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from
      an allowed origin is answered ``204`` here, without calling the app. If it asks for
      a method or header name that is not a valid token, it is answered ``400`` without
      CORS headers. A method or header outside the configured lists is not refused here:
      the lists are sent and the browser enforces them.
    - A preflight from any other origin goes to the app, which answers it as any
      ``OPTIONS``; with no CORS headers in the answer the browser refuses.
    - Any other request from an allowed origin gets ``Access-Control-Allow-Origin``
      (``*`` with the ``*`` setting and no credentials, else the origin echoed),
      ``Access-Control-Allow-Credentials: true`` when configured, and
      ``Access-Control-Expose-Headers`` when configured. A header the app already set
      itself is left alone.
    - Every answer, from an allowed origin or not, with an Origin header or without, gets
      ``Origin`` in its ``Vary`` header (the app's kept and extended if it set one), so
      that caches keep one answer per origin; only with no origin configured is the
      app's response passed on unchanged.

    Invalid configuration raises ``ValueError`` naming the option and the variable.
    """

    def __init__(
        self,
        app: WSGIApplication,
        allowed_origins: t.Union[str, t.Sequence[str], None] = None,
        *,
        allow_credentials: t.Optional[bool] = None,
        allow_methods: t.Union[str, t.Sequence[str], None] = None,
        allow_headers: t.Union[str, t.Sequence[str], None] = None,
        expose_headers: t.Union[str, t.Sequence[str], None] = None,
        max_age: t.Optional[int] = None,
    ) -> None:
        self.app = app
        origins = _names(
            "allowed_origins", "CORS_ALLOWED",
            setting("allowed_origins", "CORS_ALLOWED", allowed_origins, "str") or (),
        )
        self.allow_any: bool = "*" in origins
        self.allowed_origins: frozenset[str] = frozenset(
            _configured_origin(origin) for origin in origins if origin != "*"
        )
        self.allow_credentials: bool = flag(
            "allow_credentials", "CORS_ALLOW_CREDENTIALS", allow_credentials, False)
        self.allow_methods: list[str] = [
            method.upper() for method in _token_list(
                "allow_methods", "CORS_ALLOW_METHODS", allow_methods, _DEFAULT_METHODS)
        ]
        self.allow_headers: list[str] = _token_list(
            "allow_headers", "CORS_ALLOW_HEADERS", allow_headers, "*")
        self.expose_headers: list[str] = _token_list(
            "expose_headers", "CORS_EXPOSE_HEADERS", expose_headers, ())
        self.max_age: int = _seconds("max_age", "CORS_MAX_AGE", max_age)
        if self.allow_any and self.allow_credentials:
            # Legal (the origin is echoed, never "*"), but it lets any site send
            # credentialed requests: say so once, where the operator will see it.
            logging.getLogger("readme_metrics").warning(
                "CORS allows any origin with credentials"
            )

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if not self.allow_any and not self.allowed_origins:
            return self.app(environ, start_response)  # no answer depends on Origin
        origin = environ.get("HTTP_ORIGIN")
        added: Headers = []  # not allowed: Vary alone, added by _with_headers
        if origin is not None and self._allowed(origin):
            if environ.get("REQUEST_METHOD") == "OPTIONS" and environ.get(
                "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
            ):
                return self._preflight(environ, origin, start_response)
            added = self._origin_headers(origin)
            if self.expose_headers:
                added.append(("Access-Control-Expose-Headers",
                              ", ".join(self.expose_headers)))

        def cors_start_response(
            status: str, headers: Headers, exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            headers = _with_headers(headers, added)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, cors_start_response)

    def _allowed(self, origin: str) -> bool:
        normalised = normalise_origin(origin)
        if normalised is None:
            return False
        return self.allow_any or normalised in self.allowed_origins

    def _origin_headers(self, origin: str) -> Headers:
        if self.allow_any and not self.allow_credentials:
            headers = [("Access-Control-Allow-Origin", "*")]
        else:
            # Browsers never accept "*" on a credentialed response: echo the origin
            # exactly as they sent it, which is the byte string they compare against.
            headers = [("Access-Control-Allow-Origin", origin)]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def _preflight(
        self, environ: WSGIEnvironment, origin: str, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        method = environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"].strip()
        requested = [
            name.strip()
            for name in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")
            if name.strip()
        ]
        if not is_token(method) or not all(is_token(name) for name in requested):
            body = b"Invalid CORS preflight request\n"
            start_response("400 Bad Request", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Vary", "Origin"),
            ])
            return [body]
        headers = self._origin_headers(origin)
        methods = [method] if "*" in self.allow_methods else self.allow_methods
        if methods:
            headers.append(("Access-Control-Allow-Methods", ", ".join(methods)))
        # "*" means "whatever was asked": echoing works with credentials too, where a
        # literal "*" would be taken as a header name by browsers.
        allowed = requested if "*" in self.allow_headers else self.allow_headers
        if allowed:
            headers.append(("Access-Control-Allow-Headers", ", ".join(allowed)))
        headers += [
            ("Access-Control-Max-Age", str(self.max_age)),
            ("Vary", "Origin"),
        ]
        # No Content-Length: RFC 9110 (8.6) forbids it on a 204, which has no body.
        start_response("204 No Content", headers)
        return []


def _with_headers(headers: Headers, added: Headers) -> Headers:
    """The app's headers plus ours: a header the app set wins, Vary is extended."""
    present = {name.lower() for name, _ in headers}
    result = list(headers)  # never mutate the app's own list
    result += [(name, value) for name, value in added if name.lower() not in present]
    vary = [index for index, (name, _) in enumerate(result) if name.lower() == "vary"]
    if not vary:
        result.append(("Vary", "Origin"))
        return result
    tokens = {
        token.strip().lower() for index in vary for token in result[index][1].split(",")
    }
    if "origin" not in tokens and "*" not in tokens:
        # Extend the app's first Vary in place, so its header order is kept.
        name, value = result[vary[0]]
        result[vary[0]] = (name, f"{value}, Origin" if value.strip() else "Origin")
    return result
