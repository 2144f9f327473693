"""Reading an ASGI ``http`` scope: url, headers, client IP and proxy trust (SPEC 4, 5).

The ASGI twin of the WSGI environ readers: the same url reconstruction (the request
target as received, the query string left percent-encoded), the same header names (the
WSGI server's ``X-Api-Key`` form, so one app logs the same under either protocol) and the
same ``trusted_proxies`` rule (the last N hops of X-Forwarded-For/-Proto/-Host, as
werkzeug's ProxyFix). Everything here runs on the delivery worker, from a
:func:`snapshot` taken on the request path.
"""

from __future__ import annotations

import io
from typing import Any, MutableMapping, Optional
from urllib.parse import quote

from readme_metrics.middleware import _PATH_SAFE, _URL_SAFE, _latin1_to_text

Scope = MutableMapping[str, Any]

# The keys the log is built from. The scope also holds app objects (Starlette puts the
# app, router, endpoint and state there): the worker must not keep those alive.
_KEYS = ("method", "scheme", "server", "client", "root_path", "path", "raw_path",
         "query_string", "http_version")

_HEADER_NAMES: dict[bytes, str] = {}
_HEADER_NAMES_MAX = 2048  # bounded: random header names from clients cannot grow it


def snapshot(scope: Scope) -> dict[str, Any]:
    """The pieces of ``scope`` a log needs, with the header list copied."""
    taken = {key: scope[key] for key in _KEYS if key in scope}
    taken["headers"] = tuple(scope.get("headers") or ())
    return taken


def _name(raw: bytes) -> str:
    """``b"x-api-key"`` -> ``"X-Api-Key"``: the names a WSGI server's environ gives."""
    name = _HEADER_NAMES.get(raw)
    if name is None:
        name = "-".join(part.capitalize() for part in raw.decode("latin-1").split("-"))
        if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
            _HEADER_NAMES[raw] = name
    return name


def _text(value: bytes) -> str:
    return _latin1_to_text(value.decode("latin-1"))


def request_headers(scope: Scope) -> list[tuple[str, str]]:
    """Every request header, names in the WSGI form, values decoded as a WSGI server does."""
    return [(_name(bytes(name)), _text(bytes(value))) for name, value in scope["headers"]]


def header(scope: Scope, name: bytes) -> Optional[str]:
    """The last value of header ``name`` (lower-case bytes), or None."""
    found = None
    for key, value in scope.get("headers") or ():
        if bytes(key).lower() == name:
            found = bytes(value).decode("latin-1")
    return found


def _forwarded(scope: Scope, name: bytes, trusted: int) -> Optional[str]:
    """The value a trusted proxy set, counting ``trusted`` hops from the right."""
    if trusted <= 0:
        return None
    raw = header(scope, name)
    if not raw:
        return None
    values = [part.strip() for part in raw.split(",")]
    return values[-trusted] if len(values) >= trusted else None


def _host(scope: Scope, scheme: str, trusted: int) -> str:
    host = _forwarded(scope, b"x-forwarded-host", trusted) or header(scope, b"host")
    if host:
        return host
    server = scope.get("server")
    if not server:
        return "localhost"
    name, port = server[0], server[1]
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return str(name)
    return f"{name}:{port}"


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        target = bytes(raw).decode("latin-1")
    else:
        path = scope.get("path") or ""
        root = scope.get("root_path") or ""
        if root and not path.startswith(root):
            path = root + path
        target = quote(path.encode("utf-8", "surrogateescape"), safe=_PATH_SAFE)
    if not target.startswith("/"):
        target = "/" + target  # "*" of OPTIONS *: the url still needs a path
    query = scope.get("query_string")
    if query:
        target = f"{target}?{bytes(query).decode('latin-1')}"
    if not target.isascii() or " " in target or not target.isprintable():
        target = quote(target.encode("latin-1"), safe=_URL_SAFE)
    return target


def request_url(scope: Scope, trusted_proxies: int = 0) -> str:
    """scheme://host[:port]/path?query as received (``raw_path`` when the server gives it)."""
    scheme = (_forwarded(scope, b"x-forwarded-proto", trusted_proxies)
              or scope.get("scheme") or "http")
    return f"{scheme}://{_host(scope, scheme, trusted_proxies)}{_target(scope)}"


def client_ip(scope: Scope, trusted_proxies: int = 0) -> str:
    """The peer address, or the X-Forwarded-For hop set by the outermost trusted proxy."""
    forwarded = _forwarded(scope, b"x-forwarded-for", trusted_proxies)
    if forwarded:
        return forwarded
    client = scope.get("client")
    return str(client[0]) if client else ""


def http_version(scope: Scope) -> str:
    """``HTTP/1.1``, ``HTTP/2`` ... as the SERVER_PROTOCOL of a WSGI environ."""
    return f"HTTP/{scope.get('http_version') or '1.1'}"


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """A PEP 3333 environ for ``scope`` with ``body`` as its input (for a webob.Request).

    Strings are latin-1 decoded bytes as PEP 3333 wants; the scope itself stays reachable
    as ``environ["asgi.scope"]``.
    """
    server = scope.get("server") or ("localhost", 80)
    path = (scope.get("path") or "").encode("utf-8", "surrogateescape").decode("latin-1")
    root = (scope.get("root_path") or "").encode("utf-8", "surrogateescape").decode("latin-1")
    if root and path.startswith(root):
        path = path[len(root):]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": root,
        "PATH_INFO": path,
        "QUERY_STRING": bytes(scope.get("query_string") or b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else ""),
        "SERVER_PROTOCOL": http_version(scope),
        "REMOTE_ADDR": client_ip(scope),
        "wsgi.url_scheme": scope.get("scheme") or "http",
        "wsgi.input": io.BytesIO(body),
        "asgi.scope": scope,
    }
    for name, value in scope.get("headers") or ():
        key = bytes(name).decode("latin-1").upper().replace("-", "_")
        text = bytes(value).decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = text
        else:
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{text}" if key in environ else text
    if "CONTENT_LENGTH" in environ or body:
        environ["CONTENT_LENGTH"] = str(len(body))  # the body the request holds
    return environ
