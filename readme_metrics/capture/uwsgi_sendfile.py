"""uWSGI's ``wsgi.file_wrapper``, seen returning its file.

uWSGI's file_wrapper is a builtin function (py_uwsgi_sendfile), not a type: it notes the
file as the request's sendfile object and returns the very same file, which uWSGI sends
by sendfile (the whole file, from offset 0) only when that object is the response
itself. Nothing on the object tells it came from there, so a middleware that hands a
file_wrapper response back as it is (the server keeps its fast path) puts a
:class:`SentFile` in the environ's place of it for the app's call, and asks it after.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["NOTHING", "SentFile", "record_sent_file", "restore"]

KEY = "wsgi.file_wrapper"

#: What :attr:`SentFile.sent` is before the app called it (no response is this object).
NOTHING: Any = object()


class SentFile:
    """The server's file_wrapper, called as it is (its arguments, its errors), with what
    it returned last kept in :attr:`sent`: uWSGI keeps the last one as its sendfile
    object too."""

    __slots__ = ("server", "sent")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.sent: Any = NOTHING

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sent = self.server(*args, **kwargs)
        self.sent = sent
        return sent


def record_sent_file(environ: Any) -> Optional[SentFile]:
    """A :class:`SentFile` put in the environ's place of a file_wrapper that is no type
    (uWSGI's; a type's instances are known by it), else None. Asked under uWSGI only."""
    server = environ.get(KEY)
    if server is None or isinstance(server, type):
        return None
    sent = SentFile(server)
    environ[KEY] = sent
    return sent


def restore(environ: Any, sent: SentFile) -> None:
    """The server's file_wrapper back in the environ, unless something else was put
    there since (an app's own)."""
    if environ.get(KEY) is sent:
        environ[KEY] = sent.server
