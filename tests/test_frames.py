"""readme_metrics.frames: the one walk up a thread's stack that the library's checks
share (what each looks for stays with it), keeping no frame alive once done."""

from __future__ import annotations

import ast
import gc
import sys
import weakref
from pathlib import Path
from types import FrameType
from typing import Iterator, Optional

from readme_metrics.frames import frames

PACKAGE = Path(__file__).resolve().parent.parent / "readme_metrics"


class _Local:
    """An app's local: alive as long as its frame is."""


def test_the_walk_is_the_frame_then_its_callers_to_the_outermost() -> None:
    here = sys._getframe()
    walked = list(frames(here))
    expected: list[FrameType] = []
    frame: Optional[FrameType] = here
    while frame is not None:
        expected.append(frame)
        frame = frame.f_back
    assert walked == expected and walked[0] is here
    assert list(frames(None)) == []
    del here, walked, expected, frame


def _looks_for(code: object) -> bool:
    return any(frame.f_code is code for frame in frames(sys._getframe(1)))


def _app() -> weakref.ref[_Local]:
    local = _Local()
    assert _looks_for(_app.__code__)  # found: the walk ends early, in its for
    assert not _looks_for(test_frames_module_code)  # walked to the end
    return weakref.ref(local)


test_frames_module_code = compile("pass", "<nothing on the stack>", "exec")


def test_a_walk_keeps_no_frame_and_so_no_local_of_the_app_alive() -> None:
    """With the collector off: no reference cycle keeps the app's frame (and its locals)
    alive past its return, whether the walk ended early or ran out."""
    was = gc.isenabled()
    gc.disable()
    try:
        assert _app()() is None
    finally:
        if was:
            gc.enable()


def test_a_walk_dropped_half_way_lets_go_of_its_frame() -> None:
    walks: list[Iterator[FrameType]] = []

    def app(walks: list[Iterator[FrameType]]) -> weakref.ref[_Local]:
        local = _Local()
        walks.append(frames(sys._getframe()))
        del walks  # (else app's frame holds the walk that holds it: a cycle of the test's)
        return weakref.ref(local)

    was = gc.isenabled()
    gc.disable()
    try:
        ref = app(walks)
        assert next(walks[0]).f_code.co_name == "app" and ref() is not None  # held
        walks.clear()
        assert ref() is None
    finally:
        if was:
            gc.enable()


def test_every_stack_walk_of_the_library_goes_through_frames() -> None:
    """Seven loops walked ``f_back`` on their own (gunicorn_signal, gunicorn_stop,
    unwrapped twice, middleware_arguments, _logging, capture/wsgi_loop)."""
    found = sorted(f"{path.relative_to(PACKAGE)}:{node.lineno}"
                   for path in PACKAGE.rglob("*.py") if path.name != "frames.py"
                   for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Attribute) and node.attr == "f_back")
    assert found == []
