"""review142: what an adversarial read of land53 (6f454a55..75e0a95f: delivery62/64,
flaky42, cpu35, hostile52, review140, blackbox19, review141) found wrong, each through
the library's real parts (a loopback collector, the real close path).

1. flaky42 has a mod_wsgi sub-interpreter's close tell the watchdog thread to end
   (``watchdog_thread.end``), so that its wait for the library's threads ends before
   mod_wsgi deletes their states. But a call the server answered after that close (a
   request still in flight past the close's share of the bound) is refused "late", and
   the second such refusal within a second schedules its line on the watchdog
   (``LateRefused`` -> ``watchdog.run_at``): that started a new watchdog thread, its
   ``ending`` cleared, idle for ever: the close's wait ran to its bound and a second
   past it again (past Apache's 3 s kill: the process's next interpreter never told,
   flaky42's loss), or, once that wait had ended, a thread was left running in an
   interpreter mod_wsgi then tears down (blackbox16's segfault). Now a timer starts no
   thread once the watchdog was told to end, and a thread a POST starts then ends as
   the one told did; the late line is said by the exit hook's close (``say_rest``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector

# The close mod_wsgi's shutdown notice runs in a sub-interpreter
# (mod_wsgi_stop._close_before_teardown: the requests in flight, close_all, the watchdog
# told to end, the library's threads waited for), then three calls the server answers
# after it: refused late, the second and third within the first's second.
_LATE_AFTER_CLOSE = textwrap.dedent("""
    import sys, threading, time
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.delivery import mod_wsgi_stop, watchdog_thread
    from tests.support.wsgi import run_wsgi, wsgi_environ

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="any-key", metrics_api=sys.argv[1], buffer_length=1,
        grouping_function=lambda req: {"api_key": "k", "label": "l", "email": "e"}))
    run_wsgi(middleware, wsgi_environ(path="/before"))
    mod_wsgi_stop._close_before_teardown()
    print("after close", len(mod_wsgi_stop._library_threads()), flush=True)
    for n in range(3):
        run_wsgi(middleware, wsgi_environ(path=f"/late/{n}"))
    # The close's own wait, as it would have run had these come during it.
    deadline = time.monotonic() + 10.0
    while mod_wsgi_stop._library_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("left", [t.name for t in mod_wsgi_stop._library_threads()], flush=True)
""")


def test_late_refusals_after_a_sub_interpreters_close_start_no_watchdog(
        collector: Collector) -> None:
    """Failed before: ``left ['readme-metrics-watchdog']`` (the thread a late refusal's
    line started, never ending). The three late logs are all said not delivered, by the
    first refusal's line and the exit hook's (none lost unsaid)."""
    run = subprocess.run([sys.executable, "-c", _LATE_AFTER_CLOSE, collector.url],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "after close 0" in run.stdout, run.stdout + run.stderr
    assert "left []" in run.stdout, run.stdout + run.stderr
    assert len(collector.logs) == 1  # (/before, sent by the close)
    said = re.findall(r"readme_metrics: (\d+) logs? not delivered: of calls the server "
                      r"answered after the close had ended", run.stderr)
    assert sum(map(int, said)) == 3, run.stderr
