"""The caller's key as a whole segment of a url's path, or as its host: where "the url"
SPEC 6 names carries a short key whole (``/keys/k123/usage``), or a key holding a ``/``
across segments (see :meth:`~readme_metrics.har.credentials.CallerKey.url`). Pure
functions of the url, the key and its quoted mask; moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import unquote

from readme_metrics.har.key_authority import authority_key


def whole_segments(url: str, key: str, rooted: Optional[re.Pattern[str]], quoted_mask: str
                   ) -> str:
    """``url`` with its host and each segment of its path that decodes to the (short)
    key as the quoted mask: "the url" SPEC 6 names holds the path too, where a key
    travels as a whole segment (``/keys/k123/usage``); a short key only there, whole,
    as elsewhere. A key holding a ``/`` may span segments (``/keys/k/42/usage``:
    WSGI's PATH_INFO decodes ``%2F``): consecutive segments that decode to it, joined,
    are one mask."""
    if key not in url and "%" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = [at for at in (rest.find("?"), rest.find("#")) if at >= 0]
    end = min(cut) if cut else len(rest)
    segments = rest[:end].split("/")
    changed = False
    if rooted and len(segments) > 1 and (sep or not segments[0]):
        # A key starting with "/" (a grouping function returning the path) is whole
        # segments after the path's own "/", which stays: the host would run into
        # the mask. (Here, not in spanning_segments: an authority is no empty segment.)
        for size in range(min(key.count("/"), len(segments) - 1), 0, -1):
            joined = "/" + "/".join(segments[1:1 + size])
            if unquote(joined, errors="surrogateescape") == key:
                segments[1:1 + size] = [quoted_mask]
                changed = True
                break
    for at, segment in enumerate(segments):
        if at == 0 and sep:  # the authority: its host, a userinfo before, a port after
            if key in segment or "%" in segment:
                host = authority_key(segment, key, quoted_mask)
                if host is not segment:
                    segments[at] = host
                    changed = True
        elif segment and unquote(segment, errors="surrogateescape") == key:
            segments[at] = quoted_mask
            changed = True
    if "/" in key and len(segments) > 1:
        spanned = spanning_segments(segments, 1 if sep else 0, key, quoted_mask)
        if spanned is not None:
            segments = spanned
            changed = True
    if not changed:
        return url
    return scheme + sep + "/".join(segments) + rest[end:]


def spanning_segments(segments: list[str], first: int, key: str, quoted_mask: str
                      ) -> Optional[list[str]]:
    """``segments`` (of a path, from index ``first``) with each run of two or more
    that, joined by ``/``, decodes to the ``key`` (which holds a ``/``) as one
    ``quoted_mask``; None if there is none."""
    widest = key.count("/") + 1  # a %2F in a segment spans no segment
    kept = segments[:first]
    at = first
    found = False
    while at < len(segments):
        for size in range(min(widest, len(segments) - at), 1, -1):
            joined = "/".join(segments[at:at + size])
            if unquote(joined, errors="surrogateescape") == key:
                kept.append(quoted_mask)
                at += size
                found = True
                break
        else:
            kept.append(segments[at])
            at += 1
    return kept if found else None
