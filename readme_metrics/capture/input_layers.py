"""What a request's ``wsgi.input`` is under the layers around it: the server's own stream
seen through the wrappers that only count or check reads (:func:`server_stream`; one of
them Django's LimitedStream, :func:`is_django_limited`), and whether the whole body is
there already, in memory or a regular file (:func:`is_buffered`). For :mod:`.rest`,
which reads an unread rest by what the stream is. (Moved out of ``rest``: house56.)
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from typing import Any

__all__ = ["is_buffered", "is_django_limited", "server_stream"]


def server_stream(stream: Any) -> Any:
    """The server's own stream under the wrappers that only count or check reads.

    wsgiref.validate's checker and werkzeug's ``LintMiddleware`` input (put around apps
    in development and tests: outside the middleware, around the input it is given) and
    Django's LimitedStream (its runserver wraps the socket reader in one) are seen
    through. Reads still go through them (``stream``), for their counts.
    """
    from wsgiref.validate import InputWrapper

    for _ in range(8):  # a few layers at most; never loop on a self-referencing wrapper
        if isinstance(stream, InputWrapper):
            stream = stream.input
        elif _is_lint_input(stream):
            stream = stream._stream
        elif is_django_limited(stream):
            stream = getattr(stream._read, "__self__", None)
        else:
            break
    return stream


def _is_lint_input(stream: Any) -> bool:
    """True for werkzeug's ``LintMiddleware`` wrapper of ``wsgi.input`` (it only warns)."""
    return type(stream).__name__ == "InputStream" and type(stream).__module__ == (
        "werkzeug.middleware.lint")


def is_django_limited(stream: Any) -> bool:
    """True for Django's LimitedStream (runserver's ``wsgi.input``, a Django request's
    stream)."""
    return type(stream).__name__ == "LimitedStream" and type(stream).__module__ == (
        "django.core.handlers.wsgi")


def is_buffered(stream: Any) -> bool:
    """True for memory and regular files: the whole body is there already."""
    if isinstance(stream, tempfile.SpooledTemporaryFile):
        stream = stream._file  # memory until it rolls over to a real file
    if isinstance(stream, io.BytesIO) or (  # Django's test client keeps it in memory
            type(stream).__name__ == "FakePayload"
            and type(stream).__module__ == "django.test.client"):
        return True
    raw = getattr(stream, "raw", stream)
    if isinstance(stream, (io.BufferedReader, io.BufferedRandom, io.FileIO)) or (
        isinstance(raw, io.FileIO)
    ):
        try:
            return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
        except (OSError, ValueError, AttributeError):
            return False
    return False
