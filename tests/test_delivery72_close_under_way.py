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

import json
import os
import sys
import textwrap
from pathlib import Path

from tests.support.fake_api import Collector, Received, Reply
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parents[1]
CALLS = 6

SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.delivery import process

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    wrapped = MetricsMiddleware(app, MetricsApiConfig(
        api_key="under-way-key", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=20, grouping_function=lambda req: {"api_key": "caller-1"}))
    for i in range(int(os.environ["CALLS"])):
        environ = {}
        setup_testing_defaults(environ)
        environ["PATH_INFO"] = f"/item/{i}"
        b"".join(wrapped(environ, lambda *args: None))
    threading.Thread(target=process.close_all).start()  # (the exit's close)
    marker = os.environ["MARKER"]
    for _ in range(3000):  # (its first POST is in)
        if os.path.exists(marker):
            break
        time.sleep(0.01)
    process.close_all()  # (the signal handler's: starts nothing)
    print("second close ended", flush=True)
    os._exit(0)  # (the handler's SIGTERM)
""")


def test_a_close_that_finds_one_under_way_returns_once_it_ended(
        collector: Collector, tmp_path: Path) -> None:
    marker = tmp_path / "first-post"

    def two_a_post(received: Received) -> Reply:
        if len(json.loads(received.body)) > 2:
            return Reply(status=413)
        marker.touch()
        return Reply(delay=0.25)

    collector.judge = two_a_post
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "MARKER": str(marker), "CALLS": str(CALLS),
           "PYTHONPATH": str(ROOT)}
    done = run_command([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                       text=True, timeout=120)
    assert "second close ended" in done.stdout, done.stdout + done.stderr
    urls = [log["request"]["log"]["entries"][0]["request"]["url"] for log in collector.logs]
    assert len(urls) == len(set(urls)) == CALLS, (urls, done.stderr[-2000:])
