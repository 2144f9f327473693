"""The ``name=value`` pairs of a URL's query and fragment, and of a form: read
(:func:`parse_query`, decoded) and rewritten in place (:func:`query_values`,
:func:`url_pairs`, :func:`target_pairs`, :func:`fragment_pairs`), the raw text kept as
sent wherever nothing changes.

A pair may hide behind a ``#`` (a fragment a client sent in its request target, or
OAuth's implicit flow's token) or a ``;`` (a separator to some frameworks): they are
read as pairs too, so that redaction and the key search miss none.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Callable, Optional

from readme_metrics.har.percent import decode_component, decode_in

__all__ = ["fragment_pairs", "parse_query", "query_values", "target_pairs", "url_pairs"]


# A "#" in a request target, as sent (wsgiref and hypercorn pass it on in QUERY_STRING
# or the path) or percent-encoded (build_url's, which cannot be told from a client's own
# "%23" then).
_HASH = re.compile("(#|%23)")
# Where a pair of a query or form may hold more pairs: after such a "#", and after a
# ";", which some frameworks split pairs on too (Bottle, Rack before 3, Python before
# 3.9.2), so that their app reads "a=1;token=x" as a token.
_PIECES = re.compile("(#|%23|;)")


def url_pairs(url: str, change: Callable[[str], str], flags: bool = False) -> str:
    """``url`` with ``change`` applied to its query, and to its fragment when that holds
    ``k=v`` pairs (after a ``?`` in it, if it has one: ``#/cb?k=v``), where OAuth's
    implicit flow returns its token. Any other fragment is kept as it is, unless
    ``flags``: then it is read as pairs too, a name alone a flag (see fragment_pairs)."""
    rest, hash_mark, fragment = url.partition("#")
    if fragment:
        fragment = fragment_pairs(fragment, change, flags)
    return target_pairs(rest, change, flags) + hash_mark + fragment


def target_pairs(url: str, change: Callable[[str], str], flags: bool = False) -> str:
    """A url without a fragment (a request's: a ``#`` in it is data, as sent or
    percent-encoded) with ``change`` applied to its query.

    A raw client may send a fragment in its request target (``GET /p#token=x``), which
    :func:`readme_metrics.capture.request_url.build_url` keeps percent-encoded: what follows
    a ``#`` in the path is read as a fragment's pairs too (``change`` itself finds the
    ones in the query, see :func:`query_values`). ``flags``: as :func:`url_pairs`.
    """
    base, question, query = url.partition("?")
    if "%23" in base or "#" in base:
        start = base.find("/", base.find("://") + 3) if "://" in base else 0  # the path
        found = _HASH.search(base, max(start, 0)) if start >= 0 else None
        if found is not None and (flags or "=" in base[found.end():]):
            tail = base[found.end():]
            if question and "=" in tail:
                # ``/p%23password=??secret``: the "?" is in the pair's value, or begins
                # the query of a route holding a pair: fragment_pairs tells which.
                return base[:found.end()] + fragment_pairs(tail + question + query,
                                                           change, flags)
            base = base[:found.end()] + fragment_pairs(tail, change, flags)
    if query:
        query = change(query)
    return base + question + query


def fragment_pairs(fragment: str, change: Callable[[str], str], flags: bool = False
                   ) -> str:
    """A fragment (without its ``#``) with ``change`` applied to its ``k=v`` pairs: those
    after a ``?`` in it (a route's query, ``/cb?k=v``), or all of it; one without ``=``
    is kept as it is, unless ``flags`` (the caller's key, which may be a flag there:
    ``#k42``, ``?a=1#k42``; a denylist's redaction keeps an anchor such as ``#token``).
    A "route" holding a ``=`` is a pair, its value holding the ``?``
    (``password=??secret``, ``token=a?b``): the whole is read as pairs first, and only
    if that changes nothing, what follows the ``?`` is (``x=1?token=s``)."""
    route, question, pairs = fragment.partition("?")
    if not question:
        route, pairs = "", fragment
    elif "=" in route:
        whole = change(fragment)
        if whole != fragment:
            return whole
    return route + question + change(pairs) if flags or "=" in pairs else fragment


def query_values(query: str, replace: Callable[[str, str], Optional[str]],
                 rename: Optional[Callable[[str], Optional[str]]] = None,
                 flags: bool = False, heads: bool = False) -> str:
    """A raw query (or form) with the value of each pair replaced by ``replace(name,
    value)`` (raw, percent-encoded strings) unless that gives None, and its name by
    ``rename(name)`` unless that gives None (a pair without "=" stays without one).

    A pair holding a ``#`` (``a=1#token=x``: a fragment a client sent in its request
    target, which some servers pass on in QUERY_STRING) is also read as the pairs after
    each ``#``, as a fragment's (:func:`fragment_pairs`): ``replace`` is asked about
    ``token`` there too, whatever it said of ``a``. So is one holding a ``;``
    (``a=1;token=x``), a separator to some frameworks. ``flags``: a name alone there
    (``a=1#token``) is asked about too (see :func:`fragment_pairs`); without it, only
    ``rename`` is. ``heads``: ``replace`` is asked about the pair before the first
    (``a=1``) too, its value cut there as such a framework reads it.
    """
    chunks = query.split("&")
    changed = False
    for index, chunk in enumerate(chunks):
        if not chunk:
            continue
        name, equals, value = chunk.partition("=")
        new = replace(name, value)
        new_name = None if rename is None else rename(name)
        if new is not None or new_name is not None:
            chunks[index] = _joined(name if new_name is None else new_name, equals,
                                    value if new is None else new)
            changed = True
        elif "#" in chunk or ";" in chunk or "%23" in chunk:
            pieces = _PIECES.split(chunk)  # pair, "#", fragment, ";", pair ...
            if heads and "=" in pieces[0]:
                pieces[0] = _pair(pieces[0], replace)
            for at in range(2, len(pieces), 2):
                if rename is not None and not flags and "=" not in pieces[at]:
                    # A name alone there is kept (an anchor, ``#token``) unless
                    # ``rename`` says (a JSON document: ``a=1;{"password": ...}``).
                    pieces[at] = rename(pieces[at]) or pieces[at]
                    continue
                pieces[at] = fragment_pairs(
                    pieces[at], lambda pair: _pair(pair, replace, rename), flags)
            spliced = "".join(pieces)
            if spliced != chunk:
                chunks[index] = spliced
                changed = True
    return "&".join(chunks) if changed else query


def _joined(name: str, equals: str, value: str) -> str:
    """A pair again: ``name=value``, or ``name`` alone for a pair that had no "=" and no
    value given it."""
    return name + "=" + value if equals or value else name


def _pair(pair: str, replace: Callable[[str, str], Optional[str]],
          rename: Optional[Callable[[str], Optional[str]]] = None) -> str:
    """One ``name=value`` with its value and name replaced as ``replace`` and ``rename``
    say."""
    name, equals, value = pair.partition("=")
    new = replace(name, value)
    new_name = None if rename is None else rename(name)
    if new is None and new_name is None:
        return pair
    return _joined(name if new_name is None else new_name, equals,
                   value if new is None else new)


def parse_query(raw: str, codec: Optional[str] = None) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in order; repeats and blank values kept.

    ``codec``: a form's declared charset (see :func:`~readme_metrics.har.text.form_codec`),
    ``raw`` then ASCII (see :func:`~readme_metrics.har.percent.ascii_form`); UTF-8 by
    default.
    """
    pairs = []
    if "%" not in raw and "+" not in raw:
        # Nothing to decode, in any codec (the usual query): the pieces as they are, without
        # a call per name and value.
        for chunk in raw.split("&"):
            if chunk:
                name, _, value = chunk.partition("=")
                pairs.append((name, value))
        return pairs
    decoded = decode_component if codec is None else partial(decode_in, codec=codec)
    if raw.count("&") >= _FEW_PAIRS:
        # Each distinct name and value of a long form decoded once: its names repeat, and
        # so do its redacted values ("%5BREDACTED%201%5D", one per length), which took a
        # call each (a MiB of denied pairs: 190,000 calls, 110 of its 270 ms).
        chunks = [chunk.partition("=") for chunk in raw.split("&") if chunk]
        known = {component: decoded(component) for component in
                 {part for name, _, value in chunks for part in (name, value)}}
        return [(known[name], known[value]) for name, _, value in chunks]
    for chunk in raw.split("&"):
        if chunk:
            name, _, value = chunk.partition("=")
            pairs.append((decoded(name), decoded(value)))
    return pairs


# Pairs of a query that parse_query decodes one by one: in a short query the set and
# table of its distinct components cost more than they save.
_FEW_PAIRS = 16
