"""The time of a mod_wsgi daemon process's stop, one for all of its interpreters.

A daemon process serving two application groups or more (``WSGIApplicationGroup``,
mod_wsgi-express's ``--application-group`` and a second ``WSGIScriptAlias``) has a
sub-interpreter for each, each with its own copy of the library, sharing no Python
object. mod_wsgi tells them of the stop one after the other (its table's order), each
once the one before returned from its notice, whose close runs in it
(:mod:`.mod_wsgi_stop`). Each counted the bound of its close from its own notice: the
second, told as the first's close gave up near Apache's kill, counted 2.4 s more, and
Apache's SIGKILL (3 s after its signal) ended it midway, its logs lost unsaid
(delivery67: two groups, an API answering in 30 s, 20 of 40 said, the second's 20
not). The interpreters now count from the first notice of the process, which the first
to be told writes in a file of this process's (in the temporary directory, named by the
process id) and the others read: ``time.monotonic()`` is the same clock in every
interpreter of a process.

A file left by a process killed before it removed its own, whose process id this one
has again, holds a time before this interpreter loaded the library (any stop it is
told of comes after that): not taken, replaced. One of another user's is not read
(each interpreter then counts from its own notice, as before), nor anything not a
regular file (a FIFO is opened without waiting for a writer). Never raises.
"""

from __future__ import annotations

import atexit
import os
import stat
import tempfile
import time
from typing import Optional

#: Before any stop this interpreter is told of: a noted time older than this is a
#: killed process's, whose id this one has again.
_LOADED = time.monotonic()
#: The file this interpreter wrote (it removes it as it ends), once written.
_written: Optional[str] = None


def first_notice(now: float) -> float:
    """The ``time.monotonic()`` of the first notice of the stop among this process's
    interpreters: ``now`` where this is the first (written for the others to read),
    else the one noted before. Never raises."""
    try:
        path = _path()
        noted = _read(path)
        if noted is not None:
            return min(noted, now)
        _write(path, now)
    except Exception:  # (no temporary directory, a full disk: its own, as before)
        pass
    return now


def _path() -> str:
    return os.path.join(tempfile.gettempdir(),
                        f"readme-metrics-mod_wsgi-{os.getpid()}.stop")


def _read(path: str) -> Optional[float]:
    """The time in ``path``, if this user's and this process's; a stale one of this
    user's removed. None without one."""
    try:
        # (O_NONBLOCK: a FIFO left there, another local user's, blocked this open, and
        # mod_wsgi's stop with it, till Apache's kill; review143. A regular file reads as
        # without it.)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_uid != os.geteuid():
            return None
        text = os.read(fd, 64)
    finally:
        os.close(fd)
    try:
        noted = float(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        noted = None
    if noted is not None and _LOADED <= noted <= time.monotonic():
        return noted
    _remove(path)  # (a killed process's, this id again; or written in part)
    return None


def _write(path: str, now: float) -> None:
    """``now`` in a new file at ``path`` (not over another's), removed as this
    interpreter ends."""
    global _written
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                 | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, repr(now).encode("ascii"))
    finally:
        os.close(fd)
    if _written is None:
        _written = path
        # (mod_wsgi ends the interpreters, their atexit run, once it told them all)
        atexit.register(_remove, path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
