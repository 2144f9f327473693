"""readme_metrics.threads: the one place the library starts a thread, and says None where
none can start (Python 3.12+ at interpreter exit, a thread limit) instead of raising."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from readme_metrics.threads import start_thread
from tests.support.threads import AT_EXIT, no_thread_starts

PACKAGE = Path(__file__).resolve().parent.parent / "readme_metrics"


def test_a_thread_starts_as_a_daemon_with_its_name_and_arguments() -> None:
    ran = threading.Event()
    seen: list[object] = []

    def target(first: int, second: str) -> None:
        seen.extend((first, second, threading.current_thread().name))
        ran.set()

    thread = start_thread(target, "readme-metrics-test", args=(1, "two"))
    assert thread is not None and thread.daemon and thread.name == "readme-metrics-test"
    thread.join(30)
    assert ran.is_set() and seen == [1, "two", "readme-metrics-test"]
    other = start_thread(lambda: None, "readme-metrics-test", daemon=False)
    assert other is not None and not other.daemon
    other.join(30)


def test_where_no_thread_starts_it_is_none_and_why_is_told(
        monkeypatch: pytest.MonkeyPatch) -> None:
    refused = no_thread_starts(monkeypatch, message=AT_EXIT)
    why: list[Exception] = []
    assert start_thread(lambda: None, "readme-metrics-test", failed=why.append) is None
    assert start_thread(lambda: None, "readme-metrics-test") is None  # (no one told)
    assert refused == ["readme-metrics-test"] * 2
    assert [f"{type(exc).__name__}: {exc}" for exc in why] == [f"RuntimeError: {AT_EXIT}"]


def test_only_the_threads_named_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = no_thread_starts(monkeypatch, "readme-metrics-refused")
    assert start_thread(lambda: None, "readme-metrics-refused") is None
    started = start_thread(lambda: None, "readme-metrics-other")
    assert started is not None
    started.join(30)
    assert refused == ["readme-metrics-refused"]


def _thread_calls(path: Path) -> list[int]:
    """Lines of ``path`` that make a ``threading.Thread`` (or a bare ``Thread``)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "Thread")
                or (isinstance(node.func, ast.Name) and node.func.id == "Thread")):
            lines.append(node.lineno)
    return lines


def test_every_thread_of_the_library_starts_through_start_thread() -> None:
    """Eight modules started their threads on their own, each catching RuntimeError (or
    not: uwsgi_stop's caught all); a test simulating the exit in one of them left the
    others running (test_delivery26 in CI41). The command's (cli/) threads are not the
    library's: a thread failing there fails the command, as it should."""
    found = {f"{path.relative_to(PACKAGE)}:{line}"
             for path in sorted(PACKAGE.rglob("*.py"))
             if path.name != "threads.py" and "cli" not in path.relative_to(PACKAGE).parts
             for line in _thread_calls(path)}
    assert found == set()
