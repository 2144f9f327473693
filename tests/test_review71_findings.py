"""review71: exit15's requests at exit, adversarially (deterministic interleavings).

1. A request whose app call returned just before the exit looked (between the in-call
   set's discard and its Response's registration as in flight) was in neither of the
   exit's snapshots: not logged, not counted (stats captured 1, sent 0, dropped 0), though
   the server never sent its answer. Now the Response is registered before the request
   leaves the in-call set, and the exit looks at the in-call set first: it is found.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.test_e2e_servers import server_env

# The app's thread stops right after the middleware discards the request from unclosed's
# in-call set (its hook ``returned``, as the WSGI middleware imported it) and waits there
# for good, as a thread the machine does not schedule again before the exit; the main
# thread then exits (atexit: unclosed's exit hook, then delivery's flush).
_GAP = """\
import atexit, logging, sys, threading

def _report():  # registered before the library's exit hook, so it runs after it
    print("stats", dict(app.stats), file=sys.stderr, flush=True)

atexit.register(_report)

from readme_metrics import MetricsApiConfig, MetricsMiddleware
import readme_metrics.capture.wsgi as wsgi_capture

logging.basicConfig(format="%(message)s")
logging.getLogger("readme_metrics").setLevel(logging.INFO)
HOOK = sys.argv[1]
gap = threading.Event()
original = getattr(wsgi_capture, HOOK)

def hooked(capture):
    original(capture)
    gap.set()
    threading.Event().wait()  # descheduled here until the process ends

setattr(wsgi_capture, HOOK, hooked)

def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"answer"])  # an iterable the server has not read yet

app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}, shutdown_timeout=5))
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/gap", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "HTTP_HOST": "127.0.0.1"}
threading.Thread(target=app, args=(environ, lambda status, headers, exc_info=None: None),
                 daemon=True).start()
assert gap.wait(60)
sys.exit(0)
"""


def _run(tmp_path: Path, collector: Collector, script: str, *args: str
         ) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "review71_child.py"
    path.write_text(script)
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="100", README_FLUSH_INTERVAL="600")
    result = run_command([sys.executable, str(path), *args], timeout=120, env=env,
                         capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def _stats(err: str) -> dict[str, int]:
    found = re.findall(r"^stats (\{.*\})$", err, re.M)
    assert len(found) == 1, err
    stats: dict[str, int] = ast.literal_eval(found[0])
    return stats


def test_an_exit_right_after_the_app_call_returned_finds_the_request(
        tmp_path: Path, collector: Collector) -> None:
    """The exit comes just as the request leaves unclosed's in-call set, its answer not
    sent yet. Before: in neither set the exit looked at (the in-flight one first, then
    the in-call one; the Response registered only after the discard): captured 1, sent 0,
    dropped 0, nothing said. Now: logged as far as it went (nothing of the body), marked
    incomplete, and said."""
    err = _run(tmp_path, collector, _GAP, "returned").stderr
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (1, 1, 0), stats
    logs = collector.wait_for_logs(1)
    entry: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["url"].endswith("/gap"), entry
    assert entry["response"]["status"] == 200, entry
    assert entry["response"]["content"]["size"] == 0, entry
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 logged as far as it went, marked incomplete") in err, err

