"""Reading an ASGI ``http`` scope: the ASGI side of :mod:`readme_metrics.capture.request_head`.

:class:`ScopeRequest` is the :class:`~readme_metrics.capture.request_head.RequestSource` of the
ASGI adapter: on the event loop it keeps references to the few scope pieces a log needs;
on the delivery worker it gives the same URL (the request target as received, the query
string left percent-encoded), header names (the ``X-Api-Key`` form a WSGI environ gives,
so one app logs the same under either protocol) and client IP (``trusted_proxies`` hops of
X-Forwarded-*) as the WSGI adapter, through the shared functions. :func:`wsgi_environ`
builds the environ of the webob request the plain ASGI middleware's grouping function
receives.
"""

from __future__ import annotations

import io
from operator import itemgetter
from typing import Any, Optional, Sequence
from urllib.parse import quote

from readme_metrics.asgi_types import Scope
from readme_metrics.capture.forwarded import pick_client_ip
from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.request_head import RequestHead
from readme_metrics.capture.request_url import (
    PATH_SAFE,
    authority_form,
    build_url,
    server_host,
    under_mount,
)

__all__ = ["ScopeRequest", "header", "wsgi_environ"]


# The keys the log is built from.
_KEYS = ("method", "scheme", "server", "client", "root_path", "path", "raw_path",
         "query_string", "http_version")
_TAKE = itemgetter(*_KEYS)

_HEADER_NAMES: dict[bytes, str] = {}
_HEADER_NAMES_MAX = 2048  # bounded: random header names from clients cannot grow it


def header(scope: Scope, name: bytes) -> Optional[str]:
    """The value of header ``name`` (lower-case bytes), or None; repeated lines are joined
    with ", " in order, as RFC 9110 (5.3) combines them and WSGI servers do in the
    environ (each proxy may add its own X-Forwarded-For line)."""
    found = [bytes(value).decode("latin-1") for key, value in scope.get("headers") or ()
             if bytes(key).lower() == name]
    return ", ".join(found) if found else None


def _name(raw: bytes) -> str:
    """``b"x-api-key"`` -> ``"X-Api-Key"``: the names a WSGI server's environ gives."""
    name = _HEADER_NAMES.get(raw)
    if name is None:
        name = "-".join(part.capitalize() for part in raw.decode("latin-1").split("-"))
        if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
            _HEADER_NAMES[raw] = name
    return name


def _server_host(scope: Scope) -> str:
    """host[:port] from the scope's ``server``, for a request without a Host header."""
    server = scope.get("server")
    if not server:
        return "localhost"
    return server_host(str(server[0]), server[1], scope.get("scheme") or "http")


def request_path(scope: Scope) -> str:
    """The path the client requested, percent-encoded as received: ``raw_path`` when
    the server gives it, under the app's mount point ``root_path``.

    A proxy serving the app under a prefix passes it the path without it, and the server
    is told the prefix (``--root-path``): uvicorn puts it in ``raw_path`` and ``path``,
    hypercorn in neither. A path that does not start with it gets it, so the same
    request is logged with the URL the client asked for under both.
    """
    raw = scope.get("raw_path")
    if raw:
        path = bytes(raw).decode("latin-1")
        if "://" in path and not path.startswith("/"):
            # An absolute-form target ("GET http://host/p"), which h11 servers pass on
            # whole (uvicorn with httptools gives "/p"): its path, as the WSGI side logs.
            path = "/" + path.partition("://")[2].partition("/")[2]
    else:
        path = quote((scope.get("path") or "").encode("utf-8", "surrogateescape"),
                     safe=PATH_SAFE)
    root = scope.get("root_path")
    if root:
        path = under_mount(path, quote(str(root).rstrip("/").encode(
            "utf-8", "surrogateescape"), safe=PATH_SAFE))
    if path.startswith("/"):
        return path
    # CONNECT's "host:port" (h11 servers pass it on whole) has no path; "*" of OPTIONS *
    # gets one.
    return "" if authority_form(path) else "/" + path


def _target(scope: Scope) -> str:
    """The request target: the path the client requested and the query as received."""
    path = request_path(scope)
    query = scope.get("query_string")
    return f"{path}?{bytes(query).decode('latin-1')}" if query else path


class ScopeRequest:
    """The request pieces of an ASGI scope, kept by reference, parsed on the worker.

    Also picks out what the capture decides with: Host, Content-Length,
    Transfer-Encoding, Expect and User-Agent (header names are lower-case in ASGI; the
    first value of a repeated header counts, as Starlette's ``request.headers`` and
    ``request.url`` read it).
    """

    __slots__ = ("values", "trusted_proxies", "nbytes", "length", "chunked", "expect",
                 "_host", "_agent")

    def __init__(self, scope: Scope, trusted_proxies: int = 0) -> None:
        # A copy of the list: an inner middleware may change the scope's list in place.
        given = scope.get("headers") or ()
        headers = tuple(given)
        if (given.__class__ is not list and given.__class__ is not tuple
                and iter(given) is given):
            # An iterator (ASGI's headers are any iterable) is read up now: the app and
            # the grouping request read the pairs from the scope after this, as a list.
            scope["headers"] = list(headers)
        # Only these keys: the scope also holds app objects (Starlette puts the app,
        # router and endpoint there) that the worker must not keep alive.
        try:
            values = _TAKE(scope)
        except KeyError:  # a key the server may leave out (raw_path, root_path, ...)
            values = tuple(map(scope.get, _KEYS))
        self.values: tuple[Any, ...] = (*values, headers)
        self.trusted_proxies = trusted_proxies
        # One pass over the pairs: their bytes counted (for the queue's memory bound)
        # without copying them, and each name's first value. First lines win: uvicorn
        # (httptools) and granian pass two Host lines on, and the app's framework reads
        # the first; the last let a client add a Host outside allowed_http_hosts to go
        # unlogged. (A join of every name and value counted them in one C call, but a
        # 50 MB header, which uvicorn takes, was copied on the event loop to be counted;
        # and the join with a dict of the pairs cost 3.5k instructions more for 13.)
        nbytes = 0
        found: dict[Any, Any] = {}
        try:
            for name, value in reversed(headers):
                nbytes += len(name) + len(value)
                found[name] = value
        except TypeError:
            # A name that is a bytearray (no valid ASGI, but Starlette's request and most
            # apps read it as bytes) is no dict key: the names as bytes (hostile20: the
            # exchange went unlogged, with an error and its traceback each request).
            nbytes, found = _first_values(headers)
        self.nbytes = nbytes
        length = found.get(b"content-length")
        self.length: Optional[str] = (None if length is None
                                      else bytes(length).decode("latin-1"))
        self.chunked = b"transfer-encoding" in found
        self.expect = b"expect" in found
        # Decoded when asked (:attr:`host`, :attr:`agent`): the Host on the worker, but
        # for allowed_http_hosts; the User-Agent for a POST only (see the middleware).
        self._host = found.get(b"host")
        self._agent = found.get(b"user-agent")

    @property
    def host(self) -> Optional[str]:
        """The Host header (the first line), or None."""
        host = self._host
        return None if host is None else bytes(host).decode("latin-1")

    @property
    def agent(self) -> Optional[str]:
        """The User-Agent header (the first line), or None."""
        agent = self._agent
        return None if agent is None else bytes(agent).decode("latin-1")

    def head(self) -> RequestHead:
        """Method, URL, version, headers and client IP (on the worker)."""
        scope = dict(zip(_KEYS + ("headers",), self.values))
        trusted = self.trusted_proxies
        proto = forwarded_host = forwarded_for = None
        if trusted > 0:  # X-Forwarded-* count only behind trusted proxies
            proto = header(scope, b"x-forwarded-proto")
            forwarded_host = header(scope, b"x-forwarded-host")
            forwarded_for = header(scope, b"x-forwarded-for")
        client = scope.get("client")
        return (
            scope.get("method") or "GET",
            build_url(scope.get("scheme") or "http", self.host or _server_host(scope),
                      _target(scope), proto, forwarded_host, trusted),
            http_version(scope),
            [(_name(bytes(name)), header_text(bytes(value).decode("latin-1")))
             for name, value in scope["headers"]],
            pick_client_ip(str(client[0]) if client else "", forwarded_for, trusted),
        )


def _first_values(headers: tuple[Any, ...]) -> tuple[int, dict[bytes, Any]]:
    """(the bytes of the ``headers``' names and values, each name's first value under
    the name as bytes): :meth:`ScopeRequest.__init__`'s pass for names of another type."""
    nbytes = 0
    found: dict[bytes, Any] = {}
    for name, value in reversed(headers):
        nbytes += len(name) + len(value)
        found[bytes(name)] = value
    return nbytes, found


def http_version(scope: Scope) -> str:
    """``HTTP/1.1``, ``HTTP/2`` ... as the SERVER_PROTOCOL of a WSGI environ."""
    return f"HTTP/{scope_version(scope)}"


def scope_version(scope: Scope) -> str:
    """The scope's ``http_version`` ("1.1" when none): granian gives "1" for an HTTP/1.0
    request (the ASGI spec says "1.0"), which was logged ``HTTP/1``."""
    version = scope.get("http_version") or "1.1"
    return "1.0" if version == "1" else version


# header name -> environ key (b"x-api-key" -> "HTTP_X_API_KEY"), bounded as _HEADER_NAMES.
_ENVIRON_KEYS: dict[bytes, str] = {}
# The usual ports as SERVER_PORT strings: a look-up, not an int made a str per request.
_PORTS = {80: "80", 443: "443", 8000: "8000", 8080: "8080"}
# The keys every environ starts with, in wsgi_environ's order (a template's first keys).
_FIXED = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
          "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "wsgi.url_scheme", "wsgi.input",
          "asgi.scope")
# An environ of those keys alone, copied for headers not seen before (see _ENVIRON_PLANS).
_BARE_TEMPLATE: dict[str, Any] = dict.fromkeys(_FIXED)
# A request's header names, in order -> their environ keys, and a template of the environ:
# its fixed keys, then the headers' keys, every value None. Copying a dict of every key
# and filling it in costs fewer instructions than adding 24 keys to a new dict (no
# resize, no new key inserted). The few sets of headers an API's clients send (bounded:
# clients sending random names cannot grow it).
_ENVIRON_PLANS: dict[tuple[bytes, ...], tuple[dict[str, Any], tuple[str, ...]]] = {}
_ENVIRON_NAMES_MAX = 64


def _environ_key(name: bytes) -> str:
    key = name.decode("latin-1").upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    if len(_ENVIRON_KEYS) < _HEADER_NAMES_MAX:
        _ENVIRON_KEYS[name] = key
    return key


def _wsgi_str(text: str) -> str:
    """A decoded ASGI path as PEP 3333 wants it: its UTF-8 bytes read as latin-1."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("latin-1")


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """A PEP 3333 environ for ``scope`` with ``body`` as its input (for a webob.Request).

    Strings are latin-1 decoded bytes as PEP 3333 wants; the scope itself stays reachable
    as ``environ["asgi.scope"]``. Runs on the event loop for every logged request, so the
    headers go in through C calls: a copy of the template of their names' environ (see
    :data:`_ENVIRON_PLANS`), then one ``update``.
    """
    headers = scope.get("headers") or ()
    try:
        # The usual case in C calls, no Python loop: the names and values apart, the
        # names' keys and template known from earlier requests, the values decoded in
        # one go (a line break is in no header value a server passes on; if one were,
        # the count of parts would tell, and the values are decoded one by one instead).
        names_, values = zip(*headers)
        plan = _ENVIRON_PLANS.get(names_)  # one look-up, not one per name
        if plan is None:
            plan = _environ_plan(names_)
        template, names = plan
        texts = b"\n".join(values).decode("latin-1").split("\n")
        if len(texts) != len(names):
            raise ValueError
    except (KeyError, ValueError, TypeError):  # a name not seen before, no pairs, ...
        template = _BARE_TEMPLATE
        keys = _ENVIRON_KEYS
        try:
            names = tuple([keys[name] for name, _ in headers])
        except (KeyError, TypeError):  # a header name not seen before, or a bytearray
            names = tuple([keys.get(bytes(name)) or _environ_key(bytes(name))
                           for name, _ in headers])
        # ASGI header values are bytes (or bytearray): decoded as they are, no copy first.
        texts = [value.decode("latin-1") for _, value in headers]
    server = scope.get("server") or ("localhost", 80)
    port = server[1]
    query = scope.get("query_string")
    path = scope.get("path") or ""
    if not path.isascii():  # _wsgi_str()'s test first: a call fewer for most paths
        path = _wsgi_str(path)
    root = scope.get("root_path") or ""
    if root:
        root = _wsgi_str(root)
        if path.startswith(root):
            path = path[len(root):]
    # The fixed keys in _FIXED's order (the template's first keys: set, not added).
    environ = template.copy()
    environ["REQUEST_METHOD"] = scope.get("method", "GET")
    environ["SCRIPT_NAME"] = root
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = (
        query.decode("latin-1") if query.__class__ is bytes
        else bytes(query or b"").decode("latin-1"))  # bytes as servers give it: no copy
    environ["SERVER_NAME"] = str(server[0])
    environ["SERVER_PORT"] = ((_PORTS.get(port) if port.__class__ is int else None)
                              or str(port if port is not None else ""))
    environ["SERVER_PROTOCOL"] = ("HTTP/1.1" if scope.get("http_version") == "1.1"
                                  else http_version(scope))  # the usual one: no call
    environ["REMOTE_ADDR"] = str((scope.get("client") or [""])[0])
    environ["wsgi.url_scheme"] = scope.get("scheme") or "http"
    environ["wsgi.input"] = io.BytesIO(body)
    environ["asgi.scope"] = scope
    environ.update(zip(names, texts))
    if len(environ) != len(_FIXED) + len(names):  # a repeated header
        _join_repeated(environ, names, headers)
    if "CONTENT_LENGTH" in environ or body:
        environ["CONTENT_LENGTH"] = str(len(body))  # the body the request holds
    return environ


def _environ_plan(names: tuple[bytes, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The environ keys of header ``names`` and the template of their environ, kept for
    the next request with the same names (KeyError for a name not seen before)."""
    keys = tuple(map(_ENVIRON_KEYS.__getitem__, names))
    template = dict.fromkeys(_FIXED)
    template.update(dict.fromkeys(keys))
    plan = template, keys
    if len(_ENVIRON_PLANS) < _ENVIRON_NAMES_MAX:
        _ENVIRON_PLANS[names] = plan
    return plan


def _join_repeated(environ: dict[str, Any], names: Sequence[str], headers: Any) -> None:
    """Put every value of a repeated header in, joined with commas as PEP 3333 says."""
    values: dict[str, list[str]] = {}
    for key, (_, value) in zip(names, headers):
        values.setdefault(key, []).append(bytes(value).decode("latin-1"))
    for key, parts in values.items():
        environ[key] = ",".join(parts)
