"""asgi7's findings: the ASGI adapter against the ASGI spec's extensions, under real
servers where one offers them.

- Zero Copy Send's message is ``http.response.zerocopysend`` (the spec's name): it was
  taken for an unknown message and logged as a response with no body at all.
- A file the server sends itself (Path Send, Zero Copy Send) was logged as sent before
  the server took the message: one the server refuses (uvicorn, hypercorn and daphne
  offer no Path Send) reached no client and was logged whole all the same.
- A Path Send without a Content-Length was logged with size -1 although the client got
  the whole file (granian sends it chunked): its size is the file's (a stat, no read).
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from readme_metrics.asgi import MetricsMiddleware
from tests.support.asgi import http_scope, run
from tests.support.asgi_cases import ODD_FILE_SIZE
from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _entries, _servers
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import serve, server_env
from tests.test_slow_client import read_answer


@pytest.fixture
def wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    with wrapping(collector, MetricsMiddleware) as make:
        yield make


def _content(collector: Collector) -> dict[str, Any]:
    log = collector.wait_for_logs(1)[0]
    return log["request"]["log"]["entries"][0]["response"]["content"]  # type: ignore[no-any-return]


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Any]:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    with path.open("rb") as file:
        yield file


@pytest.mark.parametrize(("extra", "size"), [
    pytest.param({"count": 1000}, 1000, id="count"),
    pytest.param({"offset": 240}, 10_000, id="offset-to-the-end"),
    pytest.param({}, 10_240, id="whole-file"),
])
def test_a_zero_copy_send_is_logged_with_the_bytes_it_sends(
        wrap: Any, collector: Collector, data: Any, extra: dict[str, Any], size: int) -> None:
    """No server here offers Zero Copy Send: driven as a server would. The message goes
    to the server as the app gave it, the log has its size (``count``, or the file from
    ``offset`` to its end) and no text. It used to be logged with size 0 and no comment,
    as a response that sent no body."""
    message = {"type": "http.response.zerocopysend", "file": data, **extra}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(message)

    done = asyncio.run(run(wrap(app), http_scope()))
    assert done.error is None and done.sent[1] is message
    content = _content(collector)
    assert content["size"] == size and "text" not in content
    assert "pathsend" in content["comment"]


def test_zero_copy_sends_and_body_messages_add_up(wrap: Any, collector: Collector,
                                                  data: Any) -> None:
    """``more_body`` lets a body message follow a Zero Copy Send: the log counts both,
    and the response ends with the last message."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"head", "more_body": True})
        await send({"type": "http.response.zerocopysend", "file": data, "count": 100,
                    "more_body": True})
        await send({"type": "http.response.body", "body": b"tail"})

    done = asyncio.run(run(wrap(app), http_scope()))
    assert done.error is None and len(done.sent) == 4
    assert _content(collector)["size"] == 108


def _served_get(collector: Collector, tmp_path: Path, server: str, trace: str,
                path: str) -> tuple[bytes, dict[str, Any]]:
    """GET the plain app's wrapped ``path`` from ``server``: the raw answer, and the
    response content of its log."""
    port = free_port()
    with serve(ALL[server](port, "tests.support.asgi_cases:plain_root"),
               server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, "wrap", trace, "GET", path))
            answer = read_answer(sock, SAFETY)
        return answer, _entries(collector, 1)[trace]["response"]["content"]


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "hypercorn", "daphne"))
def test_a_path_send_the_server_refuses_is_not_logged_as_sent(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """These servers offer no Path Send: their ``send`` refuses the message (uvicorn
    with a RuntimeError), and the client gets the head and none of the file. The log
    said the whole file went out."""
    answer, content = _served_get(collector, tmp_path, server, "refused", "/pathsend?sized=1")
    assert len(answer.partition(b"\r\n\r\n")[2]) < ODD_FILE_SIZE  # the file never went
    assert content["size"] == 0
    assert "pathsend" not in content.get("comment", "")


@pytest.mark.parametrize("server", _servers("granian"))
def test_a_path_send_without_a_length_is_logged_with_the_files_size(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """granian offers Path Send and sends a file with no Content-Length chunked, whole:
    the log has the file's size (it was -1)."""
    answer, content = _served_get(collector, tmp_path, server, "unsized", "/pathsend?sized=0")
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    assert content["size"] == ODD_FILE_SIZE and "text" not in content
