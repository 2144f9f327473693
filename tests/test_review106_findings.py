"""review106's findings: a hostile review of exit17, blackbox6 and delivery31.

1. exit17's close() takes the exception live there for the one that stopped the answer.
   Under a middleware written as a generator outside this one (``for chunk in result:
   yield chunk`` in a ``try``, ``result.close()`` in its ``finally``: a common shape for
   a timing or logging middleware), a server closing the answer early closes that
   generator, and what is live in this middleware's close() is the generator's
   GeneratorExit, not the server's error: a client that reset the connection
   mid-stream (the server's BrokenPipeError, waitress's ClientDisconnected) was logged
   as "the app's answer broke off", and so was a stream a test client closed early.
   Now a GeneratorExit stands for the exception that had the generator closed (its
   context), or for none.
2. delivery31's release() (a middleware collected, in background mode) hands the
   watchdog thread an errand to begin its close. With no watchdog thread yet (no POST
   began in the process: none in flight to end), the errand waited for the first POST
   to start one, holding the collected middleware's delivery (its Batcher, Attempt,
   transport) until then: 2,000 middlewares made and dropped held 2,000 errands and
   39 MB (traced), d1682c7 0.1 MB. Now no errand is left without a watchdog thread.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest

from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.test_exit17_findings import _BIG, _resetting_client


def _generator_middleware(app: Any, seen: list[Optional[BaseException]]) -> Any:
    """``app`` under a middleware written as a generator, closing ``app``'s answer in
    its ``finally`` (``seen``: what is live there)."""
    def middleware(environ: dict[str, Any],
                   start_response: Callable[..., Any]) -> Iterator[bytes]:
        result = app(environ, start_response)
        try:
            for chunk in result:  # noqa: UP028 - not yield from (it closes result first)
                yield chunk
        finally:
            seen.append(sys.exc_info()[1])
            result.close()
    return middleware


def _streaming(environ: dict[str, Any], start_response: Callable[..., Any]
               ) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(400):
        yield _BIG


def _response(collector: Collector) -> dict[str, Any]:
    return only_log(collector)["request"]["log"]["entries"][0]["response"]


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "werkzeug-unthreaded",
                                    "waitress"])
def test_a_client_reset_under_a_generator_middleware_breaks_nothing_off(
        wrap: Callable[..., Any], collector: Collector, server: str) -> None:
    """A real server, a client that reads the first bytes of a 25 MiB stream and resets
    the connection: the server's write fails and it closes the generator outside this
    middleware, whose finally closes this one's answer with GeneratorExit live (its
    context the server's error). The rest reached no one: nothing broke off, as without
    that generator (test_exit17_findings)."""
    from tests.support.wsgi_servers import served

    seen: list[Optional[BaseException]] = []
    app = _generator_middleware(wrap(_streaming), seen)
    with served(server, app) as port:
        _resetting_client(port)
        collector.wait_for_logs(1)  # (inline: posted in close())
    assert len(seen) == 1 and isinstance(seen[0], GeneratorExit), seen  # the case
    response = _response(collector)
    assert response["status"] == 200
    content = response["content"]
    assert 0 < content["size"] < 400 * len(_BIG), content["size"]
    assert "broke off" not in content.get("comment", ""), content.get("comment")


def test_a_stream_a_test_client_closes_early_under_a_generator_middleware_is_not_cut(
        wrap: Callable[..., Any], collector: Collector) -> None:
    """werkzeug's test client, unbuffered: the first chunk read, then the stream closed
    (no exception anywhere but the generator's GeneratorExit). Nothing stopped the
    answer: no "broke off", as without the generator in between."""
    from werkzeug.test import Client

    seen: list[Optional[BaseException]] = []
    client = Client(_generator_middleware(wrap(_streaming), seen))
    response = client.get("/", buffered=False)
    assert next(iter(response.response)) == _BIG
    response.close()
    assert len(seen) == 1 and isinstance(seen[0], GeneratorExit), seen
    content = _response(collector)["content"]
    assert "broke off" not in content.get("comment", ""), content.get("comment")


def test_a_signal_in_the_servers_write_under_a_generator_middleware_still_breaks_off(
        wrap: Callable[..., Any], collector: Collector) -> None:
    """The guard: a KeyboardInterrupt in wsgiref's write of the second chunk, the
    generator outside closed with it as GeneratorExit's context: the answer did break
    off, and the log says so."""
    from tests.test_exit17_findings import _served, _stream, _Wire

    seen: list[Optional[BaseException]] = []
    wire = _Wire(b"second", KeyboardInterrupt())
    _served(_generator_middleware(wrap(_stream()), seen), wire)
    assert len(seen) == 1 and isinstance(seen[0], GeneratorExit), seen
    assert isinstance(seen[0].__context__, KeyboardInterrupt)
    content = _response(collector)["content"]
    assert content["comment"].startswith("incomplete: the app's answer broke off"), content


_DROPPED = """
import gc, weakref
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery import watchdog

def app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]

config = MetricsApiConfig(api_key="k" * 20, grouping_function=lambda request: {"api_key": "x"})
held = []
for _ in range(50):
    middleware = MetricsMiddleware(app, config)
    held.append(weakref.ref(middleware.pipeline.delivery._batcher))
    del middleware
gc.collect()
print(watchdog.state.thread is None, sum(ref() is not None for ref in held))
"""


def test_a_middleware_collected_before_any_post_leaves_nothing_held(tmp_path: Any) -> None:
    """A fresh process (no watchdog thread: no POST began) makes and drops 50 middlewares
    in background mode: each one's delivery is freed with it, none held by an errand
    waiting for a watchdog thread."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("README_")}
    env["PYTHONPATH"] = root
    done = run_command([sys.executable, "-c", _DROPPED], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "0"], (done.stdout, done.stderr)
