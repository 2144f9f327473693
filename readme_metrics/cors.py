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
``normalise_origin`` is importable from either module); what to answer is decided by
:mod:`readme_metrics.cors_rules` (shared with the ASGI middleware; ``CORSRules``,
``Headers`` and ``with_headers`` are importable from here too); this module only answers
requests.

.. autoclass:: CORSMiddleware
"""

from __future__ import annotations

import logging
import typing as t

from readme_metrics._http import as_given
from readme_metrics._logging import QuietLogger, reloader_parent
from readme_metrics.app_shape import other_kind
from readme_metrics.cors_rules import CORSRules, Headers, with_headers
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
