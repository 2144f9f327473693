"""The response headers as the app gave them, read for the log: its Content-Length, its
own ``x-documentation-url``, and their text (WSGI's latin-1 strings or ASGI's bytes).
"""

from __future__ import annotations

from typing import Any, Sequence

from readme_metrics.capture.latin1 import header_text

__all__ = ["joined_header_read", "response_content_length", "response_header_read",
           "response_header_text", "sets_docs_url"]

#: The header the library adds to a logged response (SPEC 7), as WSGI (text) and ASGI
#: (bytes) name it.
_DOCS_NAME, _DOCS_NAME_BYTES = "x-documentation-url", b"x-documentation-url"


def sets_docs_url(headers: Any) -> bool:
    """True when the app's response headers, WSGI's (text names) or ASGI's (bytes), hold
    an ``x-documentation-url`` (any case): its own is kept and the library adds none, so
    the client never gets two (never raises)."""
    try:
        for name, _ in headers:
            if len(name) != 19:
                continue
            if isinstance(name, str):
                if name.lower() == _DOCS_NAME:
                    return True
            elif bytes(name).lower() == _DOCS_NAME_BYTES:
                return True
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        pass
    return False


_CONTENT_LENGTH = ("content-length", b"content-length")


def response_content_length(headers: Any) -> int:
    """The Content-Length the app declared (the last one, as waitress and gunicorn read
    them; WSGI's str pairs or ASGI's bytes); -1 when none can be read (never raises)."""
    length = -1
    try:
        for name, value in headers:
            if name.lower() in _CONTENT_LENGTH:
                length = int(value)
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        return -1
    return length


def _text(value: object) -> str:
    """A header name or value as a WSGI-style string (ASGI gives bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    return str(value)


def response_header_text(pairs: Sequence[tuple[object, object]]) -> list[tuple[str, str]]:
    """Response headers as text: names as WSGI-style strings, values as UTF-8 text when
    that is what their bytes were (see :func:`header_text`); what is no pair is left out."""
    return response_header_read(pairs)[0]


def response_header_read(pairs: Sequence[tuple[object, object]]
                         ) -> tuple[list[tuple[str, str]], int]:
    """``(response_header_text(pairs), response_content_length(pairs))`` in one pass: the
    worker reads both for nearly every log (one Python call and one loop less, cpu18)."""
    out = []
    length = -1
    read = True  # response_content_length's reading goes on (its first error: -1, done)
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            # Not a (name, value) pair: no server sends it as a header (werkzeug's takes
            # it and fails while writing), and the app's call still gets its log.
            read, length = False, -1
            continue
        if read:
            try:
                if name.lower() in _CONTENT_LENGTH:  # type: ignore[attr-defined]
                    length = int(value)  # type: ignore[call-overload]
            except Exception:  # noqa: BLE001 - as response_content_length: none read
                read, length = False, -1
        # ASCII strings, the usual case, are already what the log shows.
        if name.__class__ is not str:
            name = _text(name)
        if value.__class__ is not str or not value.isascii():
            value = header_text(_text(value))
        out.append((name, value))
    return out, length


def joined_header_read(text: str) -> tuple[list[tuple[str, str]], int]:
    """:func:`response_header_read` of the pairs of strings ``text`` holds joined by NUL
    (:class:`~readme_metrics.capture.pending.Pending`'s: no name nor value holds one).

    ASCII text, the usual case, needs no conversion: the pairs are made by ``zip`` of
    the split's halves, and only the Content-Length is read by a loop (a name of its
    length lower-cased); the pairs' Python loop, its ``try``, ``isascii`` and ``append``
    a pair, cost the sender 15.2k instructions a log for the bench GET's three pairs,
    this 12.9k (cpu40; the names lower-cased at once and split again cost 18.5k)."""
    parts = text.split("\0")
    if not text.isascii():
        pairs = iter(parts)
        return response_header_read(list(zip(pairs, pairs)))
    out = list(zip(parts[0::2], parts[1::2]))
    length = -1
    for name, value in out:
        if len(name) == 14 and name.lower() == "content-length":
            try:
                length = int(value)
            except Exception:  # noqa: BLE001 - as response_header_read: none read
                return out, -1
    return out, length
