"""A raw (percent-encoded) query or form as the lists read it: its names decoded once (and
remembered), and what marks a name or value that may hold JSON, a URL or a form, as is or
percent-encoded once or more. Pure functions and patterns for
:mod:`readme_metrics.har.redaction_query`; moved from :mod:`readme_metrics.har.redaction`,
as is. (A JSON document written back in a form's charset lives in redaction_query, the
value field of a name/value pair in :mod:`readme_metrics.har.redaction_pairs`.)
"""

from __future__ import annotations

import re
from functools import lru_cache

from readme_metrics.har.percent import decode_component

# Parameter and cookie names repeat across requests: decode each distinct one once. A
# name longer than CACHED_NAME is not kept: a client sending distinct names of 200 KB
# (a form's, up to max_body_bytes) pinned 220 MB in the caches (review63).
CACHED_NAME = 256
decode_cached = lru_cache(maxsize=2048)(decode_component)


def decode_name(name: str) -> str:
    """:func:`decode_component` of a query or form name, remembered if short."""
    return decode_cached(name) if len(name) <= CACHED_NAME else decode_component(name)


# A raw query or form value that may start a JSON document (blanks first, "+" too), or
# a JSON string holding one (a payload encoded twice: json_field).
JSON_VALUE_FIRST = frozenset('{[%+ \t\n\r"')
JSON_VALUE = re.compile(r'(?:[+\s]|%(?:20|09|0A|0D))*(?:[{\["]|%7B|%5B|%22)', re.IGNORECASE)
_ENCODED_BRACKET = re.compile("%[57][Bb]")
# (Percent-encoded more than once too: "%253D" is "%3D" encoded again, which the app
# decodes to "=" at the last; each level is read as deep as MAX_INNER_DEPTH, then hidden.)
ENCODED_EQUALS = re.compile("%(?:25)*3[Dd]")
# A line break as sent or percent-encoded, once or more (a .env's lines in a value:
# hostile45).
BREAK_IN = re.compile("%(?:25)*0[AaDd]|[\r\n]")


def holds_break(text: str) -> bool:
    """Whether a raw query, form or value holds a line break, as sent or percent-encoded
    (:data:`BREAK_IN`)."""
    return ("%" in text or "\n" in text or "\r" in text) and BREAK_IN.search(text) is not None


# What a raw value holding a URL, a form or a JSON document has (redaction_query.nested_value).
# (Or one percent-encoded twice or more: "%253D", "%25253D", a form in a value encoded
# once more, or twice: hidden whole past MAX_INNER_DEPTH.)
NESTED_VALUE = re.compile(r"%(?:25)*(?:3[Dd]|7[Bb]|5[Bb])|[{\[]")
# Its escapes encoded twice or more alone, looked for after a plain "%25" (a literal
# prefix: found at memchr speed where NESTED_VALUE took 16 ms a MiB).
ENCODED_TWICE = re.compile(r"%25(?:25)*(?:3[Dd]|7[Bb]|5[Bb])")

def holds_quote(text: str) -> bool:
    """Whether a raw query, form or name holds a ``"`` or a ``'``, as sent or
    percent-encoded: the text a piece of a JSON document's member is in (or of Python's
    ``str(dict)``, its names in single quotes: hostile24)."""
    return '"' in text or "'" in text or "%2" in text and (
        "%22" in text or "%27" in text)


def holds_bracket(text: str) -> bool:
    """Whether a raw query or form holds a ``{`` or ``[``, as sent or percent-encoded
    (in a 100 KB form: a character in 1 us, an escape by this pattern in 40, where
    ``"%7B" in text`` took 200 per spelling)."""
    return "{" in text or "[" in text or "%" in text and _ENCODED_BRACKET.search(
        text) is not None
