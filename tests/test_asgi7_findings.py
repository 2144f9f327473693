"""asgi7's findings: the ASGI adapter against the ASGI spec's extensions, under real
servers where one offers them.

- Zero Copy Send's message is ``http.response.zerocopysend`` (the spec's name): it was
  taken for an unknown message and logged as a response with no body at all.
- A file the server sends itself (Path Send, Zero Copy Send) was logged as sent before
  the server took the message: one the server refuses (uvicorn, hypercorn and daphne
  offer no Path Send) reached no client and was logged whole all the same.
- A Path Send without a Content-Length was logged with size -1 although the client got
  the whole file (granian sends it chunked): its size is the file's (a stat, no read).
- A client that left mid-request-body, logged as the server's 400, had its comment say
  "the app answered 499": the library's own code for a client gone before the start,
  which no app sent. It quotes the app's status.
- A response whose start said ``trailers``, under a server offering the extension
  (hypercorn's HTTP/2), was logged as complete at its last body message: an app that
  raised before its trailers, whose client never got the end of the stream, was logged
  as a complete answer. The trailers end it now.
- An app whose lifespan returned once started, or raised on ``lifespan.shutdown``, never
  got the flush at shutdown: every log still queued was lost when the server stopped
  (uvicorn re-raises SIGTERM once shut down: no exit hooks run).
"""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from readme_metrics.asgi import MetricsMiddleware
from tests import test_asgi_client_got
from tests.support.asgi import http_scope, run
from tests.support.asgi_cases import ODD_FILE_SIZE
from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _entries, _entry, _servers, _trace
from tests.test_asgi_conformance import SAFETY, _exchange, _raw
from tests.test_asgi_servers import SERVER_PARAMS, assert_exit_flush
from tests.test_e2e_servers import serve, server_env
from tests.test_slow_client import normalized, read_answer

#: tests/test_asgi_client_got.py's module fixture: the plain app of
#: tests/support/asgi_cases.py under ``server`` (parametrized with ``scope="module"``),
#: kept for this module's tests of that server, posting to ``module_collector``.
served = test_asgi_client_got.served

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


def _served_get(collector: Collector, port: int, trace: str,
                path: str) -> tuple[bytes, dict[str, Any]]:
    """GET the plain app's wrapped ``path`` from the server at ``port`` (:func:`served`):
    the raw answer, and the response content of its log (the one with ``trace``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(_raw(port, "wrap", trace, "GET", path))
        # Logged: the app's call is over, the server has all it will send. daphne,
        # refusing the file, sends nothing and keeps the connection open: a read to its
        # close took SAFETY (20 s); now at most 1.5 s of silence more.
        content = _entry(collector, trace)["response"]["content"]
        return read_answer(sock, 1.5), content


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "hypercorn", "daphne"),
                         scope="module")
def test_a_path_send_the_server_refuses_is_not_logged_as_sent(
        module_collector: Collector, served: int) -> None:
    """These servers offer no Path Send: their ``send`` refuses the message (uvicorn
    with a RuntimeError), and the client gets the head and none of the file. The log
    said the whole file went out."""
    answer, content = _served_get(module_collector, served, _trace("refused"),
                                  "/pathsend?sized=1")
    assert len(answer.partition(b"\r\n\r\n")[2]) < ODD_FILE_SIZE  # the file never went
    assert content["size"] == 0
    assert "pathsend" not in content.get("comment", "")


@pytest.mark.parametrize("server", _servers("granian"), scope="module")
def test_a_path_send_without_a_length_is_logged_with_the_files_size(
        module_collector: Collector, served: int) -> None:
    """granian offers Path Send and sends a file with no Content-Length chunked, whole:
    the log has the file's size (it was -1)."""
    answer, content = _served_get(module_collector, served, _trace("unsized"),
                                  "/pathsend?sized=0")
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    assert content["size"] == ODD_FILE_SIZE and "text" not in content


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools"),
                         scope="module")
def test_a_client_gone_mid_body_is_logged_with_the_apps_own_status(
        module_collector: Collector, served: int) -> None:
    """The client declares 1,000 bytes, sends 100 and leaves; ``/echo`` reads what
    comes (``http.disconnect``) and answers 200, which goes nowhere. The log is the
    server's 400 with the body incomplete, and quotes the app's 200 (it said 499).
    (hypercorn answers 400 only when its h11 parser saw the end first: by timing.)"""
    trace = _trace("left-mid-body")
    with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
        sock.sendall(_raw(served, "wrap", trace, "POST", "/echo", b"a" * 100,
                          "Content-Type: text/plain", length=1000))
    entry = _entry(module_collector, trace)
    assert entry["response"]["status"] == 400
    assert entry["response"]["comment"].endswith(
        "sent none of the app's answer; the app answered 200")
    assert entry["request"]["postData"]["comment"].startswith("incomplete: 100 of 1000")


@pytest.mark.parametrize("server", _servers("hypercorn", "hypercorn-trio"), scope="module")
def test_a_response_with_trailers_ends_with_them(
        module_collector: Collector, served: int) -> None:
    """Over HTTP/2 (h2c) hypercorn offers trailers. ``/trailers`` sends them: logged
    whole, as before. ``/trailers?then=raise`` raises after its last body message,
    before them: hypercorn never ends the stream (the client waits until the connection
    closes), and the log says the answer broke off (it was logged complete)."""
    from tests.support.h2c import h2_get

    traces = {"whole": _trace("whole"), "raised": _trace("raised")}
    answers = {name: h2_get(served, f"/wrap/trailers{query}",
                            (("te", "trailers"), ("x-trace", traces[name])))
               for name, query in (("whole", ""), ("raised", "?then=raise"))}
    entries = {name: _entry(module_collector, trace) for name, trace in traces.items()}
    assert ("trailers", [(b"x-checksum", b"abc")]) in answers["whole"]
    assert not any(kind == "trailers" for kind, _ in answers["raised"])
    whole, raised = (entries[trace]["response"]["content"] for trace in ("whole", "raised"))
    assert whole["text"] == raised["text"] == "with extras"
    assert "comment" not in whole
    assert raised["comment"].startswith("incomplete: the app's answer broke off after 11")


@pytest.mark.parametrize("app", ["lifespan_returns_app", "lifespan_raises_app"])
@pytest.mark.parametrize("server", [p for p in SERVER_PARAMS
                                    if p.values[0] in ("uvicorn", "hypercorn", "granian")])
def test_logs_are_flushed_when_the_apps_lifespan_ended_early(
        collector: Collector, tmp_path: Path, app: str, server: str) -> None:
    """The app's lifespan call ends without a shutdown end: it returned once started
    (the servers still send it ``lifespan.shutdown``, which nobody reads then), or it
    raised on ``lifespan.shutdown``. SIGTERM still delivers every log: under uvicorn,
    which re-raises the signal once shut down (no exit hooks run), none did. hypercorn
    and granian, whose exit hooks run, show that waiting for the shutdown holds nothing
    up."""
    assert_exit_flush(collector, tmp_path, app, server, signal.SIGTERM)


DJANGO_BODY = b'{"name": "Owlbert", "n": 1}'


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "daphne"))
def test_django_asgi_bodies_of_every_method_streams_and_files_as_bare(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Django's ASGI handler (``get_asgi_application``) bare and wrapped in one server:
    a JSON body sent with each method that carries one, an async
    ``StreamingHttpResponse`` and a ``FileResponse``. The client gets the same bytes,
    and each wrapped call is logged once, with its body and all the file's bytes."""
    barrier = tmp_path / "barrier"
    barrier.touch()
    port = free_port()
    requests = {method.lower(): (method, "/echo", DJANGO_BODY, "Content-Type: application/json")
                for method in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    requests["stream"] = ("GET", f"/stream?barrier={barrier}", b"")
    requests["file"] = ("GET", f"/file?size={ODD_FILE_SIZE}", b"")
    answers = {}
    with serve(ALL[server](port, "tests.support.asgi_cases:django_root"),
               server_env(collector), tmp_path, port):
        for trace, (method, path, body, *headers) in requests.items():
            answers[trace] = [normalized(_exchange(port, _raw(
                port, prefix, trace, method, path, body, *headers)), server)
                for prefix in ("bare", "wrap")]
        entries = _entries(collector, len(requests))
    assert {trace: bare for trace, (bare, _) in answers.items()} == {
        trace: wrapped for trace, (_, wrapped) in answers.items()}
    assert sorted(entries) == sorted(requests)
    for trace, (method, _, body, *_) in requests.items():
        entry = entries[trace]
        assert entry["request"]["method"] == method
        if body:
            assert entry["request"]["postData"]["text"] == body.decode()
            assert entry["response"]["content"]["text"] == body.decode()
    assert entries["stream"]["response"]["content"]["text"] == "first\nsecond\nthird\n"
    assert answers["file"][0][-1] == (bytes(range(256)) * 400)[:ODD_FILE_SIZE]
    assert entries["file"]["response"]["content"]["size"] == ODD_FILE_SIZE
