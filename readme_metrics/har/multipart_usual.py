"""A multipart body framed as browsers, curl, requests and Go frame it, read by hand.

The same parts as webob's FieldStorage reads, a tenth of the work; any other body is
:mod:`.multipart_storage`'s.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from readme_metrics.har.multipart_storage import (
    MOST_PARAMETER_WORK,
    cgi_module,
    parameter_work,
)
from readme_metrics.har.text import decode_field

__all__ = ["usual_fields"]


class _UsualPart:
    """A part read by :func:`usual_fields`: what this module asks of a part webob's
    FieldStorage read (its headers by their lower-case names)."""

    __slots__ = ("name", "filename", "value", "headers", "type_options")

    def __init__(self, name: str, filename: Optional[str], value: bytes,
                 headers: dict[str, str], type_options: dict[str, str]) -> None:
        self.name = name
        self.filename = filename
        self.value = value
        self.headers = headers
        self.type_options = type_options


#: A part's header as browsers, curl, requests and Go's mime/multipart write it: a
#: Content-Disposition of form-data with a quoted name (and file name) holding no quote,
#: backslash, ";", "*" or line break, perhaps a Content-Type, no other header and no
#: folded line; then the blank line.
_USUAL_HEAD = re.compile(
    rb'(?i:content-disposition): (form-data; name="([^"\\;*\r\n]*)"'
    rb'(?:; filename="([^"\\;*\r\n]*)")?)'
    rb'(?:\r\n(?i:content-type):[ \t]*([^\r\n]*))?\r\n\r\n')

#: A boundary that cgi.valid_boundary takes, ASCII (its latin-1 bytes are its own).
_USUAL_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")


def usual_fields(body: bytes, content_type: str) -> Optional[list[tuple[Any, str, Any]]]:
    """:func:`_fields` of a body framed as the usual clients frame it, its parts read as
    webob's FieldStorage reads them (the same names, file names, bytes and header
    values); None for any other body, which FieldStorage reads (:func:`storage_parts`).
    FieldStorage costs about 35 us a part (email's FeedParser for each part's header, a
    Message asked 8 times, a file object per part): a form of tiny parts cost 0.7 to 0.9
    s a MiB.

    Usual: the body starts with its first boundary's line, ends with the closing one
    (and perhaps a line break), each part's header is :data:`_USUAL_HEAD`, and no line
    of a part's bytes starts with the boundary (which FieldStorage would read as one)."""
    # What the parameters cost to read (cgi.parse_header's time is quadratic in them) is
    # counted before each is read, as FieldStorage's reading counts it (Body.charge).
    work_left = MOST_PARAMETER_WORK - parameter_work(content_type)
    if work_left < 0:
        return None
    cgi = cgi_module()
    ctype, options = cgi.parse_header(content_type)
    boundary = options.get("boundary", "")
    if ctype[:10] != "multipart/" or _USUAL_BOUNDARY.fullmatch(boundary) is None:
        return None
    dash = b"--" + boundary.encode("ascii")
    if not body.startswith(dash + b"\r\n"):
        return None
    pieces = body[len(dash) + 2:].split(b"\r\n" + dash)
    if len(pieces) < 2 or pieces[-1] not in (b"--", b"--\r\n") or \
            body.count(b"\n" + dash) != len(pieces) - 1:
        return None
    fields = []
    for index, piece in enumerate(pieces[:-1]):
        if index and not piece.startswith(b"\r\n"):
            return None  # "--boundary" and more on its line
        head = _USUAL_HEAD.match(piece, 2 if index else 0)
        if head is None:
            return None
        disposition = head[1].decode("latin-1")
        headers = {"content-disposition": disposition}
        type_options: dict[str, str] = {}
        work_left -= parameter_work(disposition)
        if head[4] is not None:
            part_type = headers["content-type"] = head[4].decode("latin-1")
            work_left -= parameter_work(part_type)
            if work_left < 0:
                return None
            part_ctype, type_options = cgi.parse_header(part_type)
            if part_ctype == "application/x-www-form-urlencoded" or \
                    part_ctype[:10] == "multipart/":
                return None  # read as a form or as more parts
        filename = None if head[3] is None else head[3].decode("latin-1")
        value = piece[head.end():]
        part = _UsualPart(head[2].decode("latin-1"), filename, value, headers, type_options)
        # Its name and field as _name and _field read them: no name* (no "*"), no
        # Content-Transfer-Encoding.
        fields.append((part, decode_field(head[2], None), part if filename else
                       decode_field(value, type_options.get("charset"))))
    return fields if work_left >= 0 else None

