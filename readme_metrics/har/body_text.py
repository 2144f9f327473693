"""A body that is not a form's params recorded as text or base64 (SPEC sections 4 and 6),
for :mod:`.bodies`.

Text in the charset its type, its bytes or its byte order mark tell, redacted by its type
(:mod:`.body_redaction`), header lists in it masked; else base64, or hidden whole when
its bytes could spell a denied key's name in a key's shape (:mod:`.key_shapes`).
"""

from __future__ import annotations

import base64
from typing import Optional

from readme_metrics.har.body_compressed import holds
from readme_metrics.har.body_forms import form_of_json
from readme_metrics.har.body_redaction import (
    NOT_KEYED_COMMENT,
    UNREDACTABLE_COMMENT,
    looks_like_json,
    multipart_mentions,
    redact_text,
)
from readme_metrics.har.credential_pairs import masked_credential_form, masked_credential_pairs
from readme_metrics.har.key_ebcdic import ebcdic_form_codec
from readme_metrics.har.key_shapes import ebcdic_shaped
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import FORM, JSON_START, decode

__all__ = ["text_or_base64"]


def text_or_base64(
    body: bytes,
    essence: str,
    charset: Optional[str],
    truncated: bool,
    redactor: Optional[Redactor],
    limit: int,
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, redaction comment) for a body that is not a form's params;
    ``limit``: max_body_bytes, the most read of each layer it holds compressed."""
    comment: Optional[str] = None
    text: Optional[str]
    read = form_of_json(body, truncated, redactor) if essence == FORM else None
    if read is not None:
        # An answer declared a form that is JSON: read as a request's is
        # (body_forms.params_of), in the codec json.loads reads its bytes in
        # (windows-1252 JSON was no text, and was redacted whole; twins21).
        text, comment = read
    else:
        text, codec = decode(body, essence, charset, truncated)
        if text is not None and redactor is not None and len(text) == len(body) and (
                not body.isascii() and ebcdic_form_codec(codec) is None
                and ebcdic_shaped(redactor, body)):
            # Read a byte a character (windows-1252 as a last resort, a declared latin-1,
            # KOI8-R ...; not EBCDIC): a mainframe client's text in EBCDIC, declared
            # otherwise, spells its keys in no reading of it (hostile34).
            return redacted(body), False, UNREDACTABLE_COMMENT
        if text is not None and redactor is not None:
            text, comment = redact_text(text, essence, codec, redactor)
    if text is not None:
        if looks_like_json(essence, text):
            # A header list in JSON ({"name": "Authorization", "value": ...}): its
            # credentials masked as the headers are, lists or none.
            text = masked_credential_pairs(text)
        elif essence == FORM:
            # A header list in a form-encoded answer (recorded as text).
            text = masked_credential_form(text)
        return text, False, comment
    if redactor is not None:
        # Binary data is not key/value data (allowlist), and may spell a denied key.
        if redactor.allow_only:
            return redacted(body), False, NOT_KEYED_COMMENT
        if (redactor.shapes_key_in(body) or _names_key_encoded_in(body, essence, redactor)
                or essence.startswith("multipart/") and (
                    # A part in UTF-16/32 (a form's, a JSON's): its value's names
                    # percent-encoded, NUL-spaced (leaks11).
                    b"%" in body and multipart_mentions(
                        body.decode("latin-1").replace("\0", ""), redactor))
                or _spells_key_compressed(body, redactor, limit)):
            return redacted(body), False, UNREDACTABLE_COMMENT
    return base64.b64encode(body).decode("ascii"), True, None


def _spells_key_compressed(body: bytes, redactor: Redactor, limit: int) -> bool:
    """Whether a layer ``body`` holds compressed, under no coding declared for it, spells
    a denied key or cannot be checked whole (:mod:`.body_compressed`): its base64 would
    show it to anyone who gunzips it."""
    return holds(body, redactor.shapes_key_in, limit)


def _names_key_encoded_in(body: bytes, essence: str, redactor: Redactor) -> bool:
    """Whether binary data of a keyed type, a form or JSON, names a denied key only
    percent-encoded (``pass%77ord=``, a URL's query in a JSON string): as its text would
    be read (a form's parse; :func:`redact_text`'s ``names_key_encoded``). JSON that is
    no UTF-8 and holds a control is base64 since hostile18, and a form answer that is no
    UTF-8 always was: :meth:`Redactor.mentions_key_in` finds no such spelling."""
    if b"%" not in body or essence != FORM and "json" not in essence and (
            JSON_START.match(body[:64].decode("latin-1")) is None):
        return False
    return redactor.names_key_encoded(body.decode("latin-1"))
