"""delivery73: a close_all whose bound began before another close that is under way
(a SIGTERM handler's: :mod:`readme_metrics.delivery.hypercorn_stop` counts its bound
from the signal, then waits for the loop's calls) counted itself the earlier one: it
waited for nothing, and its caller's SIGTERM killed the process while that close
delivered, every log it held lost unsaid (``uvicorn --workers 2``: the exit's close in
the main thread began while the handler's thread waited; 0 of 40 delivered in
tests/test_delivery70_uvicorn_restore.py). Closes are now ordered by their call.

Deterministic: a process queues 6 logs; a thread's close_all delivers them 2 a POST
(the stand-in API answers 413 to more, 250 ms a POST); as its first POST is in, the
main thread's close_all runs with ``began`` read before that thread began, then the
process ends at once (``os._exit``, as the handler's SIGTERM does). Before: 3 of 3 runs
failed (3 of 6 delivered). Real parts: the library's WSGI middleware, its sender, the
collector on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from tests.support.fake_api import Collector
from tests.test_delivery72_close_under_way import SCRIPT, second_close_delivered_all

# The same process as delivery72's, the second close's bound read before the first
# close began (the signal's time, as the handler's thread passes it).
EARLY = SCRIPT.replace(
    "threading.Thread(target=process.close_all).start()",
    "signalled = time.monotonic()\n"
    "time.sleep(0.05)\n"
    "threading.Thread(target=process.close_all).start()").replace(
    "process.close_all()  # (the signal handler's", "process.close_all(signalled)  # (the")


def test_a_close_whose_bound_began_earlier_waits_for_the_one_under_way(
        collector: Collector, tmp_path: Path) -> None:
    assert EARLY.count("signalled") == 2, EARLY
    second_close_delivered_all(EARLY, collector, tmp_path)
