"""Django's ``request.META`` as WSGI strings, so the shared URL and header helpers apply.

Django decodes PATH_INFO and SCRIPT_NAME: the raw path bytes are put back (as latin-1,
bytes that were no UTF-8 from Django's escapes); under ASGI, what a WSGI environ would
carry is filled in from the scope.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from django.http import HttpRequest

from readme_metrics.capture.asgi_scope import request_path, scope_version

__all__ = ["method_sent", "wsgi_meta"]


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


def wsgi_meta(request: HttpRequest) -> dict[str, str]:
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
        method = scope.get("method")
        if isinstance(method, str) and method:
            # As sent (RFC 9110 9.1: case-sensitive), as under WSGI: Django's ASGI
            # handler upper-cases META's, and a "fetch" was logged "FETCH" (newcomer22).
            meta["REQUEST_METHOD"] = method
        meta.setdefault("wsgi.url_scheme", str(scope.get("scheme") or "http"))
        meta.setdefault("SERVER_PROTOCOL", f"HTTP/{scope_version(scope)}")
        raw_path = scope.get("raw_path")
        if isinstance(raw_path, bytes) and raw_path.startswith(b"/"):
            query = meta.get("QUERY_STRING", "")
            meta["RAW_URI"] = request_path(scope) + (f"?{query}" if query else "")
    return meta


def method_sent(request: HttpRequest, meta: Mapping[str, Any]) -> str:
    """The request's method as the client sent it, which ``skip_methods`` is compared
    with, as in the WSGI and ASGI middlewares: Django upper-cases ``request.method`` (and,
    under ASGI, ``META["REQUEST_METHOD"]``), and a custom method listed in lower case
    ("fetch", kept as written) never matched it (review98)."""
    scope = getattr(request, "scope", None)  # an ASGIRequest's: under ASGI
    method = scope.get("method") if isinstance(scope, dict) else meta.get("REQUEST_METHOD")
    return method if isinstance(method, str) and method else (request.method or "GET")
