"""flaky57: ``sys._current_frames()`` deadlocked a hypercorn worker on CPython 3.11 (a
collection started under the interpreter's thread-state lock, its finalisers letting the
GIL go, a thread being started waiting for that lock with the GIL held). The library's
one look at another thread's stack (gunicorn_stop's reloader check) goes through
``frames.thread_frame``, which makes it with the collector off."""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

import pytest

from readme_metrics.delivery import gunicorn_stop
from readme_metrics.frames import frames, thread_frame


@pytest.fixture
def parked() -> Any:
    """A thread waiting in a function named ``changed`` in a file whose path says
    gunicorn, as gunicorn's reloader callback does before its exit."""
    release = threading.Event()
    namespace: dict[str, Any] = {}
    exec(compile("def changed(release):\n    release.wait(30)\n",
                 "/x/gunicorn/reloader.py", "exec"), namespace)
    thread = threading.Thread(target=namespace["changed"], args=(release,), daemon=True)
    thread.start()
    yield thread
    release.set()
    thread.join(5)


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on at each ``sys._current_frames()`` call."""
    seen: list[bool] = []
    real = sys._current_frames

    def recorded() -> Any:
        seen.append(gc.isenabled())
        return real()
    monkeypatch.setattr(sys, "_current_frames", recorded)
    return seen


def test_thread_frame_finds_another_threads_stack(parked: threading.Thread) -> None:
    names = [frame.f_code.co_name for frame in frames(thread_frame(parked.ident))]
    assert "changed" in names
    assert thread_frame(None) is None


@pytest.mark.parametrize("enabled", [True, False])
def test_the_look_is_made_with_the_collector_off_and_leaves_it_as_it_was(
        parked: threading.Thread, looks: list[bool], enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        thread_frame(parked.ident)
        assert looks == [False]
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_gunicorn_stops_reloader_look_is_made_with_the_collector_off(
        parked: threading.Thread, looks: list[bool]) -> None:
    """Failed before: the look was ``sys._current_frames()`` itself, the collector on."""
    class Worker:
        reloader = parked

    assert gunicorn_stop._reloading(Worker())  # (in its ``changed``: leaving)
    assert looks == [False]
    assert gc.isenabled()
