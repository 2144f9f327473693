"""E2E_BODY_GRACE (tests/support/e2e_apps.py) lengthens the wait the served adapter gives
a body in flight, where that adapter's code reads it.

Each module binds its own ``GRACE`` (``from readme_metrics.capture.body import GRACE``):
one set on a module whose code no longer reads it lengthens nothing. So it was for
Django from 04966f9 (its exchange moved to django_exchange.py): the servers' Django
waited 50 ms, not 60 s, and a client that sent the rest of its body later than that,
under load, had it missing from the log (flake26: bodySize 3 of 6 in
test_slow_client.py::test_answer_ends_before_the_wait_for_a_body_in_flight).
"""

from __future__ import annotations

import importlib
import sys
from types import CodeType, ModuleType
from typing import Iterator

import pytest

from tests.support import e2e_apps


def _codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _codes(constant)


def _reads_grace(module: ModuleType) -> bool:
    """True when code in ``module`` (a function or method, at any depth) reads the
    global GRACE at run time."""
    source = module.__spec__.origin if module.__spec__ else None
    assert source is not None
    with open(source, encoding="utf-8") as handle:
        top = compile(handle.read(), source, "exec")
    return any("GRACE" in code.co_names for code in _codes(top) if code is not top)


@pytest.mark.parametrize("app", sorted(e2e_apps.GRACE_READERS))
def test_body_grace_is_set_where_the_wait_is_read(
        app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(e2e_apps.GRACE_READERS[app])
    assert _reads_grace(module), f"{module.__name__}'s code reads no GRACE"
    monkeypatch.setattr(module, "GRACE", module.GRACE)  # restored after the test
    monkeypatch.setenv("E2E_BODY_GRACE", "60")
    e2e_apps._body_grace(app)
    assert module.GRACE == 60.0


def test_a_module_without_grace_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module named that has no GRACE (its code moved away) is said, not patched."""
    monkeypatch.setitem(sys.modules, "grace_moved", ModuleType("grace_moved"))
    monkeypatch.setitem(e2e_apps.GRACE_READERS, "moved", "grace_moved")
    monkeypatch.setenv("E2E_BODY_GRACE", "60")
    with pytest.raises(AttributeError, match="grace_moved reads no GRACE"):
        e2e_apps._body_grace("moved")
