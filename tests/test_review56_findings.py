"""review56's items: an adversarial review of the session's capture landings under the
real servers (raw sockets, the collector on 127.0.0.1, apps served bare and wrapped side
by side in one server process). Each test failed on main at 952698c and passes with its
fix."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.cli.collector.validation import validate_batch
from tests.support.fake_api import Collector, free_port
from tests.support.processes import run_command
from tests.test_asgi_client_got import ALL, _servers
from tests.test_asgi_conformance import SAFETY, _exchange, _raw, _trace_of
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import serve, server_env
from tests.test_middleware_response import DROPPED_UNCLOSED
from tests.test_slow_client import normalized, read_past

pytestmark = pytest.mark.e2e

# -- 1. An answer that broke off mid-stream says so -----------------------------------

# (query, what the client got of the body, the Content-Length declared: -1 none)
_BROKEN = {"chunked": ("", -1), "short": ("length=10", 10), "return": ("then=return", -1)}
# Every byte declared went out before the app raised: the client's answer is whole.
_WHOLE = ("whole", "length=3")


#: How long a broken answer is read past what the app sent before it broke off, for bytes
#: that would follow: daphne keeps the connection open, and a read to its close waited
#: SAFETY (20 s) for each of its 6 broken answers (2 min, the suite's slowest test).
AFTER_THE_END = 1.5


def _entries_and_batches(collector: Collector, count: int) -> dict[str, dict[str, Any]]:
    logs = collector.wait_for_logs(count, timeout=20.0)
    invalid = {}
    for batch in collector.batches:
        for index, problems in validate_batch(batch).items():
            invalid[_trace_of(batch[index]) if index >= 0 else "?"] = problems[:3]
    assert not invalid, f"logs the Metrics API refuses: {json.dumps(invalid, indent=1)}"
    return {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


def _assert_broke_off(content: dict[str, Any], sent: bytes, declared: int) -> None:
    assert content["size"] == len(sent) and content["text"] == sent.decode()
    of = (f"{len(sent)} of the {declared} bytes its Content-Length declared"
          if declared >= 0 else f"{len(sent)} bytes, with no end of its body")
    assert content["comment"].startswith(f"incomplete: the app's answer broke off after {of}")


@pytest.mark.parametrize(("server", "target"), [
    *[pytest.param(*p.values, "plain_root", marks=p.marks)
      for p in _servers("uvicorn-h11", "uvicorn-httptools", "hypercorn", "hypercorn-trio",
                        "daphne", "granian")],
    *[pytest.param(*p.values, "starlette_root", marks=p.marks)
      for p in _servers("uvicorn-h11")],
])
def test_an_asgi_answer_that_broke_off_is_logged_incomplete(
        collector: Collector, tmp_path: Path, server: str, target: str) -> None:
    """The app sends its start and ``abc`` (``more_body``), then raises (a Starlette
    ``StreamingResponse`` whose generator raises) or returns without the last body
    message. Every server then closes the connection: a chunked answer without its last
    chunk, or 3 bytes of a declared Content-Length of 10. The log said 200 with ``abc``
    and nothing of the cut (size 3: a reader takes it for the whole answer). Its content
    comment now says that the answer broke off, and where; the client's answer is the
    bare app's. With the Content-Length's 3 bytes all out, the client's answer is whole:
    no comment."""
    port = free_port()
    cases = dict(_BROKEN) if target == "plain_root" else {
        name: case for name, case in _BROKEN.items() if name != "return"}
    answers = {}
    with serve(ALL[server](port, f"tests.support.asgi_left:{target}"),
               server_env(collector), tmp_path, port):
        for name, query in [*((n, q) for n, (q, _) in cases.items()), _WHOLE]:
            chunked = name in cases and cases[name][1] < 0
            for prefix in ("bare", "wrap"):
                with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
                    sock.sendall(_raw(port, prefix, name, "GET", f"/stream-raise?{query}"))
                    answers[prefix, name] = read_past(
                        sock, b"3\r\nabc\r\n" if chunked else b"\r\n\r\nabc",
                        AFTER_THE_END)
        entries = _entries_and_batches(collector, len(cases) + 1)
    for name in [*cases, _WHOLE[0]]:
        assert normalized(answers["wrap", name], server) == normalized(
            answers["bare", name], server), name
        chunked = name in cases and cases[name][1] < 0
        assert answers["wrap", name].endswith(b"3\r\nabc\r\n" if chunked else b"\r\n\r\nabc")
    for name, (_, declared) in cases.items():
        response = entries[name]["response"]
        assert response["status"] == 200 and "comment" not in response
        _assert_broke_off(response["content"], b"abc", declared)
    assert "comment" not in entries[_WHOLE[0]]["response"]["content"]


_WSGI = "tests.support.hostile_apps:wsgi_root"
# (path, what the client got of the body, the Content-Length declared: -1 none)
_WSGI_BROKEN = {"mid": ("/raise-mid", -1), "mid-short": ("/raise-mid?length=10", 10),
                "write": ("/write-raise", -1), "write-short": ("/write-raise?length=10", 10)}
_WSGI_WHOLE = ("whole", "/raise-mid?length=1")


# (granian: what the client gets of an iterable raising mid-stream varies from run to
# run, bare too: nothing, the head alone, or the head and the chunk.)
@pytest.mark.parametrize("server", ["waitress", "gunicorn-sync", "werkzeug", "cheroot",
                                    "uwsgi"])
def test_a_wsgi_answer_that_broke_off_is_logged_incomplete(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A WSGI iterable that yields ``a`` and raises (or an app that writes ``a`` with
    ``write()`` and raises in its call): the server has sent the head and ``a`` and
    closes the connection, without the last chunk or short of the Content-Length. The
    log said 200 ``a`` and nothing of the cut; now its content comment says so. (Where
    the server answers the raise with its own 500, as uWSGI and granian do for a raise
    in the call, that 500 is the log, as before.) An iterable raising after all the
    declared bytes went out: whole, no comment."""
    port = free_port()
    answers = {}
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"))
    argv = (WSGI_SERVERS[server](port, _WSGI) if server != "werkzeug" else [
        WSGI_SERVERS[server](port, _WSGI)[0], "-m", "tests.support.hostile_apps", str(port)])
    with serve(argv, env, tmp_path, port):
        for name, path in [*((n, p) for n, (p, _) in _WSGI_BROKEN.items()), _WSGI_WHOLE]:
            for prefix in ("bare", "wrap"):
                answers[prefix, name] = _exchange(port, _raw(port, prefix, name, "GET", path))
        entries = _entries_and_batches(collector, len(_WSGI_BROKEN) + 1)
    for name in [*_WSGI_BROKEN, _WSGI_WHOLE[0]]:
        assert normalized(answers["wrap", name], server) == normalized(
            answers["bare", name], server), name
    got = {}
    for name, (_, declared) in _WSGI_BROKEN.items():
        response = entries[name]["response"]
        got[name] = (response["status"], response["content"].get("comment"))
        if response["status"] == 200:
            _assert_broke_off(response["content"], b"a", declared)
    assert "comment" not in entries[_WSGI_WHOLE[0]]["response"]["content"]
    assert got["mid"][0] == 200, got


# -- 2. A fork while the library's thread finishes a log ---------------------------------

_FORKED_WHILE_FINISHING = """
import gc, io, os, signal, sys, threading, time
from readme_metrics import MetricsApiConfig, MetricsMiddleware
import readme_metrics.pipeline

entered, release = threading.Event(), threading.Event()

def app(environ, start_response):  # a generator: starts at the first next(), if any
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"hi"

def grouping(request):
    if threading.current_thread().name == "readme-metrics-unclosed":
        entered.set()
        release.wait(60)  # the library's thread is finishing the log when the fork comes
    return {"api_key": "owlbert-key"}
""" + DROPPED_UNCLOSED + """
entered.wait(30)
# A wait that only ends with the parent's finish, which the child has no thread for.
readme_metrics.pipeline.FINISH_WAIT = 600.0
child = os.fork()
if child == 0:
    middleware.stats  # the child's own counters: none of its threads is finishing
    os._exit(0)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and os.waitpid(child, os.WNOHANG) == (0, 0):
    time.sleep(0.05)
else:
    if time.monotonic() >= deadline:
        print("the child's stats waited for its parent's thread")
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
release.set()
print("captured", middleware.stats["captured"])
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_does_not_wait_for_its_parents_finishing_thread(
        collector: Collector) -> None:
    """``stats``, ``flush()`` and ``close()`` wait (at most FINISH_WAIT) for a handed-over
    log another thread is finishing (1a45db9), known by the thread ids in
    ``MetricsPipeline._finishing``. A process forked while the library's thread was in a
    finish (its grouping function slow) inherited that entry, and no thread of the
    child ever takes it off: every ``stats``, ``flush()`` and ``close()`` of the child
    waited the whole FINISH_WAIT (1 s each), for ever. Only this process's finishing
    threads are waited for now. (FINISH_WAIT is raised here so that the wait shows as a
    hang rather than a time.)"""
    out = run_command([sys.executable, "-W", "ignore", "-c", _FORKED_WHILE_FINISHING,
                       collector.url], capture_output=True, text=True, timeout=120)
    assert out.stdout.split("\n") == ["captured 1", ""], out
