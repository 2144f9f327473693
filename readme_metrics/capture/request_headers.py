"""The headers of a request from a WSGI environ, and what they say of its body's length.

Headers are the environ's ``HTTP_`` keys, named as a client writes them, and the CGI
variables CONTENT_TYPE and CONTENT_LENGTH; :func:`content_length` and
:func:`chunked_coding` tell how the body is framed.
"""

from __future__ import annotations

from typing import Mapping, Optional

from readme_metrics.capture.latin1 import header_text

__all__ = ["add_content_headers", "chunked_coding", "content_length", "header_name",
           "request_headers"]


# environ key -> header name ("HTTP_X_API_KEY" -> "X-Api-Key"), or "" for a key that is
# not a header. The same few dozen keys come with every request, so each is translated
# once. Bounded: a client sending random header names cannot grow it; past the bound
# names are simply translated every time.
_HEADER_NAMES: dict[str, str] = {}
_HEADER_NAMES_MAX = 2048


def header_name(key: str) -> str:
    """The header name of an environ key (``HTTP_X_API_KEY`` -> ``X-Api-Key``), "" for a
    key that is no header."""
    name = _HEADER_NAMES.get(key)
    if name is None:
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        else:
            name = ""
        if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
            _HEADER_NAMES[key] = name
    return name


def request_headers(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every HTTP header of the request, Content-Type and Content-Length included."""
    headers: list[tuple[str, str]] = []
    names = _HEADER_NAMES
    for key, value in environ.items():
        name = names.get(key)  # inlined cache lookup: this loop runs for every log
        if name is None:
            name = header_name(key)
        if name:
            headers.append((name, value if value.isascii() else header_text(value)))
    add_content_headers(headers, environ.get("CONTENT_TYPE"), environ.get("CONTENT_LENGTH"),
                        environ.get("SERVER_SOFTWARE"))
    return headers


def add_content_headers(headers: list[tuple[str, str]], content_type: Optional[str],
                        length: Optional[str], software: Optional[str]) -> None:
    """Append Content-Type and Content-Length (CGI variables, not HTTP_ keys) if sent."""
    if content_type and not (
        # wsgiref's server invents "text/plain" when a request has no Content-Type;
        # a body-less request with exactly that is its default, not what was sent.
        content_type == "text/plain"
        and not length
        and (software or "").startswith("WSGIServer/")
    ):
        headers.append(("Content-Type", header_text(content_type)))
    if length:
        headers.append(("Content-Length", length))


def content_length(environ: Mapping[str, object]) -> Optional[int]:
    """The declared request body length (CONTENT_LENGTH), None when absent or invalid."""
    raw = environ.get("CONTENT_LENGTH")
    try:
        length = int(raw) if raw else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return length if length is None or length >= 0 else None


def chunked_coding(value: object) -> bool:
    """Whether a Transfer-Encoding value ends in ``chunked``: the body is framed in chunks
    (RFC 9112 6.3), whatever Content-Length says."""
    if value.__class__ is not str:
        return False
    return value.rpartition(",")[2].strip().lower() == "chunked"
