"""JSON documents, and pieces of one, in a form's or query's names and values, redacted.

A pair's name or value holding a JSON document (``filter={"token": ...}``, a form of
one field named by a document) is redacted key by key by the
:class:`~readme_metrics.har.redaction.Redactor`'s JSON reading and percent-encoded again
in the form's charset; a piece of a document (text before one, or one cut at a ``&`` or
``=`` in its strings) holding a quoted member a list may name is hidden whole (hostile22).
Moved from :mod:`readme_metrics.har.redaction_query`, as is.
"""

from __future__ import annotations

import codecs
import json
import re
from functools import partial
from typing import TYPE_CHECKING, Callable, Optional
from urllib.parse import quote

from readme_metrics.har.percent import decode_component, decode_in
from readme_metrics.har.redaction_cut import names_member, single_quoted_member
from readme_metrics.har.redaction_forms import JSON_VALUE, JSON_VALUE_FIRST, holds_quote
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.text import JSON_START

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["hidden_name", "hidden_name_in", "in_charset", "json_name", "json_value",
           "loose_value", "quoted_name", "quoted_piece"]


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

def hidden_name(redactor: Redactor, name: str, denied_only: bool = False) -> str | None:
    """The raw name of a pair when it is a JSON document holding a key to redact
    (``curl --data-urlencode '{"password": ...}'`` sends one percent-encoded with no
    "=", a form of one field named by the document), redacted key by key; None to
    keep it, as every name that is no JSON nor quoted text is kept (see json_name).
    ``denied_only``: quoted text is hidden only for a key the denylist names (a
    text/plain line's name, denied_pairs)."""
    if not quoted_name(name):  # as almost every name: no JSON
        return None
    return json_name(redactor, name, decode_component, None, denied_only)

def hidden_name_in(redactor: Redactor, codec: str, name: str) -> str | None:
    """:func:`hidden_name` for a form in ``codec``."""
    if not quoted_name(name):
        return None
    return json_name(redactor, name, partial(decode_in, codec=codec), codec)

def quoted_name(name: str) -> bool:
    """Whether a raw name may be JSON or hold a piece of it: it starts as JSON may, or
    holds a quote, as sent or percent-encoded (see :func:`json_name`)."""
    return name[:1] in JSON_VALUE_FIRST or holds_quote(name)


#: The end of a JSON member's name: its closing quote and the colon after it.
_MEMBER_NAME_END = re.compile(r'"[ \t\n\r]*:')


def quoted_piece(redactor: Redactor, text: str, denied_only: bool) -> str | None:
    """The raw replacement of a decoded name or value that is no JSON document when it
    holds a member's name (a quote, then ":") and a key a list may name
    (:meth:`Redactor.mentions_key`): a piece of a document, or text before one, read as
    a form's pair (hostile22), hidden whole; None to keep it (``k"ey``: no member).
    A member's name in single quotes (Python's ``str(dict)``: ``x{'password': ...}``)
    only when it is a name a list redacts itself (hostile24): prose has apostrophes."""
    if '"' in text and _MEMBER_NAME_END.search(text) is not None and (
            redactor.mentions_key(text, denied_only)) or "'" in text and (
            redactor.mentions_key(text, denied_only)) and single_quoted_member(
            redactor, text, denied_only):
        return escaped_redacted(text)
    return None


def loose_value(redactor: Redactor, value: str, decode: Callable[[str], str]
                ) -> str | None:
    """:func:`quoted_piece` of a raw value no list names that is no JSON from its start
    (``0", "password": "..."}``: a document's piece after an "=" in its strings)."""
    if not holds_quote(value) or not names_member(value):
        return None
    return quoted_piece(redactor, decode(value), True)


def json_name(redactor: Redactor, name: str, decode: Callable[[str], str],
               codec: Optional[str], denied_only: bool = False) -> str | None:
    text = decode(name)
    if JSON_VALUE.match(name) is None or JSON_START.match(text) is None:
        # No JSON from its start: text before a document (a form that is JSON after a
        # byte json.loads or the form's bytes do not read as a blank, "\x1c", NBSP,
        # U+2028, a second byte order mark, "x"), or a piece of one cut at a "&" or "="
        # in its strings. A quoted member a list could name may be in it, its value in
        # clear: hidden whole, as such a value is (nested_value; hostile22).
        return quoted_piece(redactor, text, denied_only)
    document = redactor.json_text(text)
    if document is None:
        # Cut short (a body truncated to max_body_bytes) or broken: hidden whole only
        # if it could hold a member (a quoted name) that a denied key names, or any
        # under an allowlist (whose whole document's unlisted values are redacted); a
        # name such as "{password}" is none.
        if '"' not in text or not redactor.mentions_key(text):
            # (Python's str(dict), {'password': ...: quoted_piece; hostile24.)
            return quoted_piece(redactor, text, denied_only)
        document = redacted(text)
    elif document == text:
        return None
    return quote(document if codec is None else in_charset(document, codec), safe="")

def json_value(redactor: Redactor, name: str, value: str, decode: Callable[[str], str],
                codec: Optional[str]) -> str | None:
    """The raw value of a pair that is not redacted itself, when it holds JSON (a
    query's ``filter={"token": ...}``, a form field's): redacted key by key as
    :meth:`Redactor.json_field` says, percent-encoded in the form's charset ``codec`` (None:
    UTF-8), as its other escapes are read; None to keep it."""
    if JSON_VALUE.match(value) is None:
        return None
    text = decode(value)
    document, whole = redactor.json_field(text, name)
    if whole:
        return escaped_redacted(text)
    if document is None:
        # No document: a piece of one cut at a "&" or "=" in its strings, a document's
        # value after a byte json.loads reads no blank ("\x1c{"": "=", "password": ...).
        return quoted_piece(redactor, text, True)
    if document == text:
        return None
    return quote(document if codec is None else in_charset(document, codec), safe="")
