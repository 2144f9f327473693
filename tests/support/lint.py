"""The lint wrapper: ``wsgiref.validate`` usable below werkzeug's ``LintMiddleware``."""

from __future__ import annotations

from typing import Any


class _ReadlinesInput:
    """werkzeug's lint InputStream lacks readlines(), which wsgiref.validate requires."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, *args: Any) -> bytes:
        return bytes(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return bytes(self._stream.readline(*args))

    def readlines(self, *args: Any) -> list[bytes]:
        return list(iter(self._stream.readline, b""))

    def __iter__(self) -> Any:
        return iter(self._stream)


def validated_inside_lint(app: Any) -> Any:
    """``wsgiref.validate.validator(app)`` usable below a werkzeug ``LintMiddleware``.

    Stack ``validator(LintMiddleware(middleware(validated_inside_lint(app))))`` to check a
    middleware from both sides: as an app towards the server, as a server towards the app.
    """
    from wsgiref.validate import validator

    checked = validator(app)

    def app_with_full_input(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input"] = _ReadlinesInput(environ["wsgi.input"])
        return checked(environ, start_response)

    return app_with_full_input
