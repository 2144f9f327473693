"""newcomer24: the collector down, one clear message, not three.

README's quick start run with README_METRICS_SERVER and README_API_URL at a port where
nothing listens (`readme-metrics collect` not started): five calls and a stop printed
three warnings, each with the whole fix "nothing listens there: start `readme-metrics
collect` ...": the docs-URL lookup's, "3 POSTs in a row ... failed" and the close's
"gave up ...". The first now says the fix (and both variables); the later ones of the
same middleware say "(the same: nothing listens at 127.0.0.1:PORT, see above)" in place
of the cause and the fix, with their own counts. A fix counts as said only once its
warning went out: a line a rate limit held back is no "above".
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.docs_url import DocsUrl
from readme_metrics.nothing_listens import NothingListens
from tests.support.command import app_environment
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import free_port
from tests.support.polling import wait_until
from tests.support.processes import start_server, stop_server
from tests.test_docs_url import Records, clock, make_config, records  # noqa: F401
from tests.test_readme import code_blocks, readme_sections

FIX = "start `readme-metrics collect`"


def _quick_start(heading: str, folder: Path) -> None:
    """README's quick start under ``heading``, its first Python block, as ``app.py``."""
    (folder / "app.py").write_text(code_blocks(readme_sections()[heading], "python")[0],
                                   encoding="utf-8")


def _warnings_seen(argv: list[str], folder: Path, stop: signal.Signals) -> tuple[int, list[str]]:
    """The app served by ``argv`` with the collector not running, README's variables set
    at a free port; five calls, the "3 POSTs" warning waited for, then ``stop``: the
    port and the library's lines the newcomer saw."""
    down = free_port()
    url = f"http://127.0.0.1:{down}"
    port = free_port()
    env = app_environment(url, folder, README_API_URL=url, README_FLUSH_INTERVAL="1",
                          README_SHUTDOWN_TIMEOUT="2")
    env.pop("NO_PROXY", None)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY", "no_proxy"):
        env.pop(name, None)
    errors = folder / "stderr.txt"
    with open(errors, "wb") as stderr:
        server = start_server([sys.executable, "-m", *argv, f"127.0.0.1:{port}"]
                              if argv[0] == "gunicorn" else
                              [sys.executable, "-m", *argv, "--port", str(port)],
                              cwd=folder, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        with requests.Session() as client:
            client.trust_env = False
            wait_until(lambda: _answers(client, port), timeout=60)
            for _ in range(5):
                answer = client.get(f"http://127.0.0.1:{port}/", timeout=10,
                                    headers={"X-Api-Key": "owlbert-key"})
                assert answer.json() == {"hello": "world"}
        wait_until(lambda: "POSTs in a row" in errors.read_text("utf-8"), timeout=60)
        server.send_signal(stop)
        server.wait(60)
    finally:
        stop_server(server)
    lines = errors.read_text("utf-8").splitlines()
    return down, [line for line in lines if line.startswith("readme_metrics:")]


def _answers(client: requests.Session, port: int) -> Optional[bool]:
    try:
        client.get(f"http://127.0.0.1:{port}/", timeout=5)  # no X-Api-Key: not logged
    except requests.ConnectionError:
        time.sleep(0.1)
        return None
    return True


def _lookup(down: int) -> str:
    return (f"readme_metrics: could not look up the documentation URL (http://127.0.0.1:"
            f"{down}/v1: ConnectionError); x-documentation-url is left out, next try in 60 "
            f"s at the earliest. Nothing listens there: {FIX} (it prints the URLs to give "
            "README_API_URL and README_METRICS_SERVER), or correct the port in "
            "readme_api_url and metrics_api (README_API_URL and README_METRICS_SERVER, "
            "where the logs go); or set base_log_url (README_BASE_LOG_URL) to skip this "
            "lookup.")


def _same(down: int) -> str:
    return f"(the same: nothing listens at 127.0.0.1:{down}, see above)"


def _down(down: int) -> str:
    return (f"readme_metrics: 3 POSTs in a row to http://127.0.0.1:{down}/v1/request failed "
            f"{_same(down)}: retrying with backoff, one POST at a time; the logs wait in "
            "memory meanwhile (up to max_queue_size)")


def _closing(down: int, between: str = "") -> str:
    # (After the ASGI lifespan's flush, the close has no time of its own: "after
    # shutdown_timeout", delivery34.)
    return (r"readme_metrics: closing gave up after ([0-9.]+s, the next attempt being due "
            r"past )?shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of 2s: 5 logs not "
            rf"delivered{between}; the last attempt to post to http://127\.0\.0\.1:{down}"
            rf"/v1/request failed {re.escape(_same(down))}")


def test_the_wsgi_quick_start_under_gunicorn_says_the_fix_once(tmp_path: Path) -> None:
    # Fails before the fix: 3 lines, each ending with the whole fix (FIX three times).
    _quick_start("Quick start: any WSGI app", tmp_path)
    down, lines = _warnings_seen(["gunicorn", "app:app", "-w", "1", "-b"], tmp_path,
                                 signal.SIGTERM)
    assert len(lines) == 3, lines
    assert lines[0] == _lookup(down)
    assert lines[1] == _down(down)
    assert re.fullmatch(_closing(down), lines[2]), lines[2]
    assert "\n".join(lines).count(FIX) == 1


def test_the_fastapi_quick_start_under_uvicorn_says_the_fix_once(tmp_path: Path) -> None:
    # Fails before the fix: the lookup's, the POSTs' and the close's lines each ended
    # with the whole fix. The lifespan's flush line (no fix in it) is as it was.
    pytest.importorskip("fastapi")
    _quick_start("Quick start: FastAPI (and any ASGI app)", tmp_path)
    down, lines = _warnings_seen(["uvicorn", "app:app"], tmp_path, signal.SIGINT)
    assert len(lines) == 4, lines
    assert lines[0] == _lookup(down)
    assert lines[1] == _down(down)
    assert lines[2].startswith("readme_metrics: the flush at the ASGI lifespan's shutdown "
                               "gave up after shutdown_timeout"), lines[2]
    assert re.fullmatch(_closing(down, r", of the 5 logs the flush at the ASGI lifespan's "
                                       r"shutdown said were still queued \(the same logs, "
                                       r"not more\)"), lines[3]), lines[3]
    assert "\n".join(lines).count(FIX) == 1


def test_the_lookup_failing_again_says_it_in_short(
        records: Records, clock: Any) -> None:  # noqa: F811 - the fixtures
    # The lookup is tried again a minute on: its second warning points at its first.
    # Before, each said the whole fix.
    down = free_port()
    url = f"http://127.0.0.1:{down}"
    docs = DocsUrl(make_config(url, records, metrics_api=url))
    assert docs.base() is None
    (first,) = records.wait_for(1)
    assert first.getMessage() == _lookup(down)
    clock(61)
    assert docs.base() is None
    second = records.wait_for(2)[1].getMessage()
    assert second == (f"readme_metrics: could not look up the documentation URL (http://"
                      f"127.0.0.1:{down}/v1: the same: nothing listens at 127.0.0.1:{down}, "
                      "see above); x-documentation-url is left out, next try in 120 s at "
                      "the earliest. Set base_log_url (README_BASE_LOG_URL) to skip this "
                      "lookup."), second


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and "127.0.0.1" in record.getMessage()]


def test_a_line_held_back_by_the_rate_limit_is_no_above(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture) -> None:
    # The "3 POSTs in a row" warning held back (its key logged within the minute): the
    # fix was never said, so the warning that drops the batch says it in full, not "see
    # above". (Marking the fix said at any try would fail this.)
    url = f"http://127.0.0.1:{free_port()}"
    delivery = make_delivery(url, buffer_length=1, max_down_attempts=5)
    assert delivery._attempt.warnings.due("down")  # as if said a moment ago
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1)
    (said,) = _said(caplog)
    assert said.startswith("readme_metrics: could not deliver a batch of 1 log"), said
    assert "ConnectionRefusedError" in said and f"; nothing listens there: {FIX}" in said
    assert "see above" not in said


def test_a_logger_that_takes_no_warnings_marks_nothing() -> None:
    told = NothingListens()
    quiet = logging.getLogger("tests.newcomer24.quiet")
    quiet.setLevel(logging.ERROR)
    told.mark("http://127.0.0.1:8001/v1/request", quiet)
    assert not told.said("http://127.0.0.1:8001")
    told.mark("http://127.0.0.1:8001/v1/request", logging.getLogger("readme_metrics"))
    assert told.said("http://127.0.0.1:8001")  # the same place, another path
    assert not told.said("http://127.0.0.1:8002")


@given(host=st.sampled_from(["127.0.0.1", "localhost", "127.0.0.2", "[::1]"]),
       port=st.integers(1, 65535), path=st.sampled_from(["", "/", "/v1", "/v1/request"]),
       other=st.integers(1, 65535))
def test_a_place_is_its_host_and_port(host: str, port: int, path: str, other: int) -> None:
    told = NothingListens()
    told.mark(f"http://{host}:{port}{path}", logging.getLogger("readme_metrics"))
    assert told.said(f"http://{host}:{port}")
    assert told.said(f"http://{host}:{other}") == (other == port)
    assert told.again(f"http://{host}:{port}/v1") == (
        f"the same: nothing listens at {host}:{port}, see above")


def test_no_place_in_a_url_that_has_none(caplog: Any) -> None:
    told = NothingListens()
    told.mark("not a url", logging.getLogger("readme_metrics"))
    assert not told.said("not a url")
    assert not NothingListens.same_place("http://[::1", "http://[::1")
