"""delivery/c_signals: a signal's handler as the system has it (one reader of
PyOS_getsig for second_interrupt's SIGTERM check and uwsgi_stop's restore)."""

from __future__ import annotations

import signal

import pytest

from readme_metrics.delivery import c_signals, second_interrupt


@pytest.fixture()
def usr2():
    before = signal.getsignal(signal.SIGUSR2)
    yield signal.SIGUSR2
    signal.signal(signal.SIGUSR2, before)


@pytest.mark.parametrize("disposition, expected", [
    (signal.SIG_DFL, 0),
    (signal.SIG_IGN, 1),
])
def test_the_system_dispositions_read_as_the_system_has_them(usr2, disposition, expected):
    signal.signal(usr2, disposition)
    assert c_signals.handler(usr2) == expected
    assert second_interrupt._in_force(usr2, disposition)
    other = signal.SIG_IGN if disposition == signal.SIG_DFL else signal.SIG_DFL
    assert not second_interrupt._in_force(usr2, other)


def test_a_python_handler_is_python_s_one_c_handler(usr2):
    signal.signal(usr2, lambda *_: None)
    found = c_signals.handler(usr2)
    assert found not in (None, 0, 1)
    # Another signal's Python handler (not SIGINT's: a pytest started in the background
    # by a non-interactive shell inherits SIGINT ignored, and Python installs no
    # default_int_handler then: it read 1, suite37's runs)
    before = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        assert found == c_signals.handler(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_a_handler_set_in_c_is_seen_where_getsignal_still_says_default(usr2):
    # What uWSGI does to its workers: a C handler put under Python's feet.
    signal.signal(usr2, signal.SIG_DFL)
    python_s = c_signals.handler(signal.SIGINT)
    assert c_signals.set_handler(usr2, python_s) == 0  # (the one before: SIG_DFL)
    assert signal.getsignal(usr2) == signal.SIG_DFL
    assert c_signals.handler(usr2) == python_s
    assert not second_interrupt._in_force(usr2, signal.SIG_DFL)
    assert c_signals.set_handler(usr2, 0) == python_s
    assert second_interrupt._in_force(usr2, signal.SIG_DFL)
