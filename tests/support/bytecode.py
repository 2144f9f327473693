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
from pathlib import Path

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
