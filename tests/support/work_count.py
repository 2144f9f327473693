"""A count of the work a build does on a text, for tests that bound its growth with the
input's size without timing anything (a timed bound fails on a loaded machine: CI61's
4.34 s against 4.0).

Python calls alone (:func:`calls`, the count tests/test_hostile11_findings and its
neighbours bound) miss work done inside C: a
loop that hands the rest of a text to one C method per step (``data[start:].decode()``
for each bad byte, a1977b8's ``_decode_run``) makes a Python call count linear in the
text's length while its work is quadratic. Here each call into C on a text (a bound
method of a ``str``, ``bytes`` or ``bytearray``) also counts the length of that text, so
such a loop counts the characters it reads again and again.
"""

from __future__ import annotations

import gc
import sys
from typing import Any, Callable

_TEXTS = (str, bytes, bytearray)


def calls(build: Callable[[], object], events: tuple[str, ...] = ("call",)) -> int:
    """How many Python functions ``build()`` calls (a count of the work, not a time);
    with ``events`` ("call", "c_call"), the functions in C it calls too."""
    return calls_where(build, lambda frame, event, arg: event in events)


def text_calls_per_kib(read: Callable[[str], object], unit: str, kib: int = 256) -> float:
    """Python and C calls a KiB that ``read`` makes on ``kib`` KiB of ``unit`` repeated,
    warmed first on 2 KiB of it (a pattern compiled at its first use): a text reader's
    worst case, bounded at 150 (hostile61)."""
    text = (unit * (kib * 1024 // len(unit) + 1))[:kib * 1024]
    read(text[:2048])
    return calls(lambda: read(text), ("call", "c_call")) / kib


def calls_where(build: Callable[[], object],
                counted: Callable[[Any, str, Any], bool]) -> int:
    """How many of the profile events of ``build()`` in this thread ``counted(frame,
    event, arg)`` takes (a function's calls: its code is ``frame.f_code``; a C
    function's: ``arg`` is it, on "c_call")."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if counted(frame, event, arg):
            count += 1

    _profiled(build, profile)
    return count


def text_work(build: Callable[[], object]) -> int:
    """Python calls, C calls, and the length of each text a C method was called on,
    made by ``build()`` in this thread."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event == "call":
            count += 1
        elif event == "c_call":
            receiver = getattr(arg, "__self__", None)
            count += 1 + (len(receiver) if isinstance(receiver, _TEXTS) else 0)

    _profiled(build, profile)
    return count


def _profiled(build: Callable[[], object],
              profile: Callable[[object, str, object], None]) -> None:
    """``build()`` with ``profile`` as this thread's profile function, the cyclic GC
    held off meanwhile (collected first): a finalizer of an earlier test's garbage run
    inside the build counted its calls and texts as the build's (test_cpu36's 64 KB bound
    failed so once in a landing run at -n 3, passing alone)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    sys.setprofile(profile)
    try:
        build()
    finally:
        sys.setprofile(None)
        if enabled:
            gc.enable()
