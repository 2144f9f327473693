"""What a server sends of a ``wsgi.file_wrapper`` answer, measured without reading it.

A middleware that hands a file_wrapper response back as it is (the server keeps its
sendfile fast path) never sees the bytes go out: :func:`file_rest` tells the log how many
the server sends, as each server measures the file (gunicorn, waitress, wsgiref, uWSGI).
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from typing import Any

__all__ = ["file_rest"]


def file_rest(wrapper: Any, environ: Any, length: int = -1) -> int:
    """Bytes a server sends of a ``wsgi.file_wrapper`` whose response declares ``length``
    (its Content-Length; -1: none): the rest of its file from where it stands, measured
    as the servers do (gunicorn's sendfile by fstat, waitress by a seek to the end and
    back, wsgiref reads to the end), and no more than ``length`` (gunicorn and waitress
    stop there, and at the end of a file shorter than it); under uWSGI, whose sendfile
    sends a file with a descriptor whole, from offset 0, and reads any other file to its
    end, whatever the header says, the file's. ``length`` when the file cannot be measured
    without reading it (-1 without one). Only a plain file (an ``open(..., "rb")``, a
    temporary file) or a ``BytesIO`` is measured: another object's size may not be its
    descriptor's (a gzip or bz2 file's is the compressed one), and its seek may cost
    (decompressing) or not come back. Neither moves nor rolls over the file (a
    SpooledTemporaryFile's fileno() would write it to disk), and never raises."""
    # wsgiref's, gunicorn's and werkzeug's FileWrapper keep it as filelike; waitress's
    # ReadOnlyFileBasedBuffer as file; uWSGI's file_wrapper returns the file itself.
    uwsgi = "uwsgi.version" in environ
    if uwsgi:
        filelike = wrapper
    else:
        filelike = getattr(wrapper, "filelike", None)
        if filelike is None:
            filelike = getattr(wrapper, "file", None)
    try:
        file = _plain_file(filelike)
        if file is None:
            return length
        position = file.tell()
        if position.__class__ is not int or position < 0:
            return length
        if file.__class__ is io.BytesIO:
            with file.getbuffer() as view:
                rest = max(view.nbytes - position, 0)
            return rest if uwsgi else _at_most(length, rest)
        descriptor = file.fileno()
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return length  # a pipe or a socket: its length is known once it is sent
        if uwsgi:
            # uWSGI's sendfile sends the whole file from offset 0 whatever its position
            # (a file without a descriptor, a BytesIO, it reads from where it stands).
            return status.st_size
        sent = _at_most(length, max(status.st_size - position, 0))
        if "gunicorn.socket" in environ:
            offset = os.lseek(descriptor, 0, os.SEEK_CUR)
            if (offset != position
                    and _at_most(length, max(status.st_size - offset, 0)) != sent):
                # A buffered file the app read from: gunicorn's sendfile starts at the
                # descriptor's offset (past what the buffer took), its loop (no
                # sendfile: TLS, --no-sendfile) at the file's position.
                return -1
        return sent
    except Exception:  # noqa: BLE001 - the app's object: unknown rather than an error
        return length


def _at_most(length: int, rest: int) -> int:
    """``rest`` bytes of a file, sent under a Content-Length of ``length`` (-1: none)."""
    return rest if length < 0 or rest < length else length


def _plain_file(filelike: Any) -> Any:
    """``filelike`` itself, or the file a tempfile object holds, when it is a file of the
    io module whose size and position are its bytes' (FileIO, BufferedReader or
    BufferedRandom over one, BytesIO); else None."""
    if filelike.__class__ is tempfile.SpooledTemporaryFile:
        filelike = filelike._file  # BytesIO, or the file it rolled over to
    elif filelike.__class__ is _TEMPORARY_WRAPPER:
        filelike = filelike.file  # NamedTemporaryFile's
    kind = filelike.__class__
    if kind is io.BytesIO or kind is io.FileIO:
        return filelike
    if (kind is io.BufferedReader or kind is io.BufferedRandom) \
            and filelike.raw.__class__ is io.FileIO:
        return filelike
    return None


_TEMPORARY_WRAPPER = getattr(tempfile, "_TemporaryFileWrapper", None)
