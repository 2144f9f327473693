"""EBCDIC (hostile34): binary data read as EBCDIC, for the check of a denied name in a
key's shape (:func:`readme_metrics.har.key_shapes.ebcdic_shaped`), and the codec of a
form declared in an EBCDIC charset (:mod:`.body_forms`).

A mainframe client's text (IBM037, IBM500, IBM273, IBM1047, IBM1140 ...) that its
Content-Type does not declare so is no text in any charset the body names: its letters
are latin-1's C1 controls, so it is binary data, base64 in the log, which
``base64 -d | iconv -f IBM037`` reads. Those code pages agree on what a key's shape is
made of (letters, digits, ``"`` but in IBM1026, ``:``, ``=``, ``_``, ``-``, ``.``,
``/``, blanks and line ends), so one reading (IBM500's, mapped onto latin-1) serves them
all.
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import Optional

#: Each byte as IBM500 reads it, as its latin-1 byte (IBM500 holds latin-1's 256
#: characters), but 0xFC, IBM1026's (Turkish) ``"``, read as ``"`` too (IBM500's ``ü``:
#: a reading for the check alone, never logged).
_AS_LATIN1 = bytes(range(0xFC)).decode("cp500").encode("latin-1") + b'"' + bytes(
    range(0xFD, 256)).decode("cp500").encode("latin-1")

#: What a form is written with: its letters, digits and separators.
_FORM_CHARACTERS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789&=%+-_.")
_IN_EBCDIC = _FORM_CHARACTERS.encode("cp500")


def ebcdic_reading(data: bytes) -> bytes:
    """``data`` read as EBCDIC (IBM500), as latin-1 bytes: one copy, at memory speed."""
    return data.translate(_AS_LATIN1)


@lru_cache(maxsize=64)
def ebcdic_form_codec(charset: Optional[str]) -> Optional[str]:
    """The codec of a declared charset that is EBCDIC (a form's letters, digits, ``&``,
    ``=``, ``%`` and ``+`` its bytes as IBM500's), else None: Django's QueryDict reads a
    form so declared in it, its ``password`` field a field (werkzeug reads the bytes as
    UTF-8: no field of that name)."""
    if not charset:
        return None
    try:
        # (A codec that is no text encoding, base64's, rot13's, raises LookupError.)
        codec = codecs.lookup(charset).name
        return codec if _FORM_CHARACTERS.encode(codec) == _IN_EBCDIC else None
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
