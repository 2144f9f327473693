"""The library's threads failing to start (Python 3.12+ at interpreter exit, a thread
limit), simulated where every one of them starts: :mod:`readme_metrics.threads`."""

from __future__ import annotations

import threading
import types

import pytest

from readme_metrics import threads

#: What CPython says at a thread limit, and (3.12+) once the interpreter's exit began.
THREAD_LIMIT = "can't start new thread"
AT_EXIT = "can't create new thread at interpreter shutdown"


def no_thread_starts(monkeypatch: pytest.MonkeyPatch, *names: str,
                     message: str = THREAD_LIMIT) -> list[str]:
    """From now on (until ``monkeypatch`` undoes it) the library's threads named one of
    ``names`` (every one of them, given none) fail to start, raising RuntimeError with
    ``message``; other threads (a test collector's, the app's) start as ever. Returns the
    names of the threads refused, as they are."""
    refused: list[str] = []

    class NoStart(threading.Thread):
        def start(self) -> None:
            if not names or self.name in names:
                refused.append(self.name)
                raise RuntimeError(message)
            super().start()

    monkeypatch.setattr(threads, "threading", types.SimpleNamespace(
        **{**vars(threading), "Thread": NoStart}))
    return refused
