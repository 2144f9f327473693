"""How a denylist or allowlist entry meets a name: entries read and folded as names are
compared (case-folded, without a byte order mark), and the keys a JSON Patch or SCIM
path names. Moved from :mod:`readme_metrics.har.redaction`, as is.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from readme_metrics.har.percent import percent_decoded
from readme_metrics.har.text import PROBED_TEXT

_BRACKETS = re.compile(r"[\[\]]+")


# A SCIM attribute path's value filter (RFC 7644 3.5.2: ``emails[type eq "work"].value``),
# an unclosed one to the end: ``\[[^\]]*\]`` alone went back over the rest of the path
# for each "[" (a client's 64 KiB of "[" cost 1.3 s).
_SCIM_FILTER = re.compile(r"\[[^\]]*(?:\]|$)")


def normalise(entries: Iterable[Any] | None) -> frozenset[str]:
    if not entries:
        return frozenset()
    if isinstance(entries, (str, bytes)):
        entries = str(entries).split(",")
    out = set()
    for entry in entries:
        key = folded_name(str(entry).strip())
        if key:
            out.add(key)
    return frozenset(out)


def folded_name(name: str) -> str:
    """``name`` as names are compared: lower-cased, and case-folded beyond ASCII, where
    lower-casing is no caseless match (``ß`` and ``SS``, ``ς`` and ``Σ``), without a
    leading byte order mark, which is no part of a name: a form or query read from a
    file saved with one (Notepad, PowerShell 5), or a JSON key from the first column of
    such a CSV, starts with it; and without lone surrogates (``password\\ud800``, a
    JSON escape, or ``password%80`` read with ``surrogateescape``), which UTF-8 cannot
    carry: a reader dropping them (Python's ``errors="ignore"``) reads ``password``
    (hostile49: such a name counted as another, its value sent in clear)."""
    lower = name.lower()
    if lower.isascii():
        return lower
    return surrogates_dropped(name.casefold()).lstrip("\ufeff")


#: A lone surrogate (a str holds no pair: a pair is its character).
_SURROGATES = re.compile("[\ud800-\udfff]")


def surrogates_dropped(text: str) -> str:
    """``text`` without its lone surrogates, as names are compared (:func:`folded_name`)."""
    return _SURROGATES.sub("", text)


def names_in(text: str, needles: tuple[str, ...]) -> bool:
    """Whether a name in ``text`` (a Cookie header's) could, folded, hold one of the
    ``needles`` (the last segment of each denylist entry): False when no name in it can
    be one the denylist denies, as a flat name or a bracketed one's segment or path.

    ``text`` is folded as :func:`folded_name` folds a name, so that every name in it,
    folded, is a piece of it: lower-cased, or case-folded when that leaves a character
    beyond ASCII (``str.lower`` and ``str.casefold`` go character by character, but for
    a final sigma, which no name lowering to ASCII holds; every character lowering to
    ASCII case-folds to the same, the Kelvin sign's ``k`` too; a byte order mark stays)."""
    folded = text.lower()
    if not folded.isascii():
        folded = text.casefold()
    return any(needle in folded for needle in needles)


def pointer_keys(path: str) -> list[str]:
    """The keys a JSON Patch operation's ``path`` names, folded as names are compared,
    array indexes (and ``-``, past the end) left out as a dotted entry looks through
    arrays: a JSON pointer (``/users/0/pass~1word``: ``~1`` is ``/``, ``~0`` is ``~``),
    maybe as a URI fragment (``#/pass%77ord``, RFC 6901 6), or a SCIM attribute path
    (RFC 7644 3.5.2: ``password``, ``name.familyName``, maybe after its schema's URN,
    ``emails[type eq "work"].value``, a value filter in brackets)."""
    if path.startswith("#"):
        path = percent_decoded(path[1:], "replace")  # unquote's, at C speed
    if path.startswith("/"):
        names = [name.replace("~1", "/").replace("~0", "~") for name in path[1:].split("/")]
    elif path:
        names = _SCIM_FILTER.sub("", path).rpartition(":")[2].split(".")
    else:
        names = []  # the whole document
    return [name for name in map(folded_name, names) if not name.isdigit() and name != "-"]


def bracketed_lists(key: str, deny_flat: frozenset[str], allow_flat: frozenset[str],
                    deny_keys: frozenset[str], allow_keys: frozenset[str]
                    ) -> tuple[bool, bool]:
    """(denied, allowed) for a lower-case flat name holding a ``[``: the name, or the path
    of its segments, indexes left out, as a JSON document's keys would be (a bare entry
    matches any segment, a dotted entry the whole path): see
    :meth:`~readme_metrics.har.redaction.Redactor.redacts`."""
    segments = [s for s in _BRACKETS.split(key) if s and not s.isdigit()]
    path = ".".join(segments)
    return (
        key in deny_flat or path in deny_flat
        or any(s in deny_keys for s in segments),
        key in allow_flat or path in allow_flat
        or any(s in allow_keys for s in segments),
    )


def needles_in(text: str, needles: tuple[str, ...],
               probes: tuple[tuple[tuple[str, str], ...] | None, ...]) -> bool:
    """Whether ``text`` holds one of the ``needles`` (denied names, lower-cased: the last
    segment of each entry) case-insensitively, NULs left out (UTF-16/32 text); ``probes``:
    each needle's rarest characters in either case, None for one beyond ASCII (see
    :meth:`~readme_metrics.har.redaction.Redactor.mentions_key`)."""
    if len(text) >= PROBED_TEXT and text.isascii():
        # Lower-casing 100 KB takes 20 us and looking for a name in it 40 to 65 us: a
        # needle is looked for only if the text holds its rarest characters (in either
        # case: in ASCII text nothing else lowers to them), found at memchr speed.
        needles = tuple(needle for needle, probe in zip(needles, probes)
                        if probe is None or all(
                            lower in text or upper in text for lower, upper in probe))
        if not needles:
            return False
    lowered = text.lower()  # (folded as names_in folds, inlined: a call each costs)
    if not lowered.isascii():
        lowered = text.casefold()
    if "\x00" in lowered:
        # UTF-16/32 text read as UTF-8 or latin-1: its ASCII keys are NUL-spaced.
        lowered = lowered.replace("\x00", "")
    return any(needle in lowered for needle in needles)
