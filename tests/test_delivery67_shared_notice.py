"""delivery67 (1): the stop's time shared by the interpreters of one process
(:mod:`readme_metrics.delivery.mod_wsgi_shared`), in real sub-interpreters of this
process (``_xxsubinterpreters``, each with its own copy of the library, as mod_wsgi's
application groups have): the second told reads the first's time, the file goes with
the interpreter that wrote it, a stale one (a killed process's, this id again) or
another user's is not taken."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from readme_metrics.delivery import mod_wsgi_shared

interpreters = pytest.importorskip("_xxsubinterpreters")
TREE = str(Path(__file__).resolve().parent.parent)


@pytest.fixture
def path() -> Iterator[str]:
    found = mod_wsgi_shared._path()
    if os.path.exists(found):
        os.unlink(found)
    yield found
    if os.path.exists(found):
        os.unlink(found)


def loaded() -> Any:
    """A new sub-interpreter of this process, the library loaded in it (before the
    stop, as mod_wsgi's are, at their first request)."""
    interp = interpreters.create()
    interpreters.run_string(interp, (
        f"import sys; sys.path.insert(0, {TREE!r})\n"
        "from readme_metrics.delivery import mod_wsgi_shared\n"))
    return interp  # (its ID object: the interpreter lives while it is held)


def told(interp: Any, now: float, out: Path) -> None:
    """``interp`` told of the stop at ``now``: its ``first_notice`` written to ``out``."""
    interpreters.run_string(interp, (
        f"open({str(out)!r}, 'w').write(repr(mod_wsgi_shared.first_notice({now!r})))\n"))


def test_the_second_interpreter_counts_from_the_first_notice(
        path: str, tmp_path: Path) -> None:
    """Failed before (no shared time: each counted from its own notice)."""
    first, second = loaded(), loaded()
    first_at = time.monotonic()
    told(first, first_at, tmp_path / "first")
    told(second, first_at + 2.4, tmp_path / "second")  # (the first's close between)
    assert float((tmp_path / "first").read_text()) == first_at
    assert float((tmp_path / "second").read_text()) == first_at
    assert os.path.exists(path)
    interpreters.destroy(second)
    assert os.path.exists(path)  # (the reader's end leaves it)
    interpreters.destroy(first)
    assert not os.path.exists(path)  # (the writer's removes it)


def test_a_killed_processs_file_is_not_taken(path: str, tmp_path: Path) -> None:
    """A time before the library was loaded: replaced by this stop's."""
    Path(path).write_text(repr(time.monotonic() - 3600))
    interp = loaded()
    now = time.monotonic()
    told(interp, now, tmp_path / "out")
    assert float((tmp_path / "out").read_text()) == now
    assert float(Path(path).read_text()) == now
    interpreters.destroy(interp)
    assert not os.path.exists(path)


def test_another_users_file_is_not_read(path: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a file of another user's")
    Path(path).write_text(repr(time.monotonic() - 0.001))
    os.chown(path, 65534, 65534)
    now = time.monotonic()
    assert mod_wsgi_shared.first_notice(now) == now
    assert os.stat(path).st_uid == 65534  # (left as it was)
