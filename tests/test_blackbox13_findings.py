"""blackbox13: FastAPI features as a user meets them, bare vs wrapped under real uvicorn.

The sweep (benchmarks/blackbox13_sweep.py, blackbox13_servers.py; docs/SERVERS.md
"FastAPI features under real servers") found no defect; these pin what it checked that
no test did: a dependency reading the body (``await request.body()`` or
``request.stream()``) before the endpoint reads it again, Form + File, pydantic's 422 for a
bad body, each logged once with the body as sent and the answer as the client read it,
the client's bytes as bare; and uvicorn's own ``--limit-concurrency`` 503, which never
reaches the app and so is not logged, while the calls it let through are.

Real parts: uvicorn (h11 and httptools) in subprocesses on free 127.0.0.1 ports, the
collector on 127.0.0.1, tests/support/blackbox13_apps.py bare and wrapped. The bare and
wrapped servers of each parser are kept for the module's cases (suite49: 20 starts were
4); each case tags its wrapped call (``?case=wrapped-<n>``) and reads its own log.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.support.fake_api import Collector, describe, free_port
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, start_server, stop_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("fastapi") is None,
        reason="uvicorn and fastapi are needed",
    ),
]

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "rdme_blackbox13_SECRET_key_4242"
#: The call that finds a server up: the wrapped server's one is logged, and left out.
READY = "/where?ready"
#: The seconds :meth:`Collector.wait_for_only` waits for a duplicate after the last log.
QUIET = 0.5
#: Each case's tag on the kept servers (its wrapped call's ``case``: the app reads none).
_TAGS = itertools.count()


def _calls(collector: Collector, count: int, servers: int = 1) -> list[dict[str, Any]]:
    """Exactly ``count`` logged calls besides each wrapped server's READY call."""
    return _not_ready(collector.wait_for_only(count + servers))


def _not_ready(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of ``logs`` but the wrapped servers' READY calls."""
    entries = [entry for log in logs for entry in log["request"]["log"]["entries"]]
    return [entry for entry in entries if not entry["request"]["url"].endswith(READY)]


def _own_call(collector: Collector, tag: str) -> dict[str, Any]:
    """The one logged call of a case on the kept servers (``collector`` forgotten at its
    start): its log (tagged ``tag``) awaited, then :meth:`Collector.wait_for_only`'s
    quiet, in which a duplicate would arrive; no other call logged meanwhile (a READY
    call of a server just started aside)."""
    collector.wait_for_matching(lambda log: tag in str(log), 1)
    time.sleep(QUIET)
    entries = _not_ready(collector.logs)
    assert len(entries) == 1 and tag in entries[0]["request"]["url"], describe(collector.logs)
    return entries[0]


def _up(base: str) -> bool:
    try:
        return requests.get(base + READY, timeout=LINE_WAIT).status_code == 200
    except requests.RequestException:
        return False


def _uvicorn(collector: Collector, out: Path, wrapped: bool, *options: str) -> Iterator[str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("README_")},
        "METRICS_URL": collector.url,
        "PROJECT_KEY": API_KEY,
        "BB13_OUT": str(out),
        "BB13_WRAP": "1" if wrapped else "0",
        "PYTHONPATH": str(ROOT),
    }
    process = start_server(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-access-log",
            *options,
            "tests.support.blackbox13_apps:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or _up(base))
        assert process.poll() is None, "uvicorn ended at its start"
        yield base
    finally:
        stop_server(process)  # (before: terminate, its group killed, never waited for)


@pytest.fixture(scope="module", params=["h11", "httptools"])
def twins(request: Any, module_collector: Collector, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[str, str]]:
    """The bare and the wrapped app under uvicorn with the parser ``request.param``, kept
    for the module's cases (the wrapped one posting to ``module_collector``)."""
    out = tmp_path_factory.mktemp("bb13")
    bare = _uvicorn(module_collector, out, False, f"--http={request.param}")
    wrapped = _uvicorn(module_collector, out, True, f"--http={request.param}")
    try:
        yield next(bare), next(wrapped)
    finally:
        for server in (bare, wrapped):
            server.close()


# name -> (path, requests' arguments, the request body the log holds)
CASES: dict[str, tuple[str, dict[str, Any], bytes]] = {
    "a dependency reads the body, the endpoint again": (
        "/dep-body",
        {"data": b"x" * 5000},
        b"x" * 5000,
    ),
    "a dependency streams the body, the endpoint asks for it again": (
        "/dep-stream",
        {"data": b"z" * 7000},
        b"z" * 7000,
    ),
    "pydantic's 422 for a body of the wrong type": (
        "/items",
        {"json": {"name": "a", "n": "x"}},
        b'{"name": "a", "n": "x"}',
    ),
    "pydantic's 422 for a body that is no JSON": (
        "/items",
        {"data": b"{bad", "headers": {"content-type": "application/json"}},
        b"{bad",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fastapi_body_features_logged_once_as_sent(
    case: str, twins: tuple[str, str], kept_collector: Collector
) -> None:
    bare, wrapped = twins
    path, arguments, body = CASES[case]
    tag = f"wrapped-{next(_TAGS):04d}"
    expected = requests.post(f"{bare}{path}?case=bare", timeout=LINE_WAIT, **arguments)
    got = requests.post(f"{wrapped}{path}?case={tag}", timeout=LINE_WAIT, **arguments)
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    entry = _own_call(kept_collector, tag)
    assert entry["request"]["url"].endswith(f"{path}?case={tag}")
    assert entry["request"]["bodySize"] == len(body)
    assert entry["request"]["postData"]["text"] == body.decode()
    assert entry["response"]["status"] == got.status_code
    assert entry["response"]["content"]["text"] == got.text


def test_form_and_file_logged_once_with_the_answer_as_bare(
    twins: tuple[str, str], kept_collector: Collector
) -> None:
    bare, wrapped = twins
    tag = f"wrapped-{next(_TAGS):04d}"
    form = {"data": {"name": "nm"}, "files": {"file": ("f.txt", b"hello file")}}
    expected = requests.post(f"{bare}/form", timeout=LINE_WAIT, **form)
    got = requests.post(f"{wrapped}/form?case={tag}", timeout=LINE_WAIT, **form)
    assert (got.status_code, got.json()) == (200, expected.json())
    assert got.json() == {"name": "nm", "file": "f.txt", "size": 10}
    entry = _own_call(kept_collector, tag)
    assert entry["request"]["bodySize"] == int(got.request.headers["content-length"])
    assert entry["response"]["content"]["text"] == got.text


def test_uvicorn_limit_concurrency_503_is_the_servers_and_not_logged(
    collector: Collector, tmp_path: Path
) -> None:
    server = _uvicorn(collector, tmp_path, True, "--limit-concurrency=3")
    base = next(server)
    try:
        answers: dict[str, int] = {}

        def held(name: str) -> None:
            answers[name] = requests.get(f"{base}/hold?name={name}", timeout=60).status_code

        threads = [threading.Thread(target=held, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        # Both calls in the app: uvicorn counts the open connections, the new one too,
        # against the limit (3), so a third connection is answered by uvicorn itself.
        wait_until(lambda: (tmp_path / "held-a").exists() and (tmp_path / "held-b").exists())
        refused = requests.get(f"{base}/where?refused", timeout=LINE_WAIT)
        (tmp_path / "go").touch()
        for thread in threads:
            thread.join(timeout=60)
        assert refused.status_code == 503
        assert refused.text == "Service Unavailable"
        assert answers == {"a": 200, "b": 200}
        urls = sorted(entry["request"]["url"].rsplit("/", 1)[1] for entry in _calls(collector, 2))
        assert urls == ["hold?name=a", "hold?name=b"]
    finally:
        server.close()
