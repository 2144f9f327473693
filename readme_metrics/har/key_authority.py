"""The caller's key as a url's host: an authority (``[userinfo@]host[:port]``, a url's or
a Host header's) with its host masked, and one that stays a valid authority once masked.
Moved from :mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from readme_metrics.masking import url_quoted


def authority_key(authority: str, key: str, masked: str) -> str:
    """``authority`` (``[userinfo@]host[:port]``, a url's or a Host header's) with its host
    as ``masked`` when the host decodes to ``key``, else ``authority`` itself."""
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit():
        host, colon, port = hostport, "", ""
    if host and unquote(host, errors="surrogateescape") == key:
        return userinfo + at + masked + colon + port
    return authority


# What an authority masked whole may hold: a reg-name (RFC 3986), escapes included.
_REG_NAME_SAFE = "!$&'()*+,;=-._~%"


def valid_authority(rest: str) -> str:
    """``rest`` (authority, path, query) with an authority that urlsplit reads whole."""
    cut = [index for index in (rest.find("/"), rest.find("?"), rest.find("#")) if index >= 0]
    end = min(cut) if cut else len(rest)
    authority = rest[:end]
    try:
        parts = urlsplit("http://" + authority)
        parts.port  # noqa: B018 - raises ValueError for a port no URL can have
        if parts.netloc == authority and authority:
            return rest
    except ValueError:  # half an IP literal
        pass
    # (A lone surrogate, as a WSGI app's Location built from a path read with
    # surrogateescape holds, as its byte: quote's UTF-8 raised, and the log was dropped.)
    return url_quoted(authority, _REG_NAME_SAFE) + rest[end:]
