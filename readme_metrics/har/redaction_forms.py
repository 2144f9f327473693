"""A raw (percent-encoded) query or form as the denylist reads it: its names decoded once,
what marks a value that may hold JSON, a URL or a form, a JSON document written back in a
form's charset, and whether a form may hold the value field of a name/value pair
(``env[0][value]=...``). Pure functions and patterns for
:class:`~readme_metrics.har.redaction.Redactor`; moved from
:mod:`readme_metrics.har.redaction`, as is.
"""

from __future__ import annotations

import codecs
import json
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
# What a raw value holding a URL, a form or a JSON document has (redaction_query.nested_value).
# (Or one percent-encoded twice or more: "%253D", "%25253D", a form in a value encoded
# once more, or twice: hidden whole past MAX_INNER_DEPTH.)
NESTED_VALUE = re.compile(r"%(?:25)*(?:3[Dd]|7[Bb]|5[Bb])|[{\[]")
# Its escapes encoded twice or more alone, looked for after a plain "%25" (a literal
# prefix: found at memchr speed where NESTED_VALUE took 16 ms a MiB).
ENCODED_TWICE = re.compile(r"%25(?:25)*(?:3[Dd]|7[Bb]|5[Bb])")

def holds_bracket(text: str) -> bool:
    """Whether a raw query or form holds a ``{`` or ``[``, as sent or percent-encoded
    (in a 100 KB form: a character in 1 us, an escape by this pattern in 40, where
    ``"%7B" in text`` took 200 per spelling)."""
    return "{" in text or "[" in text or "%" in text and _ENCODED_BRACKET.search(
        text) is not None


def in_charset(document: str, codec: str) -> bytes:
    """A JSON ``document`` as bytes in ``codec``, a form's charset; a character it has no
    byte for (a ``\\u20ac`` escape that redacting wrote as "€") is a JSON escape again:
    only a string can hold one there."""
    return document.encode(codec, _JSON_ESCAPE)


def _json_escaped(error: UnicodeError) -> tuple[str, int]:
    """The ``_JSON_ESCAPE`` error handler: the characters a codec lacks as JSON escapes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return json.dumps(error.object[error.start:error.end])[1:-1], error.end


#: The name of the encode error handler writing JSON escapes (one pass over the text).
_JSON_ESCAPE = "readme_metrics.json_escape"
codecs.register_error(_JSON_ESCAPE, _json_escaped)


# The name of a field a name/value pair's value may be in, as a raw form writes it: one
# ending in "value", "values", "val" or "v" (VALUE_MEMBERS), then its closing bracket if
# any, "[]" or an index if any ("value[1]", AWS's "Value.1"), and "="
# (Redactor.paired_fields, read only where one is). Looked for in the lower-cased form
# where it spells "value" (a literal prefix: 0.2 ms in a 30 KB form holding it a
# thousand times), "val" or "v" where _SHORT_VALUE_END finds one, and with any
# letter percent-encoded (_VALUE_FIELD_ENCODED: 1.3 ms there, where a scan for such an
# escape takes 16 us).
_VALUE_FIELD = re.compile(r"values?(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=")
# "val" and "v" (a pattern starting "v" alone doubled the look in a form of "value"s):
# looked for only where the text holds one followed by what may follow a field's name
# (_SHORT_VALUE_END: 0.4 ms in a 60 KB form, where ten substrings took 4.4).
_SHORT_VALUE_FIELD = re.compile(r"v(?:al)?(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=")
_SHORT_VALUE_END = re.compile(r"v(?:al)?[=\]\[.%]")
_VALUE_LETTER_ESCAPED = re.compile(r"%(?:[57][356]|[46][15c])", re.IGNORECASE)
_VALUE_FIELD_ENCODED = re.compile(
    r"(?:v|%[57]6)(?:(?:a|%[46]1)(?:l|%[46]c)(?:(?:u|%[57]5)(?:e|%[46]5)(?:s|%[57]3)?)?)?"
    r"(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=", re.IGNORECASE)


def names_a_value_field(raw: str) -> bool:
    """Whether a raw form or query may have a field named ``value`` (``env[0][value]``,
    ``values[]``, ``value[1]``, ``val``, ``v``, ``v%61lue``, in any case): see
    :data:`_VALUE_FIELD`."""
    lowered = raw.lower()
    if "value" in lowered and _VALUE_FIELD.search(lowered) is not None:
        return True
    if _SHORT_VALUE_END.search(lowered) is not None and (
            _SHORT_VALUE_FIELD.search(lowered) is not None):
        return True
    return "%" in raw and _VALUE_LETTER_ESCAPED.search(raw) is not None and (
        _VALUE_FIELD_ENCODED.search(raw) is not None)
