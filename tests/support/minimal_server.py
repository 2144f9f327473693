"""A minimal WSGI server for direct calls whose environ the test sets to the byte.

``environ_for`` builds a bare environ (CONTENT_LENGTH exactly as given, or absent) and
``call`` runs an app as a minimal server would: start_response, write(), iterate, close().
Used by the capture tests (test_middleware_*.py) and the differential property.
"""

from __future__ import annotations

import io
import wsgiref.util
from typing import Any


def environ_for(method: str = "GET", path: str = "/", body: bytes = b"",
                content_type: str | None = None, query: str = "",
                length: str | None = "auto", **extra: Any) -> dict[str, Any]:
    """A bare environ as wsgiref's testing defaults make it, for api.example.com from
    203.0.113.9; ``length`` "auto" sets CONTENT_LENGTH from the body (blank when none),
    None leaves it out, any other string is used as it stands."""
    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update({
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "api.example.com",
        "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    })
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body)) if body else ""
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    environ.update(extra)
    return environ


class Result:
    """What :func:`call` saw: status, headers and the body bytes."""

    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def call(app: Any, environ: dict[str, Any]) -> Result:
    """A minimal server: start_response, write(), iterate, close()."""
    seen: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        seen["status"], seen["headers"] = status, headers
        return written.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Result(seen["status"], seen["headers"], b"".join(written))
