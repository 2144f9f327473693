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

The options are read and checked once, at construction, by
:mod:`readme_metrics.cors_settings` (which also defines what an origin is, so
``normalise_origin`` is importable from either module); this module only answers requests.

.. autoclass:: CORSMiddleware
"""

from __future__ import annotations

import logging
import typing as t

from readme_metrics._http import as_given, is_token
from readme_metrics._logging import QuietLogger, reloader_parent
from readme_metrics.app_shape import other_kind
from readme_metrics.cors_settings import CORSSettings, normalise_origin

# WSGIApplication: in quotes in CORSMiddleware's base (CORSOptions["WSGIApplication"])
from readme_metrics.wsgi_types import StartResponse, WSGIApplication, WSGIEnvironment  # noqa: F401

__all__ = ["NO_ORIGIN", "CORSMiddleware", "CORSOptions", "CORSRules", "Headers",
           "normalise_origin", "with_headers"]

#: What is said when a CORS middleware is made with no origin allowed ({} its path).
NO_ORIGIN = (
    "readme_metrics: {} has no allowed origin (neither allowed_origins= nor CORS_ALLOWED), "
    "so it changes no response and answers no preflight: browsers refuse your API to "
    "pages on other origins as they would without it. Pass "
    "allowed_origins=[\"https://app.example.com\"] or set CORS_ALLOWED "
    "(comma-separated; * for any origin)")

Headers = t.List[t.Tuple[str, str]]
# A comma-separated string or a sequence of names (origins, methods, headers).
Names = t.Union[str, t.Sequence[str], None]


_App = t.TypeVar("_App")


class CORSOptions(t.Generic[_App]):
    """What both CORS middlewares are made of: the app they wrap, and the options read
    and checked once (:meth:`CORSSettings.read`) as the :class:`CORSRules` that answer.
    The WSGI middleware here and the ASGI one (:mod:`readme_metrics.asgi_cors`) take the
    same arguments through this one ``__init__``."""

    # The kind of app taken, this class's import path and its twin's, which takes the
    # other kind (named in the refusal of an app of that kind).
    _kind, _path, _twin = ("WSGI", "readme_metrics.cors.CORSMiddleware",
                           "readme_metrics.asgi.CORSMiddleware")

    # What is called with the app given: the ASGI one adapts an ASGI 2 app.
    @staticmethod
    def _callable(app: _App) -> _App:
        return app

    def __init__(
        self,
        app: _App,
        allowed_origins: Names = None,
        *,
        allow_credentials: t.Optional[bool] = None,
        allow_methods: Names = None,
        allow_headers: Names = None,
        expose_headers: Names = None,
        max_age: t.Optional[int] = None,
    ) -> None:
        other_kind(self._path, app, self._kind, self._twin)
        self.app = self._callable(app)
        self.rules = CORSRules(CORSSettings.read(
            allowed_origins=allowed_origins, allow_credentials=allow_credentials,
            allow_methods=allow_methods, allow_headers=allow_headers,
            expose_headers=expose_headers, max_age=max_age,
        ))
        if not self.rules.active and not reloader_parent():
            # A no-op, which a newcomer took for a CORS bug in the browser: say it once,
            # as the settings' own warning is said (newcomer35).
            QuietLogger(logging.getLogger("readme_metrics")).warning(
                NO_ORIGIN.format(self._path))


class CORSMiddleware(CORSOptions["WSGIApplication"]):
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
      ``Access-Control-Expose-Headers`` when configured (``*`` with credentials: the
      names of the app's headers, as a browser reads ``*`` literally then). A header the
      app already set itself is left alone.
    - Every answer, from an allowed origin or not, with an Origin header or without, gets
      ``Origin`` in its ``Vary`` header (the app's kept and extended if it set one), so
      that caches keep one answer per origin; only with no origin configured is the
      app's response passed on unchanged.

    Invalid configuration raises ``ValueError`` naming the option and the variable. Each
    option is also an attribute (``allowed_origins`` normalised, and ``allow_any``);
    setting one is checked the same way and takes effect from the next request.
    """

    # The options as attributes, read from (and set through) ``rules``: one set of
    # settings, so that setting one after construction takes effect at the next request
    # (it was a copy, ignored), checked as the argument is (ValueError; None: from the
    # environment, else the default).

    @property
    def allow_any(self) -> bool:
        """True when ``*`` is among the allowed origins."""
        return self.rules.settings.allow_any

    @allow_any.setter
    def allow_any(self, value: bool) -> None:
        origins = sorted(self.rules.settings.allowed_origins)
        self._change(allowed_origins=[*origins, "*"] if value else origins)

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The allowed origins, normalised (``*``: see :attr:`allow_any`)."""
        return self.rules.settings.allowed_origins

    @allowed_origins.setter
    def allowed_origins(self, value: Names) -> None:
        self._change(allowed_origins=value)

    @property
    def allow_credentials(self) -> bool:
        return self.rules.settings.allow_credentials

    @allow_credentials.setter
    def allow_credentials(self, value: bool) -> None:
        self._change(allow_credentials=value)

    @property
    def allow_methods(self) -> list[str]:
        return self.rules.settings.allow_methods

    @allow_methods.setter
    def allow_methods(self, value: Names) -> None:
        self._change(allow_methods=value)

    @property
    def allow_headers(self) -> list[str]:
        return self.rules.settings.allow_headers

    @allow_headers.setter
    def allow_headers(self, value: Names) -> None:
        self._change(allow_headers=value)

    @property
    def expose_headers(self) -> list[str]:
        return self.rules.settings.expose_headers

    @expose_headers.setter
    def expose_headers(self, value: Names) -> None:
        self._change(expose_headers=value)

    @property
    def max_age(self) -> int:
        return self.rules.settings.max_age

    @max_age.setter
    def max_age(self, value: int) -> None:
        self._change(max_age=value)

    def _change(self, **changed: t.Any) -> None:
        """New rules: the current settings, with ``changed`` (checked; the environment
        is not read again). Requests under way keep the rules they began with."""
        settings = self.rules.settings
        current: dict[str, t.Any] = {
            "allowed_origins": [*sorted(settings.allowed_origins),
                                *(["*"] if settings.allow_any else [])],
            "allow_credentials": settings.allow_credentials,
            "allow_methods": settings.allow_methods,
            "allow_headers": settings.allow_headers,
            "expose_headers": settings.expose_headers,
            "max_age": settings.max_age,
        }
        self.rules = CORSRules(CORSSettings.read(**{**current, **changed}))

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        rules = self.rules
        if not rules.active:
            return self.app(environ, start_response)  # no answer depends on Origin
        origin = environ.get("HTTP_ORIGIN")
        added: Headers = []  # not allowed: Vary alone, added by with_headers
        if origin is not None and rules.allowed(origin):
            method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
            if environ.get("REQUEST_METHOD") == "OPTIONS" and method:
                status, headers, body = rules.preflight(
                    origin, method, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
                start_response(status, headers)
                return [body] if body else []
            added = rules.actual_headers(origin)

        def cors_start_response(
            status: str, headers: Headers, exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            try:
                headers = as_given(headers, with_headers(headers, added))
            except Exception:  # not pairs of names: the server's to refuse, as bare
                pass
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, cors_start_response)


class CORSRules:
    """What to answer, decided from :class:`CORSSettings`: shared by the WSGI middleware
    here and the ASGI one (:mod:`readme_metrics.asgi_cors`), which only translate."""

    def __init__(self, settings: CORSSettings) -> None:
        self.settings = settings
        #: False with no origin configured: then no answer depends on Origin.
        self.active: bool = settings.allow_any or bool(settings.allowed_origins)

    def allowed(self, origin: str) -> bool:
        """Whether the request's ``Origin`` is one of the configured ones."""
        normalised = normalise_origin(origin)
        if normalised is None:
            return False
        return self.settings.allow_any or normalised in self.settings.allowed_origins

    def origin_headers(self, origin: str) -> Headers:
        settings = self.settings
        if settings.allow_any and not settings.allow_credentials:
            headers = [("Access-Control-Allow-Origin", "*")]
        else:
            # Browsers never accept "*" on a credentialed response: echo the origin
            # exactly as they sent it, which is the byte string they compare against.
            headers = [("Access-Control-Allow-Origin", origin)]
        if settings.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def actual_headers(self, origin: str) -> Headers:
        """The headers added to an actual response for an allowed ``origin``."""
        headers = self.origin_headers(origin)
        if self.settings.expose_headers:
            headers.append(("Access-Control-Expose-Headers",
                            ", ".join(self.settings.expose_headers)))
        return headers

    def preflight(self, origin: str, method: str, requested_headers: str
                  ) -> tuple[str, Headers, bytes]:
        """Status line, headers and body answering a preflight from an allowed origin."""
        method = method.strip()
        requested = [name.strip() for name in requested_headers.split(",") if name.strip()]
        if not is_token(method) or not all(is_token(name) for name in requested):
            body = b"Invalid CORS preflight request\n"
            return "400 Bad Request", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Vary", "Origin"),
            ], body
        settings = self.settings
        headers = self.origin_headers(origin)
        methods = [method] if "*" in settings.allow_methods else settings.allow_methods
        if methods:
            headers.append(("Access-Control-Allow-Methods", ", ".join(methods)))
        # "*" means "whatever was asked": echoing works with credentials too, where a
        # literal "*" would be taken as a header name by browsers.
        allowed = requested if "*" in settings.allow_headers else settings.allow_headers
        if allowed:
            headers.append(("Access-Control-Allow-Headers", ", ".join(allowed)))
        headers += [
            ("Access-Control-Max-Age", str(settings.max_age)),
            ("Vary", "Origin"),
        ]
        # No Content-Length: RFC 9110 (8.6) forbids it on a 204, which has no body.
        return "204 No Content", headers, b""


_CREDENTIALED = ("Access-Control-Allow-Credentials", "true")
# Never readable by a page whatever is exposed (Fetch's forbidden response header names),
# or ours.
_NOT_EXPOSED = ("set-cookie", "set-cookie2", "access-control-")


def with_headers(headers: Headers, added: Headers) -> Headers:
    """The app's headers plus ours: a header the app set wins, Vary is extended."""
    result = list(headers)  # never mutate the app's own list; read once (an iterator)
    present = {name.lower() for name, _ in result}
    if _CREDENTIALED in added:
        added = _exposed(added, result)
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
        result[vary[0]] = (name, _extended(value))
    return result


def _extended(value: str) -> str:
    """A Vary list with ``Origin`` added: as the app wrote it, or, when it holds an
    empty member or one twice (case folded), its members as the app spelled them, each
    once (``Accept,`` gave ``Accept,, Origin``: hostile59)."""
    tokens = [token.strip() for token in value.split(",")]
    members: dict[str, str] = {}
    for token in tokens:
        if token:
            members.setdefault(token.lower(), token)
    if len(members) == len(tokens):
        return f"{value}, Origin"
    return ", ".join([*members.values(), "Origin"])


def _exposed(added: Headers, headers: Headers) -> Headers:
    """``added`` (a credentialed answer's) with a ``*`` in Access-Control-Expose-Headers
    replaced by the names of the app's ``headers``: with credentials a browser takes
    ``*`` for a header named "*" (Fetch), so ``expose_headers="*"`` exposed nothing
    there; what it means without credentials is every header of the answer."""
    result = []
    for name, value in added:
        if name == "Access-Control-Expose-Headers":
            listed = [token.strip() for token in value.split(",")]
            if "*" in listed:
                names = {token.lower(): token for token in listed if token != "*"}
                for header, _ in headers:
                    lowered = header.lower()
                    if lowered not in names and not lowered.startswith(_NOT_EXPOSED):
                        names[lowered] = header
                if not names:
                    continue
                value = ", ".join(names.values())
        result.append((name, value))
    return result
