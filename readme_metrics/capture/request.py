"""The request line, headers and caller of one exchange: URL, headers, client IP, proxy trust.

What it trusts: the server's own view (scheme, Host, remote address) and, only when
``trusted_proxies`` says so, the last N hops of X-Forwarded-For/-Proto/-Host, as
werkzeug's ProxyFix does.

API for every adapter (plain values in, plain values out, so a WSGI environ and an ASGI
scope both feed it):

- :func:`build_url` ``(scheme, host, target, forwarded_proto, forwarded_host, trusted)``:
  ``target`` is the raw request target (path and query as received, bytes read as
  latin-1); characters a URL cannot hold are percent-encoded.
- :func:`server_host` ``(name, port, scheme)``: the host of a request without Host.
- :func:`pick_client_ip` ``(remote_addr, forwarded_for, trusted)``.
- :func:`header_text` turns a latin-1 header string back into UTF-8 text when it was.
- :data:`RequestHead` is what the worker needs of a request; a :class:`RequestSource`
  (``nbytes`` and ``head()``) is kept on the request thread and parsed only on the worker.
  :class:`EnvironRequest` is the WSGI one; an ASGI adapter writes its own over the scope.

The WSGI helpers :func:`request_url`, :func:`request_headers`, :func:`client_ip` and
:func:`content_length` read an environ with these functions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv6Address, ip_address
from operator import itemgetter
from typing import Mapping, Optional, Protocol
from urllib.parse import quote, unquote_to_bytes

from readme_metrics.capture.environ_strings import PLANS_MAX, environ_strings, small_shape

__all__ = [
    "PATH_SAFE", "EnvironRequest", "RequestHead", "RequestSource", "authority_form", "build_url",
    "chunked_coding", "client_ip", "content_length", "forwarded", "header_text",
    "ip_text", "pick_client_ip", "request_headers", "request_url", "server_host", "under_mount",
    "url_authority", "wsgi_bytes",
]

# Keep what a valid request target may hold, escapes too. Not "#": a target has no
# fragment, so one a client sent raw (wsgiref, gunicorn's RAW_URI and h11 servers pass it
# on) is data, and left bare it would cut the query short of what queryString shows.
_URL_SAFE = "!$%&'()*+,/:;=?@[]~"
# What a path segment may hold literally (RFC 3986 pchar and "/"; brackets because clients
# send them raw). "%", "?" and "#" are not in it: in a decoded PATH_INFO they can only
# have arrived percent-encoded, and left bare they would end the path or start an escape.
PATH_SAFE = "/!$&'()*+,;=:@[]~"
# A path of nothing but what quote() leaves as it is (letters, digits, "_.-~" and
# PATH_SAFE), as most are: quoting it gives it back, so it is not quoted.
_PLAIN_PATH = re.compile(f"[A-Za-z0-9_.~\\-{re.escape(PATH_SAFE)}]*")
# A URL authority without user info (RFC 3986), port in group 1: "ex ample.com", "h/x?y"
# or "[::1" would make an invalid URL, or one that means something else; so would ":80",
# an empty host, which an http URI must not have (RFC 9110 4.2.1).
_AUTHORITY = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|(?:[0-9A-Za-z._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+)"
    r"(?::([0-9]{0,5}))?\Z"
)
# What a registered name may hold literally besides letters, digits and "_.-~".
_HOST_SAFE = "!$&'()*+,;="


#: The request as the worker logs it (everything but the body): ``(method, url,
#: http_version, headers, client_ip)``. A plain tuple, unpacked as soon as it is made
#: (:meth:`~readme_metrics.capture.recorder.PendingExchange.to_exchange`): an object of
#: five fields cost the worker about 2k instructions more per log.
RequestHead = tuple[str, str, str, list[tuple[str, str]], str]


class RequestSource(Protocol):
    """Raw request pieces kept on the request thread; ``head()`` parses them on the worker.

    ``nbytes`` counts what the pieces hold (for the queue's memory bound).
    """

    nbytes: int

    def head(self) -> RequestHead: ...


def header_text(value: str) -> str:
    """Header strings are latin-1 decoded bytes; recover UTF-8 text when that is what it was."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def wsgi_bytes(value: str) -> bytes:
    """The bytes behind a WSGI string (latin-1 by PEP 3333; UTF-8 if a server broke it)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def forwarded(raw: Optional[str], trusted: int) -> Optional[str]:
    """The value a trusted proxy set in a comma-separated header, ``trusted`` hops from right."""
    if not raw or trusted <= 0:
        return None
    # (Split from the right only as far as needed: a client's 500 KB of hops is not
    # made into a list of them for each request.)
    values = raw.rsplit(",", trusted)
    return values[-trusted].strip() if len(values) >= trusted else None


# What a URL's userinfo may hold literally besides letters, digits and "_.-~".
_USERINFO_SAFE = "!$&'()*+,;=:"


@lru_cache(maxsize=256)
def url_authority(host: str) -> str:
    """A Host header (client input) as received if a URL can hold it, else percent-encoded.

    A Host with ``user:password@`` (a hand-made client; no Host may hold one) gives a URL
    with that userinfo, which the log masks as any URL's credential (har.headers), where
    percent-encoded into the host it went out in clear."""
    if "@" in host:
        userinfo, _, host = host.rpartition("@")
        return quote(wsgi_bytes(userinfo), safe=_USERINFO_SAFE) + "@" + url_authority(host)
    found = _AUTHORITY.match(host)
    if found is not None and int(found.group(1) or 0) <= 65535:
        try:
            if host.startswith("["):
                IPv6Address(host[1:host.find("]")])
            return host
        except ValueError:
            pass
    return quote(wsgi_bytes(host), safe=_HOST_SAFE)


def server_host(name: str, port: object, scheme: str) -> str:
    """``host[:port]`` of the server's own address (a request without Host): the port left
    out when it is the scheme's default, an IPv6 address in brackets as a URL writes it.
    No name (an environ's SERVER_NAME "", which PEP 3333 does not allow) is "localhost",
    as an ASGI scope without ``server``: "http:///" is no URL, and the Metrics API
    refused the whole batch it was in."""
    if not name:
        name = "localhost"
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    if port in (None, "") or (scheme, str(port)) in (("http", "80"), ("https", "443")):
        return name
    return f"{name}:{port}"


def build_url(scheme: str, host: str, target: str, forwarded_proto: Optional[str] = None,
              forwarded_host: Optional[str] = None, trusted_proxies: int = 0) -> str:
    """``scheme://host/target``, the scheme and host from a trusted proxy when there is one."""
    if trusted_proxies > 0:  # (else forwarded() gives None: no calls for it)
        proto = (forwarded(forwarded_proto, trusted_proxies) or "").lower()
        # Even a trusted proxy's value is a header: only a scheme the url can have counts.
        scheme = proto if proto in ("http", "https") else scheme
        host = forwarded(forwarded_host, trusted_proxies) or host
    host = url_authority(host)
    if (not target.isascii() or " " in target or "#" in target
            or not target.isprintable()):
        target = quote(wsgi_bytes(target), safe=_URL_SAFE)
    return f"{scheme}://{host}{target}"


def pick_client_ip(remote_addr: str, forwarded_for: Optional[str], trusted_proxies: int = 0
                   ) -> str:
    """The remote address, or the X-Forwarded-For hop set by the outermost trusted proxy
    when that hop is an IP address (:func:`ip_text`). It is the client's own text when
    the client sent the header itself and reached the app past the proxies, or when
    fewer proxies than ``trusted_proxies`` added to it: anything there (500 KB, control
    characters, ``<script>``) gives the remote address, as no header would."""
    if trusted_proxies > 0:  # (else forwarded() gives None: no call for it)
        hop = forwarded(forwarded_for, trusted_proxies)
        return (ip_text(hop) if hop and len(hop) <= _IP_TEXT_MAX else None) or remote_addr
    return remote_addr


#: The longest hop taken for an address: an IPv6 one with a zone and a port, bracketed.
_IP_TEXT_MAX = 64


@lru_cache(maxsize=256)
def ip_text(hop: str) -> Optional[str]:
    """An X-Forwarded-For hop as an IP address (v4 or v6, as written), a port after it
    dropped (``1.2.3.4:5678``, ``[::1]:443``: some proxies add it); None when it is no
    IP address. (Cached: a hop longer than :data:`_IP_TEXT_MAX` is not asked for, so
    the cache never holds a client's long text.)"""
    if not hop.isascii():
        return None
    if hop.startswith("["):  # [v6] or [v6]:port
        host, bracket, port = hop[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif hop.count(":") == 1:  # v4:port
        host, _, port = hop.partition(":")
        if not port.isdigit():
            return None
    else:
        host = hop
    try:
        ip_address(host)
    except ValueError:
        return None
    # (ipaddress takes any text after "%" as an IPv6 zone id: "::1%<img onerror=...>",
    # control characters. A zone is an interface's name or number: RFC 6874's
    # unreserved characters only.)
    if "%" in host and _ZONE.fullmatch(host.partition("%")[2]) is None:
        return None
    return host


#: An IPv6 zone id that :func:`ip_text` takes (RFC 6874: unreserved characters).
_ZONE = re.compile(r"[0-9A-Za-z._~-]+")


# -- WSGI environ ----------------------------------------------------------------------


def under_mount(target: str, mount: str) -> str:
    """A request target (percent-encoded, as received) under the app's mount point
    ``mount`` (SCRIPT_NAME, ASGI's root_path; quoted): a proxy serving the app under a
    prefix passes it the rest of the path, and the server or a middleware is told the
    prefix (waitress's ``--url-prefix``, ProxyFix's X-Forwarded-Prefix, ``--root-path``).
    A target whose path does not start with it gets it, so the url is the one the client
    asked for, under WSGI and ASGI alike. Servers and routers match the mount on the
    decoded path, so the target's is compared decoded: ``/a%70i/x`` and ``/caf%c3%a9/x``
    start with ``/api`` and ``/caf%C3%A9``. A router's mount inside the server's prefix
    (``/sub`` of ``/api/sub``, a DispatcherMiddleware or Starlette Mount behind
    ``--url-prefix /api``) is in the target already: only the prefix before it is added
    (review92). A target without a path (``*`` of OPTIONS *) is under no mount."""
    mount = mount.rstrip("/")
    if not target.startswith("/"):
        return target
    start = 0
    while start != -1 and start < len(mount):
        if _starts_with(target, mount[start:]):
            return mount[:start] + target
        start = mount.find("/", start + 1)
    return mount + target


def _starts_with(target: str, mount: str) -> bool:
    """True if the path of ``target`` starts with the segments of ``mount``, both
    percent-decoded."""
    if target.startswith(mount) and target[len(mount):len(mount) + 1] in ("", "/", "?"):
        return True
    want = unquote_to_bytes(mount)
    path = target.partition("?")[0]
    for end, char in enumerate(path + "/"):
        if char == "/" and end:
            got = unquote_to_bytes(path[:end])
            if got == want:
                return True
            if len(got) >= len(want):
                break
    return False


def _environ_target(raw: Optional[str], software: str, script_name: str, path_info: str,
                    query: str) -> str:
    """The request target of an environ: ``raw`` (RAW_URI or REQUEST_URI) under
    SCRIPT_NAME (:func:`under_mount`), else SCRIPT_NAME and PATH_INFO quoted again, and
    QUERY_STRING."""
    if raw and script_name and (raw.startswith("/") or "://" in raw):
        target = _environ_target(raw, software, "", path_info, query)
        if software.startswith("gunicorn/") and under_mount(target, script_name) == target:
            # gunicorn matches its SCRIPT_NAME (environment, header) to the raw path as
            # given and passes it on so, percent-encoded (/my%20app): not quoted again.
            return target
        return under_mount(target, _quoted_mount(script_name))
    if raw and not raw.isascii() and software.startswith("Werkzeug/"):
        # werkzeug's development server reads the request line as latin-1, then encodes
        # that text as UTF-8 into its WSGI strings (a raw é, C3 A9, would be logged as
        # four bytes): undone, so the url holds the bytes received.
        try:
            raw = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    if raw and raw.startswith("/"):
        return _with_query(raw, query, software)
    if raw and "://" in raw:  # absolute-form request target (proxy style)
        return _with_query(_origin_form(raw), query, software)
    if raw and authority_form(raw):
        # CONNECT's target, "host:port": no path (waitress and werkzeug put the port in
        # PATH_INFO, "443", which the url showed as a path, "/443").
        return ""
    # No raw request target (wsgiref, direct calls): PATH_INFO is decoded, so encode it
    # again. QUERY_STRING is raw (PEP 3333) and stays as received.
    # "*" of OPTIONS * is under no mount point (waitress keeps --url-prefix's SCRIPT_NAME).
    path = path_info if path_info == "*" else script_name + path_info
    if _PLAIN_PATH.fullmatch(path):
        target = path
    elif "%" in script_name and path_info != "*":
        target = _quoted_mount(script_name) + quote(wsgi_bytes(path_info), safe=PATH_SAFE)
    else:
        target = quote(wsgi_bytes(path), safe=PATH_SAFE)
    if not target.startswith("/"):
        # wsgiref puts the request target in PATH_INFO whatever its form: CONNECT's
        # "host:port" has no path, an absolute-form target's is after its authority.
        if authority_form(path):
            return ""
        # "*" of OPTIONS *: the url still needs a path.
        target = _origin_form(target) if "://" in path else "/" + target
    return f"{target}?{query}" if query else target


# A percent-escape in SCRIPT_NAME: see _quoted_mount.
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")


def _quoted_mount(script_name: str) -> str:
    """SCRIPT_NAME quoted for a url, its percent-escapes kept: a mount point comes from
    configuration or a proxy, not from a decoded request line, and is written as a url's
    path is (ProxyFix takes X-Forwarded-Prefix ``/my%20app`` as sent, and werkzeug's own
    request.url keeps its escapes): quoted again, the url said ``/my%2520app``. A "%" that
    starts no escape is quoted (``%25``)."""
    if _PLAIN_PATH.fullmatch(script_name):
        return script_name
    if "%" not in script_name:
        return quote(wsgi_bytes(script_name), safe=PATH_SAFE)
    return "".join(piece if at % 2 else quote(wsgi_bytes(piece), safe=PATH_SAFE)
                   for at, piece in enumerate(_ESCAPE.split(script_name)))


def _with_query(target: str, query: str, software: str) -> str:
    """A raw request target, with QUERY_STRING added when it has no query of its own and
    no server named itself (SERVER_SOFTWARE): werkzeug's test environ (Flask's
    ``client.get(path, query_string=...)``) gives RAW_URI and REQUEST_URI as the path
    alone, the query in QUERY_STRING only, and the log would lose the query the app read.
    Under a server such a target came without a query, and a QUERY_STRING is one an outer
    middleware of the app's wrote (a rewrite, an internal token): the url stays as
    received (review87)."""
    return f"{target}?{query}" if query and not software and "?" not in target else target


def _origin_form(target: str) -> str:
    """The path (and query) of an absolute-form request target, "/" when it has none.
    Its authority ends at a "/", a "?" or a "#" (``http://h?next=/x``: no path, the
    query "next=/x"; read up to the "/", the url was ``http://h/x``, its query gone;
    ``http://h#a/b`` was ``/b``, ``http://h#frag`` lost its "#frag")."""
    after = target.split("://", 1)[1]
    end = len(after)
    for mark in "/?#":
        at = after.find(mark, 0, end)
        if at >= 0:
            end = at
    rest = after[end:]
    return rest if rest.startswith("/") else "/" + rest


def authority_form(target: str) -> bool:
    """Whether a request target is CONNECT's authority-form, ``host:port`` (RFC 9112
    3.2.3): a port, no path."""
    found = _AUTHORITY.match(target)
    return found is not None and bool(found.group(1))


def _environ_url(scheme: str, host: Optional[str], server_name: str, server_port: object,
                 raw: Optional[str], software: str, script_name: str, path_info: str,
                 query: str, forwarded_proto: Optional[str], forwarded_host: Optional[str],
                 trusted_proxies: int) -> str:
    """:func:`request_url` of an environ's variables, read by the caller (a dict's
    ``get``, or a head plan's indexes on the worker), each missing one as its default."""
    return build_url(scheme, host or server_host(server_name, server_port, scheme),
                     _environ_target(raw, software, script_name, path_info, query),
                     forwarded_proto, forwarded_host, trusted_proxies)


def request_url(environ: Mapping[str, str], trusted_proxies: int = 0) -> str:
    """scheme://host[:port]/path?query as received (PEP 3333 reconstruction + raw URI)."""
    get = environ.get
    return _environ_url(
        get("wsgi.url_scheme", "http"), get("HTTP_HOST"), get("SERVER_NAME", "localhost"),
        get("SERVER_PORT"), get("RAW_URI") or get("REQUEST_URI"), get("SERVER_SOFTWARE", ""),
        get("SCRIPT_NAME", ""), get("PATH_INFO", ""), get("QUERY_STRING", ""),
        get("HTTP_X_FORWARDED_PROTO"), get("HTTP_X_FORWARDED_HOST"), trusted_proxies)


# environ key -> header name ("HTTP_X_API_KEY" -> "X-Api-Key"), or "" for a key that is
# not a header. The same few dozen keys come with every request, so each is translated
# once. Bounded: a client sending random header names cannot grow it; past the bound
# names are simply translated every time.
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


def request_headers(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every HTTP header of the request, Content-Type and Content-Length included."""
    headers: list[tuple[str, str]] = []
    names = _HEADER_NAMES
    for key, value in environ.items():
        name = names.get(key)  # inlined cache lookup: this loop runs for every log
        if name is None:
            name = _header_name(key)
        if name:
            headers.append((name, value if value.isascii() else header_text(value)))
    _add_content_headers(headers, environ.get("CONTENT_TYPE"), environ.get("CONTENT_LENGTH"),
                         environ.get("SERVER_SOFTWARE"))
    return headers


def _add_content_headers(headers: list[tuple[str, str]], content_type: Optional[str],
                         length: Optional[str], software: Optional[str]) -> None:
    """Append Content-Type and Content-Length (CGI variables, not HTTP_ keys) if sent."""
    if content_type and not (
        # wsgiref's server invents "text/plain" when a request has no Content-Type;
        # a body-less request with exactly that is its default, not what was sent.
        content_type == "text/plain"
        and not length
        and (software or "").startswith("WSGIServer/")
    ):
        headers.append(("Content-Type", header_text(content_type)))
    if length:
        headers.append(("Content-Length", length))


def content_length(environ: Mapping[str, object]) -> Optional[int]:
    """The declared request body length (CONTENT_LENGTH), None when absent or invalid."""
    raw = environ.get("CONTENT_LENGTH")
    try:
        length = int(raw) if raw else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return length if length is None or length >= 0 else None


def chunked_coding(value: object) -> bool:
    """Whether a Transfer-Encoding value ends in ``chunked``: the body is framed in chunks
    (RFC 9112 6.3), whatever Content-Length says."""
    if value.__class__ is not str:
        return False
    return value.rpartition(",")[2].strip().lower() == "chunked"


def client_ip(environ: Mapping[str, str], trusted_proxies: int = 0) -> str:
    """REMOTE_ADDR, or the X-Forwarded-For hop set by the outermost trusted proxy."""
    return pick_client_ip(environ.get("REMOTE_ADDR", ""),
                          environ.get("HTTP_X_FORWARDED_FOR"), trusted_proxies)


class EnvironRequest:
    """A :class:`RequestSource` over a WSGI environ: its strings, copied, parsed later.

    Strings only (see :mod:`~readme_metrics.capture.environ_strings`): the worker must
    not keep the server's socket objects alive, and a later app or dispatcher rewriting
    PATH_INFO must not change what is logged. The keys and values are kept as two
    tuples; the dict is built on the worker.
    """

    __slots__ = ("keys", "values", "trusted_proxies", "nbytes")

    def __init__(self, environ: Mapping[str, object], trusted_proxies: int = 0) -> None:
        # Every string is held until the log is sent (headers can be large): counted.
        self.keys, self.values, self.nbytes = environ_strings(environ)
        self.trusted_proxies = trusted_proxies

    def head(self) -> RequestHead:
        """Method, URL, version, headers and client IP (on the worker)."""
        return environ_head(self.keys, self.values, self.trusted_proxies)


def environ_head(keys: tuple[str, ...], values: tuple[str, ...], trusted_proxies: int = 0
                 ) -> RequestHead:
    """The head of a request from the strings :func:`environ_strings` copied of its
    environ (on the worker)."""
    last_keys, plan = _last_head
    # The keys of one environ shape are one tuple (environ_strings' plan): the plan
    # used last is found by identity, not by hashing 30 keys.
    if keys is not last_keys:
        plan = _HEAD_PLANS.get(keys) or _head_plan(keys)
    headers = []
    for index, name in plan.headers:
        value = values[index]
        headers.append((name, value if value.isascii() else header_text(value)))
    # The variables read below, in _PIECES' order (None: not in this environ), by one
    # call: no dict of them for request_url and client_ip.
    (method, protocol, content_type, length, software, scheme, host, server_name,
     server_port, raw_uri, request_uri, script_name, path_info, query, forwarded_proto,
     forwarded_host, remote_addr, forwarded_for) = plan.pieces(values + (None,))
    if content_type or length:  # (else _add_content_headers adds none: no call)
        _add_content_headers(headers, content_type, length, software)
    # (method, url, http_version, headers, client_ip); the defaults are request_url's
    # and client_ip's.
    return (
        "GET" if method is None else method,
        _environ_url("http" if scheme is None else scheme, host,
                     "localhost" if server_name is None else server_name, server_port,
                     raw_uri or request_uri, "" if software is None else software,
                     script_name or "", path_info or "", query or "", forwarded_proto,
                     forwarded_host, trusted_proxies),
        "HTTP/1.1" if protocol is None else _VERSIONS.get(protocol, protocol),
        headers,
        # (pick_client_ip without its call when no proxy is trusted: the address)
        ("" if remote_addr is None else remote_addr) if trusted_proxies <= 0
        else pick_client_ip("" if remote_addr is None else remote_addr, forwarded_for,
                            trusted_proxies),
    )


# granian names HTTP/1.0 "HTTP/1" in SERVER_PROTOCOL: the log says what the client sent.
_VERSIONS = {"HTTP/1": "HTTP/1.0"}
# What environ_head reads of an environ besides the headers, in the order of its
# unpacking: the fixed variables, then what request_url and client_ip read.
_PIECES = ("REQUEST_METHOD", "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH",
           "SERVER_SOFTWARE", "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
           "RAW_URI", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
           "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "REMOTE_ADDR",
           "HTTP_X_FORWARDED_FOR")


class _HeadPlan:
    """Where the pieces of a request's head are among the copied strings of one environ
    shape (its keys, in order): the worker reads them by index instead of making a dict
    of every key and translating each key again."""

    __slots__ = ("headers", "pieces")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.headers = tuple((index, name) for index, key in enumerate(keys)
                             for name in (_header_name(key),) if name)
        index = {key: position for position, key in enumerate(keys)}  # keys are unique
        # The _PIECES of the strings with a None after them, that None for a key not in
        # this shape: one call, where a loop (or a dict for request_url) costs more.
        self.pieces = itemgetter(*(index.get(key, len(keys)) for key in _PIECES))


#: Head plans by environ shape (the keys environ_strings copied), bounded as its plans
#: are: a client sending random header names cannot grow them.
_HEAD_PLANS: dict[tuple[str, ...], _HeadPlan] = {}
#: The keys and plan made last (see EnvironRequest.head); one tuple, replaced whole.
_last_head: tuple[tuple[str, ...], _HeadPlan] = ((), _HeadPlan(()))


def _head_plan(keys: tuple[str, ...]) -> _HeadPlan:
    global _last_head
    plan = _HeadPlan(keys)
    if len(_HEAD_PLANS) < PLANS_MAX and small_shape(keys):
        _HEAD_PLANS[keys] = plan
        _last_head = (keys, plan)  # kept alive by _HEAD_PLANS: its identity stays its own
    return plan
