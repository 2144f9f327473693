"""A multipart part's ``Content-Transfer-Encoding`` undone (RFC 2045), for the readings
of a file part (:mod:`.multipart`) and of a multipart body kept as text (a response's:
:func:`~readme_metrics.har.body_redaction.multipart_mentions`). Pure functions, linear
in the bytes or text: each part's body is read once.
"""

from __future__ import annotations

import binascii
import re
from typing import Optional

from readme_metrics._lazy_re import lazy_compile

__all__ = ["base64_parts", "file_transfer_decoded"]

#: The URL-safe alphabet's two characters read as the standard one's.
_URL_SAFE = bytes.maketrans(b"-_", b"+/")


def file_transfer_decoded(data: bytes, coding: Optional[str]) -> bytes:
    """A file part's bytes with its ``Content-Transfer-Encoding`` undone (hostile27): the
    encoding's name in any case (RFC 2045: ``Base64``, ``BASE64``), base64 with no
    padding or in the URL-safe alphabet read too (each was logged as base64 of the base64
    text, the file's password one more ``base64 -d`` away; review117); ``data`` as sent
    when it is no such encoding or does not decode."""
    coding = (coding or "").strip().lower()
    try:
        if coding == "quoted-printable":
            return binascii.a2b_qp(data)
        if coding != "base64":
            return data
        if b"-" in data or b"_" in data:
            data = data.translate(_URL_SAFE)  # (neither is in the standard alphabet)
        if b"=" not in data:
            data += b"=" * (-len(data.translate(None, b" \t\r\n")) % 4)
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return data


#: A part's header naming base64 its transfer encoding, in any case.
_BASE64_HEADER = lazy_compile(
    r"^content-transfer-encoding:[ \t]*base64[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
#: The blank line that ends a part's headers; the line that starts the next part.
_HEADERS_END = lazy_compile(r"\r?\n\r?\n")
_NEXT_PART = lazy_compile(r"\r?\n--")


def base64_parts(text: str) -> Optional[str]:
    """The bodies of the base64 parts of a multipart ``text``, decoded (as latin-1 text,
    one a line), or None when it has none: a response's part so encoded hid its
    ``.env``'s password from the names the body was checked for (review117)."""
    decoded: list[str] = []
    at = 0
    while True:
        header = _BASE64_HEADER.search(text, at)
        if header is None:
            break
        start = _HEADERS_END.search(text, header.end() - 2)
        if start is None:
            break
        end = _NEXT_PART.search(text, start.end())
        stop = len(text) if end is None else end.start()
        data = text[start.end():stop].encode("latin-1", "replace")
        decoded.append(file_transfer_decoded(data, "base64").decode("latin-1"))
        at = stop
    return "\n".join(decoded) if decoded else None
