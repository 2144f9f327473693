"""delivery49: a signal handler's raise at the end of a response, beyond WSGI background
mode (delivery46's sweep, tests/test_delivery46_findings.py, on the paths it left).

Inline mode (``background_worker_mode=False``) sends in the request thread after the
app's last byte. Under wsgiref the app runs in the main thread, so a SIGTERM handler's
``sys.exit`` (or Ctrl-C) lands in that send: before, a raise right after the inline
lock's acquire left the lock held for good (every later send and flush turned away, the
logs queued until lost at the exit), and one in the batch's encode or POST left the
batch in flight, never settled (in its encode, its logs freed: lost unsaid).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.test_delivery46_findings import serve, sweep


@pytest.mark.e2e
def test_a_sigterm_handlers_raise_at_every_landing_point_of_an_inline_send_under_wsgiref(
        tmp_path: Path, collector: Collector) -> None:
    proc, port, log = serve(tmp_path, collector, "wsgiref", LANDING_INLINE="1")
    try:
        flushes: list[bool] = []
        places = sweep(port, flushes)
        calls = len(places) + 1
        flushed, stats = ast.literal_eval(
            requests.get(f"http://127.0.0.1:{port}/flush", timeout=60).text)
    finally:
        proc.kill()  # (all was flushed; a SIGTERM may land in a write: wsgiref serves on)
        proc.wait(30)
    output = log.read_text()
    # Every call's log, whichever point the raise landed at: sent by the flush after it
    # (before: from the raise at the lock's acquire on, each flush found it held, False)
    failed = [place for place, flushed in zip(places, flushes) if not flushed]
    assert not failed, (f"{len(failed)} of {len(flushes)} flushes False", failed[:3], stats)
    # The sweep went through the inline send (its lock, the batch's encode and POST)
    assert any("delivery/inline.py" in place for place in places), places
    assert any("delivery/attempt.py" in place for place in places), places
    assert flushed, (stats, places)
    assert stats["captured"] == calls, (stats, places)
    assert stats["queued"] == 0 and stats["dropped"] == 0, (stats, places)
    assert stats["sent"] >= calls, (stats, places)  # (a POST cut may go twice)
    logs = collector.wait_for_logs(calls, timeout=10)
    assert len(logs) >= calls
    assert output.count("SystemExit: 0") >= len(places) - sum(
        ":__del__:" in place for place in places), output[-3000:]
