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

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery46_findings import kill, serve, sigterm, swept


@pytest.mark.e2e
def test_a_sigterm_handlers_raise_at_every_landing_point_of_an_inline_send_under_wsgiref(
        tmp_path: Path, collector: Collector) -> None:
    proc, port, log = serve(tmp_path, collector, "wsgiref", LANDING_INLINE="1")
    flushes: list[bool] = []
    places, flushed, stats = swept(proc, port, kill, flushes)
    calls = len(places) + 1
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


# -- ASGI: the end of a response in the event loop's thread -------------------------------
#
# uvicorn's own SIGINT/SIGTERM handlers only set a flag; a handler that raises (an app's
# ``signal.signal(SIGUSR1, lambda *_: sys.exit(0))``) raises in the loop, wherever it
# runs: in the middleware's hand-off of the log too (capture/asgi_end.py::_queue).
# uvicorn takes the SystemExit for the app's error ("Exception in ASGI application") and
# serves on, as wsgiref does: one server is swept, a request per landing point.

_ASGI_SERVER = '''
import os
import signal
import sys
import threading

import uvicorn

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware

MAIN = threading.main_thread().ident
LIB = os.path.dirname(__import__("readme_metrics").__file__) + os.sep
state = {"target": -1, "count": 0, "written": False, "raised": None}


def landing(frame, event, arg):
    code = frame.f_code
    if "uvicorn" in code.co_filename and code.co_name == "send" and event == "return":
        state["written"] = True  # the server wrote the app's last byte
    if (event in ("call", "c_return") and state["written"]
            and code.co_filename.startswith(LIB)):
        if state["count"] == state["target"]:
            sys.setprofile(None)
            state["raised"] = "%s:%s:%s" % (code.co_filename[len(LIB):], code.co_name, event)
            signal.pthread_kill(MAIN, signal.SIGUSR1)  # its handler raises here
        state["count"] += 1


signal.signal(signal.SIGUSR1, lambda *_: sys.exit(0))


async def text(send, body):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def pets(scope, receive, send):
    if scope["type"] != "http":
        return
    sys.setprofile(None)  # (the request before is over)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    state.update(target=int(scope["query_string"] or b"-1"), count=0, written=False,
                 raised=None)
    sys.setprofile(landing)  # counted from the server's write of the last byte on
    await send({"type": "http.response.body", "body": b'{"pets": []}'})


wrapped = MetricsMiddleware(pets, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "owlbert-key"}))


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/report":
        sys.setprofile(None)
        return await text(send, repr((state["raised"], state["count"])).encode())
    if scope["type"] == "http" and scope["path"] == "/flush":
        delivery = wrapped.pipeline.delivery
        return await text(send, repr((delivery.flush(10), dict(delivery.stats))).encode())
    return await wrapped(scope, receive, send)


uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
'''


def serve_asgi(tmp_path: Path, collector: Collector,
               source: str = _ASGI_SERVER) -> tuple[Any, int]:
    """The uvicorn server ``source`` (that of :data:`_ASGI_SERVER` by default) started,
    posting to ``collector``: the process and its port."""
    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _start_app

    script = tmp_path / "asgi_landing.py"
    script.write_text(source)
    port = free_port()
    env = app_environment(collector.url, tmp_path, PORT=str(port))
    return _start_app([sys.executable, str(script)], tmp_path, env, port,
                      tmp_path / "uvicorn-output.txt"), port


@pytest.mark.e2e
def test_a_raising_signal_handler_at_every_landing_point_of_the_asgi_end_under_uvicorn(
        tmp_path: Path, collector: Collector) -> None:
    proc, port = serve_asgi(tmp_path, collector)
    places, flushed, stats = swept(proc, port, sigterm)
    calls = len(places) + 1
    assert 10 < len(places) < 399, places
    assert any("capture/asgi_end.py" in place for place in places), places
    # Every call's log, once, whichever point the raise landed at
    lost = calls - stats["sent"]
    assert flushed and lost == 0, (f"{lost} of {calls} logs lost", stats, places)
    assert stats["captured"] == calls and stats["queued"] == 0, stats
