"""What a CORS middleware answers, decided from the checked options (:mod:`.cors_settings`).

Shared by the WSGI middleware (:mod:`readme_metrics.cors`) and the ASGI one
(:mod:`readme_metrics.asgi_cors`), which only translate: whether an ``Origin`` is
allowed, the headers added to an actual response for it, the answer to its preflight,
and the app's headers with ours added (a header the app set wins, ``Vary`` extended).
Pure; moved from :mod:`readme_metrics.cors`, as is (importable from there as before).
"""

from __future__ import annotations

import typing as t

from readme_metrics._http import is_token
from readme_metrics.cors_settings import CORSSettings, normalise_origin

__all__ = ["CORSRules", "Headers", "with_headers"]

Headers = t.List[t.Tuple[str, str]]


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
