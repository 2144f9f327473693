"""Property, under real servers: random raw requests get the bare app's very answer and
each gives one log the collector's validator accepts.

hypothesis draws request lines, header values and bodies from the bytes a client can put
on the wire (obs-text, percent-escapes that decode to nothing, odd Content-Types,
content codings, charsets), and each goes to tests/support/hostile_apps.py under
waitress and uvicorn, bare and wrapped (see tests/test_hostile_servers.py). A request
the server refuses itself never reaches the app and needs no log.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.cli.collector.validation import validate_log
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile_servers import SAFETY, SERVERS, _answer, _normalized, _trace_of

pytestmark = pytest.mark.e2e

_TARGET = st.binary(max_size=30).map(
    lambda raw: bytes(b for b in raw if 0x21 <= b < 0x7F and b not in b"?#" or b >= 0x80))
_QUERY = st.lists(st.sampled_from([b"a", b"=", b"&", b"%", b"%ff", b"%C3%A9", b"+", b"\xe9",
                                   b"%00", b";", b"password=x", b"%zz"]),
                  max_size=12).map(b"".join)
_VALUE = st.binary(max_size=40).map(
    lambda raw: bytes(b for b in raw if b == 0x09 or 0x20 <= b < 0x7F or b >= 0x80).strip())
_NAME = st.sampled_from([b"X-Odd", b"Cookie", b"Authorization", b"Referer", b"Accept",
                         b"X-Forwarded-For", b"Content-Language"])
_CONTENT_TYPE = st.sampled_from([
    b"application/json", b"application/json; charset=utf-16", b"text/plain; charset=x-no",
    b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=b",
    b"multipart/form-data", b"text/xml; charset=\xff", b"\xe9/\xff", b"application/octet-stream",
])
_CODING = st.sampled_from([None, b"gzip", b"deflate", b"br", b"gzip, x-no", b"\xff"])


@st.composite
def raw_requests(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.sampled_from([b"", b'{"a": 1}', b"a=%ff&b=\xff", b"--b\r\n\r\nx\r\n--b--"])
                | st.binary(max_size=80))
    headers = [name + b": " + value for name, value in
               draw(st.lists(st.tuples(_NAME, _VALUE), max_size=4))]
    if body:
        headers.append(b"Content-Type: " + draw(_CONTENT_TYPE))
        coding = draw(_CODING)
        if coding is not None:
            headers.append(b"Content-Encoding: " + coding)
    return {
        "method": draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE"])),
        # /echo reads the body, anything else answers without reading it
        "path": draw(st.sampled_from([b"/echo", b"/noread"]) | _TARGET.map(b"/any/".__add__)),
        "query": draw(_QUERY), "headers": headers, "body": body,
    }


def _bytes(port: int, prefix: str, trace: str, request: dict[str, Any]) -> bytes:
    query = b"?" + request["query"] if request["query"] else b""
    target = b"/" + prefix.encode() + request["path"] + query
    lines = [request["method"] + b" " + target + b" HTTP/1.1",
             f"Host: 127.0.0.1:{port}".encode(), f"X-Trace: {trace}".encode(),
             b"Connection: close", *request["headers"]]
    if request["body"]:
        lines.append(f"Content-Length: {len(request['body'])}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + request["body"]


class _Served:
    """One server process with the hostile apps, its collector and trace file."""

    def __init__(self, port: int, collector: Collector, traces: Path) -> None:
        self.port, self.collector, self.traces = port, collector, traces
        self.count = itertools.count()

    def log_for(self, trace: str) -> dict[str, Any] | None:
        """The log of the wrapped call ``trace``; None if the call never reached the app."""
        reached = self.traces.read_text("latin-1").split() if self.traces.exists() else []
        if trace not in reached:
            return None
        deadline = time.monotonic() + SAFETY
        while time.monotonic() < deadline:
            found = [log for log in self.collector.logs if _trace_of(log) == trace]
            if found:
                assert len(found) == 1, f"{len(found)} logs for one call"
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no log for {trace}")


@pytest.fixture(scope="module", params=["waitress", "uvicorn"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[_Served]:
    tmp = tmp_path_factory.mktemp(request.param)
    collector = Collector().start()
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp / "traces"))
    try:
        with serve(SERVERS[request.param](port), env, tmp, port):
            yield _Served(port, collector, tmp / "traces")
    finally:
        collector.stop()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(request=raw_requests())
def test_random_raw_requests_same_answer_and_a_valid_log(served: _Served,
                                                         request: dict[str, Any]) -> None:
    trace = f"t{next(served.count)}"
    bare = _answer(served.port, _bytes(served.port, "bare", trace, request))
    wrapped = _answer(served.port, _bytes(served.port, "wrap", trace, request))
    assert _normalized(wrapped) == _normalized(bare)
    log = served.log_for(trace)
    if log is not None:
        assert validate_log(log) == []
