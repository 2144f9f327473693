"""The URL of a request as its client asked for it: scheme, host and the raw target.

- :func:`build_url` ``(scheme, host, target, forwarded_proto, forwarded_host, trusted)``:
  ``target`` is the raw request target (path and query as received, bytes read as
  latin-1); characters a URL cannot hold are percent-encoded. The scheme and host come
  from a trusted proxy when there is one (:func:`~readme_metrics.capture.forwarded.forwarded`).
- :func:`server_host` ``(name, port, scheme)``: the host of a request without Host.
- :func:`under_mount`: a target under the app's mount point (SCRIPT_NAME, root_path).
- :func:`request_url` reads a WSGI environ: the raw target each server passes (RAW_URI,
  REQUEST_URI), else SCRIPT_NAME and PATH_INFO quoted again, and QUERY_STRING.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv6Address
from typing import Mapping, Optional
from urllib.parse import quote, unquote_to_bytes

from readme_metrics.capture.forwarded import forwarded
from readme_metrics.capture.latin1 import wsgi_bytes

__all__ = [
    "PATH_SAFE", "authority_form", "build_url", "environ_target", "environ_url", "request_url",
    "server_host", "under_mount", "url_authority",
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


def environ_target(raw: Optional[str], software: str, script_name: str, path_info: str,
                   query: str) -> str:
    """The request target of an environ: ``raw`` (RAW_URI or REQUEST_URI) under
    SCRIPT_NAME (:func:`under_mount`), else SCRIPT_NAME and PATH_INFO quoted again, and
    QUERY_STRING."""
    if raw and script_name and (raw.startswith("/") or "://" in raw):
        target = environ_target(raw, software, "", path_info, query)
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


def environ_url(scheme: str, host: Optional[str], server_name: str, server_port: object,
                raw: Optional[str], software: str, script_name: str, path_info: str,
                query: str, forwarded_proto: Optional[str], forwarded_host: Optional[str],
                trusted_proxies: int) -> str:
    """:func:`request_url` of an environ's variables, read by the caller (a dict's
    ``get``), each missing one as its default. (The worker's head plan calls its two
    parts itself: :func:`~readme_metrics.capture.request_head.environ_head`.)"""
    return build_url(scheme, host or server_host(server_name, server_port, scheme),
                     environ_target(raw, software, script_name, path_info, query),
                     forwarded_proto, forwarded_host, trusted_proxies)


def request_url(environ: Mapping[str, str], trusted_proxies: int = 0) -> str:
    """scheme://host[:port]/path?query as received (PEP 3333 reconstruction + raw URI)."""
    get = environ.get
    return environ_url(
        get("wsgi.url_scheme", "http"), get("HTTP_HOST"), get("SERVER_NAME", "localhost"),
        get("SERVER_PORT"), get("RAW_URI") or get("REQUEST_URI"), get("SERVER_SOFTWARE", ""),
        get("SCRIPT_NAME", ""), get("PATH_INFO", ""), get("QUERY_STRING", ""),
        get("HTTP_X_FORWARDED_PROTO"), get("HTTP_X_FORWARDED_HOST"), trusted_proxies)
