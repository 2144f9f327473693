"""hostile6's items: hostile clients under real servers (raw sockets, the collector on
127.0.0.1, tests/support/hostile_apps.py served bare and wrapped side by side). Each test
failed on main at d4145a4 and passes with its fix."""

from __future__ import annotations

import base64
import gzip
import json
import re
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.cli.collector.validation import validate_batch
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import _env as asgi_env
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile_servers import (
    SERVERS,
    _answer,
    _normalized,
    _pipelined,
    _post,
    _request,
    _trace_of,
)

pytestmark = pytest.mark.e2e

LIMIT = 65536  # README_MAX_BODY_BYTES of these servers


def _request_of(log: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = log["request"]["log"]["entries"][0]["request"]
    return request


def _logged(collector: Collector, port: int, server: str, cases: dict[str, Any]
            ) -> dict[str, dict[str, Any]]:
    """Each case sent bare and wrapped: the answers must be the same bytes; the wrapped
    call's log (valid for the Metrics API) by case name."""
    for name, make in cases.items():
        bare = _normalized(_answer(port, make(port, "bare", f"bare-{name}")))
        wrapped = _normalized(_answer(port, make(port, "wrap", name)))
        assert wrapped == bare, (server, name, bare[:1], wrapped[:1])
    logs = collector.wait_for_logs(len(cases))
    for batch in collector.batches:
        assert not validate_batch(batch), validate_batch(batch)
    return {_trace_of(log): log for log in logs}


# -- 1. a Content-Encoding stacking a coding a thousand times --------------------------


def _stacked_gzip(limit: int) -> tuple[bytes, int]:
    """(a body gzipped as many times as fit in ``limit`` bytes, each layer inflating to
    the layer under it and then zeros up to ``limit`` bytes; how many layers)."""
    data, layers = gzip.compress(b"\0" * limit), 1
    while True:
        engine = zlib.compressobj(9, zlib.DEFLATED, 31)
        wrapped = engine.compress(data) + engine.compress(b"\0" * limit) + engine.flush()
        if len(wrapped) > limit:
            return data, layers
        data, layers = wrapped, layers + 1


@pytest.mark.parametrize("server", ["waitress", "uvicorn"])
def test_stacked_content_codings_are_not_undone_past_a_few(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A client's ``Content-Encoding: gzip, gzip, ...`` (700 codings here, 1,082 under the
    default 256 KiB) over a body gzipped as often, each layer inflating to the bound:
    each coding was undone to ``max_body_bytes``, so one request cost the delivery worker
    700 inflations of 64 KiB (0.4 s of CPU per log at 256 KiB). More codings than
    compression.MOST_CODINGS (4) are now left as they are (the body redacted whole, as
    any body that cannot be read: hostile21); two or three still are undone."""
    stacked, layers = _stacked_gzip(LIMIT)
    assert layers > 100
    header = ("Content-Encoding: " + ", ".join(["gzip"] * layers)).encode()
    twice = gzip.compress(gzip.compress(b'{"a": "b"}'))
    thrice = gzip.compress(twice)
    cases = {
        "stacked": _post("/echo", stacked, header, b"Content-Type: application/json"),
        "thrice": _post("/echo", thrice, b"Content-Encoding: gzip, gzip, gzip",
                        b"Content-Type: application/json"),
        "twice": _post("/echo", twice, b"Content-Encoding: gzip, gzip",
                       b"Content-Type: application/json"),
    }
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT))
    with serve(SERVERS[server](port), env, tmp_path, port):
        logs = _logged(collector, port, server, cases)

    post = _request_of(logs["stacked"])["postData"]
    assert post["comment"] == "body could not be decoded, so it was redacted whole", (
        post.get("comment", "")[:80])
    assert post["text"] == "[REDACTED]"
    for name in ("thrice", "twice"):
        post = _request_of(logs[name])["postData"]
        assert post["text"] == '{"a": "b"}', (name, post)
        assert post["comment"].startswith("decompressed from Content-Encoding gzip, gzip")


# -- 2. the rest of a chunked body after werkzeug's reader gave up on it ----------------

SECRET = "hostile6-second-requests-token"


def test_no_rest_is_recorded_after_the_servers_reader_raised(
        collector: Collector, tmp_path: Path) -> None:
    """werkzeug's development server cannot read a chunk with an extension (``3;x=1``,
    RFC 9112 7.1.1): its reader takes the size line and raises, and the app answers 500,
    bare too. The capture then took the reader for one that had read nothing yet and
    copied the connection's bytes as chunks: from ``abc`` on (read as a chunk size,
    0xabc), so the log's body was the framing and the next pipelined request, its
    Authorization value in clear. What a server's reader raised on leaves its place in
    the body unknown: the log keeps what was read (nothing here), said incomplete."""
    chunked = _request("POST", "/echo", b"3;x=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                       (b"Transfer-Encoding: chunked", b"Content-Type: text/plain"),
                       length=False)
    following = _request("GET", "/noread", headers=(f"Authorization: Bearer {SECRET}".encode(),))
    cases = {"extension": _pipelined(chunked, following)}
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT))
    with serve(SERVERS["werkzeug"](port), env, tmp_path, port):
        logs = _logged(collector, port, "werkzeug", cases)

    post = _request_of(logs["extension"])["postData"]
    assert _request_of(logs["extension"])["bodySize"] == -1
    assert post == {"mimeType": "text/plain", "text": "",
                    "comment": "incomplete: 0 of a body of unknown length could be read "
                               "without waiting"}, post


# -- 3. Content-Encoding sent on two lines ---------------------------------------------

DENIED = "hostile6-denied-password"


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "waitress"])
def test_content_encoding_on_two_lines_is_one_list(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """``Content-Encoding: identity`` and ``Content-Encoding: gzip`` on two lines are one
    list, ``identity, gzip`` (RFC 9110 5.3), as WSGI servers join them. ASGI servers pass
    both lines on, and only the first was read: the gzipped JSON was recorded as sent
    (base64), the denylisted password in it for anyone who gunzips it. Now the lines are
    joined and the body decompressed and redacted like a body sent with one line."""
    document = json.dumps({"password": DENIED, "user": "bob"}).encode()
    cases = {"two-lines": _post("/noread", gzip.compress(document),
                                b"Content-Type: application/octet-stream",
                                b"Content-Encoding: identity", b"Content-Encoding: gzip")}
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT), README_DENYLIST="password")
    with serve(SERVERS[server](port), env, tmp_path, port):
        logs = _logged(collector, port, server, cases)

    post = _request_of(logs["two-lines"])["postData"]
    assert post.get("comment") == "decompressed from Content-Encoding gzip", post
    assert json.loads(post["text"]) == {"password": f"[REDACTED {len(DENIED)}]",
                                        "user": "bob"}
    for batch in collector.received:
        assert DENIED.encode() not in _inflated(batch.body), "the password, gzipped"


def _inflated(batch: bytes) -> bytes:
    """``batch`` with every base64 string in it decoded and gunzipped where it can be."""
    out = [batch]
    for text in re.findall(rb'"([A-Za-z0-9+/]{16,}={0,2})"', batch):
        try:
            out.append(zlib.decompressobj(31).decompress(base64.b64decode(text)))
        except (ValueError, zlib.error):
            pass
    return b"".join(out)


# -- 4. two Host lines under an ASGI server --------------------------------------------


def _get_hello(port: int, hosts: tuple[str, ...], trace: str) -> bytes:
    """A GET /hello with a Host line for each of ``hosts``, in that order."""
    lines = ["GET /hello?name=x HTTP/1.1", *(f"Host: {host}" for host in hosts),
             "X-Api-Key: hostile6-caller", f"X-Trace: {trace}", "Connection: close"]
    return _answer(port, ("\r\n".join(lines) + "\r\n\r\n").encode())


def test_the_first_of_two_host_lines_counts_as_starlette_reads_it(
        collector: Collector, tmp_path: Path) -> None:
    """uvicorn (httptools) passes a request with two Host lines on (RFC 9112 3.2 has a
    server refuse it; h11 does). Starlette's ``request.url`` and ``request.headers``
    read the first line; the capture read the last. With ``allowed_http_hosts`` naming
    the app's host, a client put another host on a second line and its call, served as
    any other, was never logged, and a call the app served for another host was logged
    as one to the allowed host. The first line counts now, for the url too."""
    port = free_port()
    here, elsewhere = f"127.0.0.1:{port}", "elsewhere.example"
    env = asgi_env(collector, README_ALLOWED_HTTP_HOSTS="127.0.0.1")
    with serve(ASGI_SERVERS["uvicorn"](port, "tests.support.asgi_apps:starlette_app"),
               env, tmp_path, port):
        answers = [_get_hello(port, (here, elsewhere), "allowed-first"),
                   _get_hello(port, (elsewhere, here), "allowed-last"),
                   _get_hello(port, (here,), "one-line")]
        assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers), answers
        logs = collector.wait_for_logs(2)
        time.sleep(0.5)  # (a log for "allowed-last" would have come by now)
    logged = {_trace_of(log): _request_of(log)["url"] for log in collector.logs}
    assert logged == {"allowed-first": f"http://{here}/hello?name=x",
                      "one-line": f"http://{here}/hello?name=x"}, logged
    assert len(logs) == 2
