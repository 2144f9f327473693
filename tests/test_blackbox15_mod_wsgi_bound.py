"""blackbox15: the close's bound in a mod_wsgi daemon process, where Apache and mod_wsgi
are not installed (tests/test_blackbox15_mod_wsgi.py has the real server): mod_wsgi's
module as a daemon process has it (``process_group`` named, ``subscribe_shutdown``)."""

from __future__ import annotations

import sys
import types
from typing import Any, Callable

import pytest

from readme_metrics.delivery import gunicorn_stop, mod_wsgi_stop
from tests.support.mod_wsgi_daemon import daemon_fixture  # noqa: F401 (``daemon``)


def test_apache_stop_bounds_the_close_before_its_kill(
        daemon: list[Callable[..., Any]]) -> None:
    assert gunicorn_stop.close_bound(5.0) == (5.0, None)  # no stop told yet
    [told] = daemon
    told({"shutdown_reason": "shutdown_signal"})
    bound, limit = gunicorn_stop.close_bound(5.0)
    assert limit is not None and float(limit) == 3.0 and not limit.said_ahead
    assert 2.0 < bound <= 2.4
    assert "Apache's stop or restart, 3s after its signal" in limit.said()
    assert gunicorn_stop.close_bound(2.0) == (2.0, None)  # within it: whole


def test_a_daemon_ending_by_itself_has_mod_wsgis_shutdown_timeout(
        daemon: list[Callable[..., Any]]) -> None:
    daemon[0]({"shutdown_reason": "maximum_requests"})
    bound, limit = gunicorn_stop.close_bound(10.0)
    assert limit is not None and float(limit) == 5.0
    assert 3.5 < bound <= 4.0
    assert "(maximum requests)" in limit.said() and "--shutdown-timeout" in limit.advice()


def test_embedded_mode_and_elsewhere_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("mod_wsgi")
    module.process_group = ""  # type: ignore[attr-defined]  # embedded mode
    monkeypatch.setitem(sys.modules, "mod_wsgi", module)
    monkeypatch.setattr(mod_wsgi_stop, "_stopped", None)
    monkeypatch.setattr(mod_wsgi_stop, "_watching", False)
    mod_wsgi_stop.watch()
    assert not mod_wsgi_stop._watching and mod_wsgi_stop.limit() is None


def test_a_callback_of_another_shape_never_raises(
        daemon: list[Callable[..., Any]]) -> None:
    daemon[0](object())
    daemon[0](shutdown_reason="graceful_signal")
    assert mod_wsgi_stop.limit() is not None
