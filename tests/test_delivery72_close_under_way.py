"""delivery72 (a): a close_all that finds another one under way (the exit's, in the main
thread) starts nothing; it returned at once, and its caller ended the process (the
SIGTERM handler's thread of :mod:`readme_metrics.delivery.hypercorn_stop`, by SIGTERM;
under ``uvicorn --workers 2``) while that close was still delivering: logs lost unsaid.
Now it returns once the earlier close has ended (within that one's bound).

Deterministic: a process queues 6 logs; a thread's close_all delivers them 2 a POST
(the stand-in API answers 413 to more, 250 ms a POST); as its first POST is in, the
main thread's close_all runs, then the process ends at once (``os._exit``, as the
handler's SIGTERM does). Before: 2 or 3 of 6 delivered (3 of 3 runs failed). Real
parts: the library's WSGI middleware, its sender, the collector on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from tests.support.close_child import QUEUED, run_child, two_a_post
from tests.support.fake_api import Collector

CALLS = 6

SCRIPT = QUEUED + """
threading.Thread(target=process.close_all).start()  # (the exit's close)
marker = os.environ["MARKER"]
for _ in range(3000):  # (its first POST is in)
    if os.path.exists(marker):
        break
    time.sleep(0.01)
process.close_all()  # (the signal handler's: starts nothing)
print("second close ended", flush=True)
os._exit(0)  # (the handler's SIGTERM)
"""


def test_a_close_that_finds_one_under_way_returns_once_it_ended(
        collector: Collector, tmp_path: Path) -> None:
    second_close_delivered_all(SCRIPT, collector, tmp_path)


def second_close_delivered_all(script: str, collector: Collector, tmp_path: Path) -> None:
    """``script`` (:data:`SCRIPT`'s, or one like it) run, the API taking 2 logs a POST:
    its second close ended, and every log was delivered once before its ``os._exit``."""
    marker = tmp_path / "first-post"
    collector.judge = two_a_post(marker)
    done = run_child(script, collector, CALLS, "under-way-key", MARKER=str(marker))
    assert "second close ended" in done.stdout, done.stdout + done.stderr
    urls = collector.urls
    assert len(urls) == len(set(urls)) == CALLS, (urls, done.stderr[-2000:])
