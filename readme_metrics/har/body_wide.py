"""A form body in UTF-16/32 (NUL-spaced ASCII), for :mod:`.body_forms`.

:func:`wide_codec` tells its codec, as ``json.loads(bytes)`` tells a text's;
:func:`misread_wide` whether the reading it gets would hide a denied name spelled in it.
"""

from __future__ import annotations

import codecs
import json
from typing import Optional

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text import wide_form_codec, wide_text

__all__ = ["misread_wide", "wide_codec"]


def misread_wide(body: bytes, wide: Optional[str], redactor: Redactor) -> bool:
    """Whether a form holding NULs spells a denied name in UTF-16/32 that the reading it
    gets hides: read as bytes (``wide`` None: no mark, no charset, its first characters
    beyond ASCII; review52), or in ``wide`` told by a declared charset alone and not
    the client's (UTF-16-BE with no mark declared "utf-16" read little-endian, U+7000
    for "p", as Django reads it; UTF-32 declared "utf-16", NUL-spaced; review55). No
    name matched, and the secret went out spelled in its bytes. An ASCII name in any
    UTF-16/32 is that name in the bytes read as latin-1, NULs dropped (mentions_key
    drops them); one beyond ASCII ("パスワード") is looked for in each UTF-16/32 reading."""
    if wide is not None:
        text = body.decode(wide, "replace")
        if "\0" in text:
            return redactor.mentions_key(text, denied_only=True)
        if redactor.mentions_key(text, denied_only=True):
            return False
    return redactor.mentions_key(body.decode("latin-1"), denied_only=True) or (
        redactor.denies_beyond_ascii and any(
            redactor.mentions_key(body.decode(codec, "replace"), denied_only=True)
            for codec in _WIDE_READINGS))


# The codecs misread_wide reads a form holding NULs in.
_WIDE_READINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def wide_codec(body: bytes, charset: Optional[str], truncated: bool) -> Optional[str]:
    """The codec of a form body in UTF-16/32, None for any other: ASCII holds no NUL.
    Told as json.loads(bytes) tells a text's: by its byte order mark, or by where the
    NULs of its first two characters are, whatever the charset says (UTF-16-BE without a
    mark, declared "utf-16", read little-endian logged the fields byte-swapped, U+7000
    for "p"; with no charset, NUL-spaced; neither named by any list); else its declared
    charset when that is UTF-16/32 (the first characters beyond ASCII).

    Told by its bytes alone (no such charset), it must be text in that codec: binary
    data sent with a form's type (curl --data-binary's default), an MP4's
    ``\0\0\0\x18ftyp``, a font's or BSON's first bytes, was read as U+FFFD soup; it is
    read as any form's bytes are (escaped). Only a body cut short (``truncated``) may end
    in a unit's bytes: a whole one of an odd length is no UTF-16 (its last byte was
    U+FFFD). And it must be text in it (:func:`.text.wide_text`): no controls (a protobuf's
    bytes), no ASCII read two bytes at a time (the caller's key after a UTF-16 start).
    """
    if 0 not in body:
        return None
    found = json.detect_encoding(body)
    declared = wide_form_codec(charset)
    if found.startswith("utf-8"):
        return declared
    if declared is None:
        try:
            text = codecs.getincrementaldecoder(found)().decode(body, final=not truncated)
        except UnicodeDecodeError:
            return None
        if not wide_text(text, body, found, truncated):
            return None
    return found
