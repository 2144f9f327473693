"""review77: an adversarial read of the session's landings (6ba413d..26c6bbb).

(a) asgi_watch's ``_Hold`` keeps the server's reading paused after a wait. Over uvloop's
TLS the pause is the transport's read buffer limits made 0 (``_LimitsPause``), and each
wait asks ``socket_reader`` anew: a second wait on the same connection while the first's
hold was on (the capture drains at the response's start, at its last body and at its
end) saved those 0s as "the limits" and put them back at its end, after the first hold
had put the real ones back. Data that woke both holds at once left the socket unread
for good: the server never read that connection again.

(b) delivery/attempt's ``_later``: an answer in 3.0004 s read "in 3.000s, later than
timeout (README_TIMEOUT) of 3s".

(c) _dotted._the_running_script: a script in a package run by its file (``python
src/pkg/app.py``, ``src`` on the path) naming ``pkg.app:grouping_function`` was imported
again as ``pkg.app`` (its top-level code twice, the function from the copy), as
``python app.py`` naming ``app:...`` was before 135f0ea.

(d) docs_url: a base (base_log_url, or the looked-up baseUrl that 00a3787 checks as
base_log_url is checked) holding a character Latin-1 has not, as an internationalized
host is written ("https://docs.例え.jp"), went into x-documentation-url as is: every
logged WSGI response broke (wsgiref sent its status line only, waitress answered 500
instead of the app's 200; the ASGI capture left the header out). Now the base is written
as a browser sends it (IDNA host, the rest percent-encoded).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.asgi_watch import watched_within
from readme_metrics.delivery.post_bound import _later
from tests.support.command import REPO_ROOT
from tests.support.contract import inline_options
from tests.support.fake_api import Collector, Reply
from tests.support.processes import run_command
from tests.support.raw_requests import answer_to
from tests.support.tls import make_certificates
from tests.support.wsgi_servers import served
from tests.test_asgi11_findings import LOOPS, connected
from tests.test_newcomer14_findings import _APP
from tests.test_spec29_acceptance import plain_app


@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("tls", [True, False], ids=["tls", "tcp"])
def test_a_second_wait_during_a_hold_leaves_the_connection_read(
        tmp_path: Path, new_loop: Callable[[], asyncio.AbstractEventLoop],
        tls: bool) -> None:
    """A real server on 127.0.0.1 (the loop's own): a wait with no message (a 0.2 s
    hold follows), a second one with no time left during that hold, then the client
    sends 10 bytes (both holds woken) and 10 more. The server reads all 20. Before:
    uvloop over TLS read the first 10 only, its reading paused for good (the 0 limits
    put back last)."""
    certificates = make_certificates(tmp_path)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        received = bytearray()
        async with connected(certificates, tls, received) as (transport, writer):

            def read_ahead() -> asyncio.Future[Any]:
                return loop.create_future()  # no message comes

            assert await watched_within(read_ahead, 0.2, transport, lambda: False,
                                        time.perf_counter()) == (None, False)
            # the first hold (0.2 s) is on: a second wait, its time used up
            assert await watched_within(read_ahead, 0.0, transport, lambda: False,
                                        time.perf_counter()) == (None, False)
            writer.write(b"x" * 10)
            await writer.drain()
            await asyncio.sleep(0.5)  # both holds over, whatever woke them
            writer.write(b"y" * 10)
            await writer.drain()
            for _ in range(1000):  # 10 s at most
                if len(received) >= 20:
                    break
                await asyncio.sleep(0.01)
            return len(received)

    loop = new_loop()
    try:
        assert loop.run_until_complete(main()) == 20
    finally:
        loop.close()


@pytest.mark.parametrize(("took", "timeout"), [
    (3.04, 3), (3.0004, 3), (3.0000001, 3), (2.5001, 2.5), (0.10000004, 0.1), (7.2, 3)])
def test_the_slow_answer_time_always_reads_later_than_timeout(took: float,
                                                              timeout: float) -> None:
    # before: 3.0004 -> '3.000' (and 2.5001 -> '2.500'), "later than timeout ... of 3s"
    shown = _later(took, timeout)
    assert float(shown) > timeout, shown
    assert float(shown) - took < 0.001, shown  # no more than a thousandth added


def test_a_packaged_script_run_by_its_file_naming_itself_runs_its_code_once(
        tmp_path: Path) -> None:
    # before: ['top level of __main__', 'top level of pkg.app', 'grouping function is
    # the script own: False'] (the copy's top level, under the module's name)
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(
        "print('top level of', __name__)\n" + _APP
        + "print('grouping function is the script own:',"
          " app.config.grouping_function is grouping_function)\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO_ROOT}:{tmp_path / 'src'}",
           "README_API_KEY": "any-key",
           "README_GROUPING_FUNCTION": "pkg.app:grouping_function"}
    done = run_command([sys.executable, "src/pkg/app.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "top level of __main__", "grouping function is the script own: True"]


@pytest.mark.parametrize("server", ["wsgiref", "waitress"])
@pytest.mark.parametrize("given", ["base_log_url", "looked_up"])
def test_a_base_with_no_latin1_form_is_written_as_a_browser_sends_it(
        collector: Collector, server: str, given: str) -> None:
    base = "https://docs.例え.jp/ä"
    if given == "looked_up":
        body = json.dumps({"baseUrl": base}).encode()
        collector.get_v1 = lambda received: Reply(
            status=200, body=body, headers={"Content-Type": "application/json"})
    config = MetricsApiConfig(api_key=f"rdme_review77_{given}_{server}_key_0001",
                              metrics_api=collector.url, readme_api_url=collector.url,
                              **inline_options({"base_log_url": None if given ==
                                                "looked_up" else base}))
    middleware = MetricsMiddleware(plain_app, config)
    request = b"GET /p HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n"
    try:
        with served(server, middleware) as port:
            deadline = time.monotonic() + 10
            while True:  # (the lookup's answer taken, the next response carries it)
                answer = answer_to(port, request)
                if b"x-documentation-url" in answer.lower() or time.monotonic() > deadline:
                    break
                assert answer.endswith(b"\r\n\r\nok"), answer
                time.sleep(0.02)
    finally:
        middleware.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 200 OK"), answer
    assert answer.endswith(b"\r\n\r\nok"), answer
    assert b"\r\nx-documentation-url: https://docs.xn--r8jz45g.jp/%c3%a4/logs/" in (
        answer.lower()), answer
