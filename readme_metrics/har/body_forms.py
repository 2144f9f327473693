"""A form or multipart body read as HAR ``params`` (SPEC sections 4 and 6), for
:mod:`.bodies`.

A form's pairs in the codec its bytes or charset tell (UTF-16/32: :mod:`.body_wide`),
redacted field by field; a form that is JSON read and redacted as JSON
(:func:`form_of_json`); a multipart body's fields; a body whose fields cannot be read
safely, hidden whole.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Optional

from readme_metrics.har.body_redaction import (
    UNREDACTABLE_COMMENT,
    json_as_form,
    multipart_mentions,
)
from readme_metrics.har.body_wide import misread_wide, wide_codec
from readme_metrics.har.key_ebcdic import ebcdic_form_codec, ebcdic_reading
from readme_metrics.har.key_shapes import ebcdic_shaped
from readme_metrics.har.multipart import multipart_params
from readme_metrics.har.pairs import parse_query
from readme_metrics.har.percent import ascii_form, escape_undecoded
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import FORM, decode, form_codec

__all__ = ["form_of_json", "params_of", "records"]


# The type a form that is JSON is read as (form_of_json).
_JSON_TYPE = "application/json"


# A JSON document's first bytes, after a UTF-8 byte order mark (json.loads reads one).
_JSON_BYTES_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*[\[{]")


# UTF-16's byte order marks (UTF-32's, and UTF-16/32 without one, have a NUL in the first
# four bytes).
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def records(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """HAR ``[{name, value}]`` records of (name, value) pairs."""
    return [{"name": name, "value": value} for name, value in pairs]


def _form_params(body: bytes, charset: Optional[str], wide: Optional[str],
                 redactor: Optional[Redactor]) -> list[dict[str, str]]:
    """HAR params of a form body; ``wide``: its codec when it is UTF-16/32
    (:func:`.body_wide.wide_codec`) or EBCDIC declared so, else None."""
    codec = None if wide is not None else form_codec(charset)
    if wide is not None:
        # UTF-16/32 (NUL-spaced ASCII): read in that codec, as Django's QueryDict reads
        # a form declared so, not as NUL-spaced names no list names (a "password" field
        # went out in clear); its escapes are then read as any form's (UTF-8). Cut
        # short, or an odd byte: U+FFFD for it, never a fall back to NUL-spaced names.
        text = body.decode(wide, "replace")
    elif codec is not None:
        # The client's statement of what the bytes mean, when it is a charset a form can
        # be in: "caf%E9" in latin-1 is "café" (the escapes, and the raw bytes, read so).
        text = ascii_form(body)
    else:
        # Form data is percent-encoded ASCII; raw bytes beyond that are taken as UTF-8,
        # and one that is not UTF-8 is kept percent-encoded, as an escape of it is (a raw
        # "caf\xe9" is "caf%E9", as "caf%E9" is; U+FFFD lost the byte).
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = escape_undecoded(body.decode("utf-8", "surrogateescape"))
    if redactor is not None:
        # The pairs after a "#" in a pair too, and a field holding JSON key by key.
        text = redactor.query_string(text, codec)
    return records(parse_query(text, codec))


def params_of(
    body: bytes, essence: str, charset: Optional[str], declared: str,
    redactor: Optional[Redactor], truncated: bool, limit: int = 1 << 18,
) -> tuple[Optional[list[dict[str, str]]], Optional[str], Optional[str]]:
    """(HAR params of a form or multipart body, or else the text to record and its
    comment; all None when it is recorded as any other body). ``truncated``: the body
    was cut short; ``limit``: max_body_bytes, the most read of each layer a multipart
    file holds compressed."""
    if essence == FORM:
        json_text = form_of_json(body, truncated, redactor)
        if json_text is not None:
            return None, *json_text
        wide = wide_codec(body, charset, truncated)
        if redactor is not None and 0 in body and (
                (wide is not None or not json.detect_encoding(body).startswith("utf-8"))
                and redactor.mentions_key(
                    body.decode("latin-1").replace("\0", "\n"), denied_only=True)
                or misread_wide(body, wide, redactor)):
            # Read in UTF-16/32 (as Django reads it), a denied name spelled in ASCII
            # (as werkzeug and Starlette read the bytes) would go out in clear. (The
            # NULs made line breaks: mentions_key drops NULs, finding NUL-spaced names.)
            # So for bytes that look so but do not decode (read as bytes, NUL-spaced).
            # And for UTF-16/32 not told as such (its first characters beyond ASCII,
            # "名前=...&password=...", hold no NUL): read as bytes, its pairs' names are
            # NUL-spaced, which no name matches (mentions_key drops the NULs).
            return None, redacted(body), UNREDACTABLE_COMMENT
        if wide is None and not body.isascii() and ebcdic_form_codec(charset) is not None:
            # Declared EBCDIC (a mainframe client's) and no ASCII (which a client
            # declaring EBCDIC by mistake sends, werkzeug reading it so): read in it, as
            # Django reads it.
            return _form_params(body, charset, ebcdic_form_codec(charset), redactor), None, None
        if redactor is not None and not body.isascii() and (
                ebcdic_shaped(redactor, body) or redactor.has_allow and b"=" not in body
                and b"=" in ebcdic_reading(body)):
            # A form in EBCDIC (a mainframe client's), declared otherwise: its pairs
            # are one field's name no list names (an allowlist keeps names),
            # percent-encoded, which `iconv -f IBM037` reads (hostile34).
            return None, redacted(body), UNREDACTABLE_COMMENT
        return _form_params(body, charset, wide, redactor), None, None
    params = multipart_params(body, declared, redactor, limit)
    if params is None and redactor is not None and multipart_mentions(
            body.decode("latin-1"), redactor):
        # Fields we could not parse could be sensitive: redact the whole body.
        return None, redacted(body), UNREDACTABLE_COMMENT
    return params, None, None


def form_of_json(body: bytes, truncated: bool, redactor: Optional[Redactor]
                  ) -> Optional[tuple[str, str]]:
    """(text, comment) of a request body sent as a form that is JSON (jQuery's default
    Content-Type; a view reading ``json.loads(request.body)`` reads it as JSON), see
    :func:`.body_redaction.json_as_form`; None for any other body."""
    if redactor is None or (_JSON_BYTES_START.match(body) is None and not (
            0 in body[:4] or body[:2] in _UTF16_MARKS)):
        return None
    # As json.loads(bytes) reads it: in the codec of its byte order mark, or of UTF-16/32
    # by where its NULs are (RFC 4627), else UTF-8.
    codec = json.detect_encoding(body)
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        # A byte that is not UTF-8 (a Windows client's curly quote): its keys are ASCII
        # all the same, and read as a form the document was one field's name. Read as a
        # JSON body without a charset is (hostile20: the same text under either type):
        # cut short, up to a character cut; else one character a byte, 0x80-0x9F as
        # windows-1252 ("\x93" is U+201C, not the control U+0093); binary (a control no
        # text holds), as latin-1. The UTF-8 mark before it is no text. UTF-16/32 cut
        # short: as far as it decodes.
        if codec.startswith("utf-8"):
            data = body[3 if codec == "utf-8-sig" else 0:]
            text = decode(data, _JSON_TYPE, None, truncated)[0] or data.decode("latin-1")
        else:
            text = body.decode(codec, "replace")
    return json_as_form(text, redactor)
