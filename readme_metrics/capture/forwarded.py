"""What trusted proxies say: the hop of an X-Forwarded-* header they set, the client's IP.

What it trusts: the server's remote address and, only when ``trusted_proxies`` says so,
the last N hops of X-Forwarded-For/-Proto/-Host, as werkzeug's ProxyFix does. Plain
values in, plain values out, so a WSGI environ and an ASGI scope both feed it:

- :func:`forwarded` ``(raw, trusted)``: the hop ``trusted`` from the right.
- :func:`pick_client_ip` ``(remote_addr, forwarded_for, trusted)``, the hop only when it is
  an IP address (:func:`ip_text`); :func:`client_ip` reads an environ with it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import ip_address
from typing import Mapping, Optional

__all__ = ["client_ip", "forwarded", "ip_text", "pick_client_ip"]


def forwarded(raw: Optional[str], trusted: int) -> Optional[str]:
    """The value a trusted proxy set in a comma-separated header, ``trusted`` hops from right."""
    if not raw or trusted <= 0:
        return None
    # (Split from the right only as far as needed: a client's 500 KB of hops is not
    # made into a list of them for each request.)
    values = raw.rsplit(",", trusted)
    return values[-trusted].strip() if len(values) >= trusted else None


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


def client_ip(environ: Mapping[str, str], trusted_proxies: int = 0) -> str:
    """REMOTE_ADDR, or the X-Forwarded-For hop set by the outermost trusted proxy."""
    return pick_client_ip(environ.get("REMOTE_ADDR", ""),
                          environ.get("HTTP_X_FORWARDED_FOR"), trusted_proxies)
