"""This test's process taken for a mod_wsgi daemon process, where Apache and mod_wsgi are
not installed: mod_wsgi's module as a daemon process has it (``process_group`` named,
``subscribe_shutdown``), the library's watch of its stop subscribed
(tests/test_blackbox15_mod_wsgi_bound.py, tests/test_delivery44_mod_wsgi_sigusr1.py).
A module takes the ``daemon`` fixture by importing ``daemon_fixture``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.delivery import mod_wsgi_shared, mod_wsgi_stop


@pytest.fixture(name="daemon")
def daemon_fixture(monkeypatch: pytest.MonkeyPatch,
                   tmp_path: Path) -> list[Callable[..., Any]]:
    """This process as a mod_wsgi daemon process: the callbacks subscribed (its stop's
    shared time in a file of this test's: mod_wsgi_shared)."""
    subscribed: list[Callable[..., Any]] = []
    module = types.ModuleType("mod_wsgi")
    module.process_group = "127.0.0.1:8000"  # type: ignore[attr-defined]
    module.subscribe_shutdown = subscribed.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mod_wsgi", module)
    monkeypatch.setattr(mod_wsgi_stop, "_stopped", None)
    monkeypatch.setattr(mod_wsgi_stop, "_watching", False)
    monkeypatch.setattr(mod_wsgi_shared, "_path", lambda: str(tmp_path / "stop"))
    mod_wsgi_stop.watch()
    return subscribed
