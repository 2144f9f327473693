"""capture11: a client that leaves mid-stream, under real servers, behind FastAPI.

A FastAPI ``StreamingResponse`` (tests/support/asgi_left.py's ``/stream-on``: 200 chunks,
a pause between each) read by a raw client for three chunks, which then closes. Starlette
stops the stream once the server tells it the client left (``http.disconnect``, or
``send`` raising). The log had the bytes the server took, status 200 and no word: a few
chunks logged as if they were the whole answer. It now says the client left before the
answer's end (SPEC 4: the exchange as the client saw it). Under uvicorn (h11), gunicorn
with uvicorn-worker's ``UvicornWorker`` (README's FastAPI quick start), hypercorn and
daphne. And under WSGI servers, whose write of a chunk raises once the client is gone.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - a fixture
from tests.support.fake_api import Collector, free_port
from tests.support.wsgi_servers import served
from tests.test_asgi_client_got import ALL, MISSING, _entries
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import serve, server_env

pytestmark = pytest.mark.e2e

TARGET = "tests.support.asgi_left:fastapi_root"
SERVERS: dict[str, Callable[[int, str], list[str]]] = {
    "uvicorn-h11": ALL["uvicorn-h11"],
    "gunicorn-uvicorn": lambda port, target: [
        sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
        "-w", "1", "-b", f"127.0.0.1:{port}", target],
    "hypercorn": ALL["hypercorn"],
    "daphne": ALL["daphne"],
}


def _params() -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.skipif(
        MISSING.get(name, False), reason=f"{name} is not installed")) for name in SERVERS]


@pytest.mark.parametrize("server", _params())
def test_a_streaming_response_the_client_left_says_so(
        collector: Collector, tmp_path: Path, server: str) -> None:
    port = free_port()
    with serve(SERVERS[server](port, TARGET), server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, "wrap", "left", "GET", "/stream-on"))
            answer = b""
            while b"chunk 2\n" not in answer:
                chunk = sock.recv(65536)
                assert chunk, f"closed early: {answer!r}"
                answer += chunk
        entry = _entries(collector, 1)["left"]
    response = entry["response"]
    content = response["content"]
    assert response["status"] == 200
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\n")
    assert content["size"] == len(content["text"].encode()) == response["bodySize"]
    everything = sum(len(b"chunk %d\n" % i) for i in range(200))
    assert content["size"] < everything
    assert content.get("comment") == (
        "incomplete: the client left before the answer's end, after the server took "
        f"{content['size']} bytes of it: what the app sent later reached no one and is "
        "not logged")


@pytest.mark.parametrize("server", [p for p in _params() if p.values[0] != "gunicorn-uvicorn"])
def test_a_stream_with_a_length_the_client_left_is_not_called_short(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """tests/support/asgi_cases.py's ``/left`` with the Content-Length of the whole
    stream: the client reads four chunks and leaves, the app sends the rest and its last
    message, which the server drops. The log said the app's answer was shorter than its
    own Content-Length (the app's fault, on the dashboard); it says the client left."""
    port = free_port()
    barrier = tmp_path / "barrier"
    with serve(SERVERS[server](port, "tests.support.asgi_cases:plain_root"),
               server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, "wrap", "left", "GET",
                              f"/left?barrier={barrier}&length=1"))
            answer = b""
            while b"chunk 3\n" not in answer:
                chunk = sock.recv(65536)
                assert chunk, f"closed early: {answer!r}"
                answer += chunk
        barrier.touch()
        content = _entries(collector, 1)["left"]["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n")
    assert content.get("comment") == (
        "incomplete: the client left before the answer's end, after the server took "
        f"{content['size']} bytes of it: what the app sent later reached no one and is "
        "not logged")


# -- WSGI: the server's write raising once the client is gone ------------------------------

LATE_WSGI = 2000  # chunks the app yields after the client left: a write of one fails


def _left_stream(gone: threading.Event) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(3):
            yield b"chunk %d\n" % i
        gone.wait(SAFETY)  # the test closed its socket
        for i in range(LATE_WSGI):
            time.sleep(0.001)  # a turn for the server's loop (waitress's) to see the close
            yield b"late %d\n" % i
    return app


@pytest.mark.parametrize("server", ["werkzeug", "waitress", "wsgiref"])
def test_a_wsgi_stream_the_client_left_says_so(
        wrap: Any, collector: Collector, server: str) -> None:
    """The server's write of a late chunk raises (a broken pipe, waitress's
    ClientDisconnected) and it closes the app's iterable: the log had the chunks the
    server took, 200 and no word. It now says the client left before the end."""
    gone = threading.Event()
    with served(server, wrap(_left_stream(gone))) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(b"GET /left HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b"chunk 2\n" not in answer:
                chunk = sock.recv(65536)
                assert chunk, f"closed early: {answer!r}"
                answer += chunk
        gone.set()
        response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    content = response["content"]
    assert response["status"] == 200
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\n")
    assert content["size"] < 24 + sum(len(b"late %d\n" % i) for i in range(LATE_WSGI))
    assert content.get("comment") == (
        "incomplete: the client left before the answer's end, after the server took "
        f"{content['size']} bytes of it: what the app sent later reached no one and is "
        "not logged")
