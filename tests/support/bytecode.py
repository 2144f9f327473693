"""Bytecode for the library and the tests' support modules, written once per test run
before its workers start (tests/conftest.py), so that the run's server and command
subprocesses read it instead of compiling every source they import again.

The project's machines set ``PYTHONDONTWRITEBYTECODE=1``: a fresh clone then has no
``.pyc`` at all, and each of the suite's subprocess Pythons compiled the ~220 modules of
``readme_metrics.flask_readme`` from source (0.33 s of CPU where the ``.pyc`` takes 0.17 s,
suite31), the servers' ``tests.support`` modules too. The variable stops writing only: an
interpreter still reads a ``.pyc`` it finds, so the run writes these itself.

Sound by construction: each ``.pyc`` is a *checked* hash-based one (PEP 552), read only
when the source's hash is the one it was compiled from, on every import (no mtime and size
window, a file edited during the run is compiled from its source as without any ``.pyc``).
Written where Python writes its own (``__pycache__``, in .gitignore, left out of the sdist
by tests/test_sdist.py), atomically (py_compile), so a second run writing the same file at
once is harmless; a folder it cannot write is left as it is.
"""

from __future__ import annotations

import importlib.util
import py_compile
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

import pytest

#: The flags word of a checked hash-based ``.pyc`` (PEP 552: bit 0 hash-based, bit 1
#: check the source).
CHECKED_HASH = 0b11


def is_current(source: Path) -> bool:
    """Whether ``source`` has a checked hash-based ``.pyc`` of its present bytes."""
    try:
        cached = Path(importlib.util.cache_from_source(str(source)))
        with cached.open("rb") as pyc:
            header = pyc.read(16)
        data = source.read_bytes()
    except OSError:
        return False
    return (header[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(header[4:8], "little") == CHECKED_HASH
            and header[8:16] == importlib.util.source_hash(data))


def sources(places: Iterable[Path]) -> list[Path]:
    """Every ``.py`` file under ``places`` (folders, or the files named), in order."""
    return sorted(path for place in places
                  for path in ([place] if place.is_file() else place.rglob("*.py")))


def write(places: Iterable[Path]) -> int:
    """Compile each source under ``places`` whose ``.pyc`` is missing or not of its
    present bytes; return how many were written. Never raises: a source that does not
    compile or a folder that cannot be written is left for the import to report or to
    compile as before."""
    written = 0
    for source in sources(places):
        if is_current(source):
            continue
        try:
            py_compile.compile(str(source), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        except (py_compile.PyCompileError, OSError, ValueError):
            continue
        written += 1
    return written


def rewritten_sources(config: pytest.Config, folder: Path) -> list[Path]:
    """The modules under ``folder`` whose assertions pytest rewrites as it imports them:
    ``conftest.py`` files and those named as ``python_files`` says (``test_*.py``)."""
    patterns = [*config.getini("python_files"), "conftest.py"]
    return [path for path in sources([folder])
            if any(fnmatch(path.name, pattern) for pattern in patterns)]


def write_rewritten(config: pytest.Config, folder: Path) -> int:
    """Write pytest's own cached ``.pyc`` of each test module under ``folder`` whose
    assertions it rewrites, where missing or not of the source's present bytes; return how
    many were written (suite32).

    pytest writes that cache as it imports a module, but not under
    ``PYTHONDONTWRITEBYTECODE=1`` (the project's machines): each xdist worker parsed and
    rewrote all ~450 test modules again as it collected (a collection: 17.5 s of CPU,
    6.6 s with the cache; four workers). It always *reads* a cache it finds, checked by
    the source's hash as ours above (pytest's ``_read_pyc``): this writes it with
    pytest's own rewrite of the run's own config, once, before the workers start. Never
    raises: under ``--assert=plain``, or if pytest's internals moved, nothing is written
    and each worker rewrites as before."""
    try:
        from _pytest.assertion import rewrite

        if config.getoption("assertmode") != "rewrite":
            return 0
        tail, cache_dir, read, parse, put = (rewrite.PYC_TAIL, rewrite.get_cache_dir,
                                            rewrite._read_pyc, rewrite._rewrite_test,
                                            rewrite._write_pyc)
    except (ImportError, AttributeError, ValueError):
        return 0
    written = 0
    for source in rewritten_sources(config, folder):
        pyc = cache_dir(source) / (source.name[:-3] + tail)
        try:
            if read(source, pyc) is not None:
                continue
            source_hash, code = parse(source, config)
            pyc.parent.mkdir(exist_ok=True)
        except (SyntaxError, OSError, ValueError):
            continue
        written += put(_NO_TRACE, code, source_hash, pyc)  # type: ignore[arg-type]
    return written


class _Trace:
    """What ``_write_pyc`` takes of pytest's assertion state: its ``trace``."""

    @staticmethod
    def trace(message: str) -> None:
        del message


_NO_TRACE = _Trace()
