"""The collector's HAR 1.2 file: entries appended, a valid document at every moment.

Layout: a fixed head, one entry per line, and the tail ``\\n]}}\\n``; the offset of the
tail is remembered, so an append copies the file, writes the new entries and the tail
over the old tail in the copy, syncs it and renames it over the original
(``os.replace``). A reader, a crash or ``kill -9`` never sees half a write; the cost is one
kernel-side copy of the file per batch, fine for a local debugging tool.

A file another process wrote since the last append (a second collector given the same
``--har``, as two ``readme-metrics collect`` started in one folder are; ``demo --har``
naming it) is read again and continued, not cut at the remembered offset: its entries
and the new ones are written whole. Each write holds an advisory lock on the file's folder
(``flock``, where the platform has it), so two collectors never both copy the same file
and let the second rename drop the first's entries.

The file holds request data (bodies, headers), so it and its copies are created readable
by the owner only (0600). A copy left behind by a killed process (``.NAME.PID.tmp``, the
PID no longer running) is removed when the file is opened again.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

from readme_metrics.delivery import process
from readme_metrics.version import __version__

__all__ = ["HarFile"]

_MODE = 0o600
_CREATOR = {
    "name": "readme-metrics collect",
    "version": __version__,
    "comment": "API calls received by the local Metrics API stand-in",
}


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is someone else's (EPERM), or the platform cannot tell
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; not possible on every platform (then skipped)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy(source: Any, out: Any) -> None:
    """Copy a whole file into ``out``, in the kernel (sendfile) where the platform can."""
    size = os.fstat(source.fileno()).st_size
    done = 0
    try:
        while done < size:
            sent = os.sendfile(out.fileno(), source.fileno(), done, size - done)
            if not sent:
                break
            done += sent
    except (AttributeError, OSError):
        source.seek(done)
        out.seek(done)
        shutil.copyfileobj(source, out)


@contextmanager
def _writers_one_at_a_time(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``directory`` (``flock`` on its descriptor:
    no lock file left behind) while one process reads, copies and renames a HAR file in
    it. Without one, two processes both copy the same file and the second rename drops
    the first's entries (163 of 300 kept in two writers' 150 appends each). Where there
    is no ``flock`` (Windows) or the file system refuses it, writes go unlocked, as
    before."""
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    fd = -1
    try:
        if fcntl is not None:
            try:
                with _opening:  # (no fork between the open and its record)
                    fd = os.open(directory, os.O_RDONLY)
                    _locking.add(fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                pass  # a lock is a courtesy between collectors; the write still goes on
        yield
    finally:
        # Out of the set and closed as one step, closed to a fork as the open is: a child
        # forked between the two kept a descriptor the set no longer held, and with it
        # the lock (96 of 3,000 forks from a thread around a write before).
        with _opening:
            if fd in _locking:  # (not in a child forked in the block: closed there)
                _locking.discard(fd)
                os.close(fd)  # releases the lock


#: The descriptors :func:`_writers_one_at_a_time` holds its locks by, now. A child forked
#: meanwhile (another thread's ``os.fork``, a multiprocessing "fork" worker) shares the
#: lock through its copy of one (flock's lock is the open file's): the lock outlived the
#: write until the child exited, and every write after waited for it. The child closes
#: them (it writes nothing under them).
_locking: set[int] = set()
#: Held from a lock's ``os.open`` to its record in :data:`_locking` and from its removal
#: to its close, and by a forking
#: thread through the fork: a child forked from another thread in between kept a
#: descriptor the set did not hold yet, and with it the lock the parent then took.
#: Reentrant: a fork from the holding thread itself (a signal handler's) does not wait.
_opening = threading.RLock()


def _after_fork_in_child() -> None:
    global _opening
    _opening = threading.RLock()  # (the forking thread's, held through the fork)
    _fork_holds.clear()
    for fd in list(_locking):
        try:
            os.close(fd)
        except OSError:
            pass
    _locking.clear()


process.on_fork_in_child(_after_fork_in_child)

#: The longest a fork waits for a lock's open to be recorded (an open of a folder on a
#: hung network mount must not hang every fork of the process).
_FORK_WAIT = 2.0
#: Whether each fork under way holds :data:`_opening`, by forking thread (a fork whose
#: wait ran out holds nothing). One list for all threads gave a fork another thread's:
#: one that had waited in vain while another thread's fork took the lock released a
#: lock it did not hold (RuntimeError), and the other kept it for good.
_fork_holds: dict[int, list[bool]] = {}


def _before_fork() -> None:
    _fork_holds.setdefault(threading.get_ident(), []).append(
        _opening.acquire(timeout=_FORK_WAIT))


def _after_fork_in_parent() -> None:
    holds = _fork_holds.get(threading.get_ident())
    held = holds.pop() if holds else False
    if holds == []:
        _fork_holds.pop(threading.get_ident(), None)
    if held:
        _opening.release()


process.on_fork(_before_fork, _after_fork_in_parent)


def _private(path: Path) -> int:
    """Open ``path`` for writing, created or truncated, readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _MODE)
    try:
        os.fchmod(fd, _MODE)  # it may have existed with a wider mode
    except (AttributeError, OSError):
        pass  # not on this platform
    return fd


class HarFile:
    """A HAR 1.2 file that entries are appended to, valid JSON after every append."""

    _TAIL = b"\n]}}\n"

    def __init__(self, path: str | os.PathLike[str], *, fresh: bool = True) -> None:
        """Create ``path`` or replace the HAR file there (``fresh``), or continue it.

        Continuing keeps everything the file's ``log`` had besides its entries (a
        browser's ``pages``, ``browser``, ``creator`` and ``comment``). Raises
        ``ValueError`` if an existing file is not a HAR document, fresh or not (it is never
        overwritten: ``--har app.py`` is a slip, not a wish) and ``OSError`` if the file
        cannot be written.
        """
        self.path = Path(path).resolve()
        self._lock = threading.Lock()
        self.count = 0
        self.existing: list[dict[str, Any]] = []
        #: Entries not written yet: the file was no HAR file at the last append (see
        #: :meth:`_continue_from_disk`).
        self.held: list[dict[str, Any]] = []
        self.removed_copies = self._remove_stale_copies()
        head: dict[str, Any] = {"version": "1.2", "creator": dict(_CREATOR)}
        self._written: tuple[int, int, int] = (0, 0, 0)
        with _writers_one_at_a_time(self.path.parent):  # read and written as one step
            if self.path.exists():
                log = self._read_log(self.path)
                if not fresh:
                    self.existing = log.pop("entries")
                    head = {**head, **log}
            self._set_head(head)
            self._write_whole(self.existing)

    def _set_head(self, head: dict[str, Any]) -> None:
        self._head = (json.dumps({"log": head})[:-2] + ', "entries": [').encode()
        self._end = len(self._head)

    @staticmethod
    def _identity(stat: os.stat_result) -> tuple[int, int, int]:
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _continue_from_disk(self, source: Any, entries: list[dict[str, Any]]) -> None:
        """Write what the file open as ``source`` holds (its head and entries) followed
        by ``entries``; a file deleted (``source`` None) is started afresh. One that is
        no HAR file now (another program's, or one being written in place: ``cp`` of a
        HAR over it) is left as it is, never overwritten: ``entries`` are held for the
        next append (:attr:`held`), which writes them once the file is a HAR again (or
        is deleted)."""
        head: dict[str, Any] = {"version": "1.2", "creator": dict(_CREATOR)}
        on_disk: list[dict[str, Any]] = []
        if source is not None:
            try:
                log = self._parse_log(self.path, source.read())
            except (OSError, ValueError):
                self.held = entries
                return
            on_disk = log.pop("entries")
            head = {**head, **log}
        self._set_head(head)
        self._write_whole(on_disk + entries)

    @classmethod
    def _read_log(cls, path: Path) -> dict[str, Any]:
        return cls._parse_log(path, path.read_bytes())

    @staticmethod
    def _parse_log(path: Path, data: bytes) -> dict[str, Any]:
        # The reason in words: "--har notes.txt" is a slip, and a repr
        # (JSONDecodeError('Expecting value: ...'), KeyError('log')) reads as a crash.
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ValueError(f"{path} exists and is not a HAR file: it is not JSON ({exc})"
                             ) from exc
        log = document.get("log") if isinstance(document, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(log, dict) or not isinstance(entries, list) \
                or not all(isinstance(e, dict) for e in entries):
            raise ValueError(f"{path} exists and is not a HAR file: no log.entries list in it")
        return dict(log)

    def _remove_stale_copies(self) -> list[Path]:
        """Delete copies of this file left by a process that was killed mid-append."""
        removed: list[Path] = []
        prefix = f".{self.path.name}."
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return removed
        for name in names:
            pid = name[len(prefix):-len(".tmp")] if name.startswith(prefix) else ""
            if not (name.endswith(".tmp") and pid.isdigit()):
                continue
            if int(pid) != os.getpid() and _pid_running(int(pid)):
                continue  # another collector is writing this file right now
            try:
                (self.path.parent / name).unlink()
                removed.append(self.path.parent / name)
            except OSError:
                pass
        return removed

    @staticmethod
    def _line(entry: dict[str, Any]) -> bytes:
        # A lone surrogate (JSON's "\udc80", which json.loads gives as it is) can only be
        # in a string: "backslashreplace" writes it as that same JSON escape, where UTF-8
        # has no bytes for it (the server's JSON answers do the same; a line was a
        # traceback and no answer).
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace")

    def _tmp_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")

    def _write_whole(self, entries: list[dict[str, Any]]) -> None:
        body = b",".join(b"\n" + self._line(entry) for entry in entries)
        tmp = self._tmp_path()
        with os.fdopen(_private(tmp), "wb") as out:
            out.write(self._head + body + self._TAIL)
            out.flush()
            os.fsync(out.fileno())
            written = self._identity(os.fstat(out.fileno()))
        os.replace(tmp, self.path)
        self._written = written
        _fsync_dir(self.path.parent)
        self._end = len(self._head) + len(body)
        self.count = len(entries)

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Add ``entries`` at the end; the file on disk is replaced in one atomic step."""
        if not entries and not self.held:
            return
        with self._lock, _writers_one_at_a_time(self.path.parent), ExitStack() as opened:
            entries, self.held = self.held + entries, []
            # The file another process wrote since (a second collector given the same
            # ``--har``, ``demo --har`` naming it), or deleted, is not the one this
            # object wrote last: appending at the remembered offset would cut the
            # other's entries or leave no JSON. Told from the file opened, not its
            # name: one replaced between a look at the name and the open was cut.
            try:
                source: Any = opened.enter_context(open(self.path, "rb"))
            except OSError:
                source = None
            try:
                if source is None or self._identity(os.fstat(source.fileno())) \
                        != self._written:
                    self._continue_from_disk(source, entries)
                else:
                    self._append_copied(source, entries)
            except BaseException:
                self.held = entries  # not written (each write fails before its rename)
                raise

    def _append_copied(self, source: Any, entries: list[dict[str, Any]]) -> None:
        """Copy the file open as ``source`` (the one this object wrote last), with
        ``entries`` and the tail written over its tail, and rename it over the file."""
        data = b"".join(
            (b",\n" if self.count or index else b"\n") + self._line(entry)
            for index, entry in enumerate(entries)
        )
        tmp = self._tmp_path()
        try:
            with os.fdopen(_private(tmp), "wb") as out:
                _copy(source, out)
                out.seek(self._end)
                out.truncate()
                out.write(data + self._TAIL)
                out.flush()
                os.fsync(out.fileno())
                written = self._identity(os.fstat(out.fileno()))
            os.replace(tmp, self.path)
            self._written = written
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        self._end += len(data)
        self.count += len(entries)
