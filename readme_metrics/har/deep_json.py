"""JSON read deliberately: a document nested deeper than :data:`MAX_DEPTH` is not parsed.

The bodies the library reads as JSON (to mask the caller's key, to redact by the
denylist) are the client's and the app's, any depth. The stdlib parser and encoder recurse
in C once per level, bounded only by the recursion limit (1000): at about 990 levels a
:class:`RecursionError` came out of a call no ``except`` was around, and in a thread with
a small stack (``threading.stack_size(64 * 1024)``, which the library's delivery threads
inherit from the app; musl's default is 128 KiB) 450 levels overflowed the C stack first
and the process died (SIGSEGV) on one request's body. Other parsers stop well before:
Ruby's at 100 levels, serde_json's at 128.

So a text nested deeper than :data:`MAX_DEPTH` is *not JSON* to :func:`loads` (its
``ValueError``), found before parsing by :func:`too_deep`, on any thread: the caller's
key is then masked in its text (or the body written as one JSON string), and a body
the denylist may apply to is redacted whole, as broken JSON is.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from readme_metrics._lazy_re import lazy_compile

__all__ = ["MAX_DEPTH", "loads", "repeats_a_name", "too_deep"]

#: Deepest nesting of arrays and objects read as JSON (serde_json's limit). At about
#: 150 bytes of C stack a level, it needs some 20 KiB, parse and write back each.
MAX_DEPTH = 128

# A JSON string (its escapes taken whole), or the rest of the text after a quote that
# is never closed: the pattern cannot fail once it starts, so a text of many quotes is
# read once (no backtracking, no retry at each quote).
_STRING = re.compile(r'"(?:[^"\\]+|\\[\s\S]?)*"?')
# The engine keeps a step back for each piece (a run of characters, an escape) of one
# match: 512 KiB of escapes in one string took 48.7 MiB (hostile32). So a text of more
# than _PIECES backslashes (with fewer, no string has more than twice as many pieces)
# has its strings read a string at a time, each in matches of at most _PIECES pieces.
_PIECES = 1024
_STRING_PIECES = lazy_compile(r'(?:[^"\\]+|\\[\s\S]?){0,1024}')  # _PIECES
# Outside strings a JSON text is ASCII: its brackets, as bytes, made parentheses; and
# its quotes kept too, to find where the strings are.
_NOT_BRACKETS = bytes(range(128)).translate(None, b"[]{}")
_NOT_MARKS = bytes(range(128)).translate(None, b'"[]{}')
_AS_PARENS = bytes.maketrans(b"[]{}", b"()()")
#: Passes that take out the innermost pairs before the brackets are counted one by one.
PASSES = 8


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` deep.

    A text with no more than ``limit`` opening brackets (most bodies) is answered by
    two counts; any other by its brackets outside strings, in C. Without an escaped
    quote, the text's quotes and brackets alone say where strings are: each quote opens
    or closes one, so with every ``""`` taken out no quote is left unless a string holds
    a bracket (then the marks between quotes are cut out). With one, the strings are
    read one by one. Each pass that takes out every ``()`` lowers the depth by at most
    one, so brackets gone within :data:`PASSES` passes nest no deeper; only a deeper
    text is counted bracket by bracket. An invalid text is counted as the parser would
    read it up to where it fails.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    if '\\"' in text:
        outside = _outside_strings(text).encode("ascii", "ignore")
        parens = outside.translate(_AS_PARENS, _NOT_BRACKETS)
    else:
        marks = text.encode("ascii", "ignore").translate(_AS_PARENS, _NOT_MARKS)
        parens = marks.replace(b'""', b"")
        if b'"' in parens:  # a bracket in a string
            parens = b"".join(marks.split(b'"')[0::2])
    if parens.count(b"(") <= limit:
        return False
    run = b"(" * (limit + 1)
    if _opens_past(parens, run):
        return True
    rest = parens
    for _ in range(min(PASSES, limit)):
        rest = rest.replace(b"()", b"")
        if not rest:
            return False
    # Taking out a "()" leaves the depth before each bracket left as it was.
    if rest is not parens and _opens_past(rest, run):
        return True
    return max(accumulate(1 if byte == 40 else -1 for byte in parens)) > limit


def _outside_strings(text: str) -> str:
    """``_STRING.sub("", text)``: ``text`` with its strings taken out, in memory of a
    few copies of it however many pieces a string has."""
    if text.count("\\") <= _PIECES:
        return _STRING.sub("", text)
    out: list[str] = []
    at, size = 0, len(text)
    while (quote := text.find('"', at)) >= 0:
        out.append(text[at:quote])
        at = quote + 1
        while True:  # the string's pieces, _PIECES at a time, and its closing quote
            found = _STRING_PIECES.match(text, at)
            at = size if found is None else found.end()
            if at >= size or text[at] == '"':
                at += 1
                break
    out.append(text[at:])
    return "".join(out)


def _opens_past(parens: bytes, run: bytes) -> bool:
    """Whether ``parens`` holds ``run`` (``limit + 1`` opening brackets) where the depth
    before it is not below 0: then it nests deeper than ``limit``. Found in C, where
    :func:`too_deep`'s count bracket by bracket is a Python step each (60 ms for a
    client's 1 MiB of ``[[[...]]]``, counted again for each reader of that text)."""
    at = parens.find(run)
    return at >= 0 and 2 * parens.count(b"(", 0, at) >= at  # opens minus closes before


def loads(text: str, **options: Any) -> Any:
    """``json.loads(text, **options)``, raising ValueError for a text nested deeper than
    :data:`MAX_DEPTH` (not parsed) and for a RecursionError met all the same."""
    if too_deep(text):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels: not read")
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("JSON nested too deep for the stack") from None


class _Repeated(Exception):
    """An object names a member twice (raised to stop the parse there)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Repeated
    return document


def repeats_a_name(text: str) -> bool:
    """Whether an object of the JSON ``text`` (one :func:`loads` read) names a member
    twice (``{"a": {...}, "a": 1}``; json.loads keeps the last value, so the earlier
    ones are in the text but in no document read from it). An error reading it says yes:
    the caller then writes the document back rather than trust the text."""
    try:
        json.loads(text, object_pairs_hook=_unique)
    except _Repeated:
        return True
    except Exception:  # noqa: BLE001 - see the docstring
        return True
    return False
