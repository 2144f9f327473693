"""capture11: a client that leaves mid-stream, under real servers, behind FastAPI.

A FastAPI ``StreamingResponse`` (tests/support/asgi_left.py's ``/stream-on``: 200 chunks,
a pause between each) read by a raw client for three chunks, which then closes. Starlette
stops the stream once the server tells it the client left (``http.disconnect``, or
``send`` raising). The log had the bytes the server took, status 200 and no word: a few
chunks logged as if they were the whole answer. It now says the client left before the
answer's end (SPEC 4: the exchange as the client saw it). Under uvicorn (h11), gunicorn
with uvicorn-worker's ``UvicornWorker`` (README's FastAPI quick start), hypercorn and
daphne.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.fake_api import Collector, free_port
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
        f"incomplete: the client left before the answer's end: {content['size']} bytes "
        "of it were sent, what the app sent later reached no one and is not logged")
