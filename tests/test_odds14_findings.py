"""odds14: ASGI leftovers under the real servers (uvicorn with h11 and httptools,
hypercorn, granian, daphne), each serving tests/support/asgi_cases.py bare and wrapped
in one process, against the collector on 127.0.0.1.

1. ``Expect: 100-continue``: the capture never asked for a body sent with it, so a body
   the client sent all the same (without waiting for the 100, or after hypercorn's or
   daphne's own) was logged empty, "incomplete", though the server had it. It is read
   now once no server answers 100 any more (uvicorn: after the start, before the last
   body message, without the grace; hypercorn, daphne: once the response is out); a
   client that waits for the 100 is still never asked for its body. Not under granian
   (review44): asked for it, hyper reads on from the connection, a waiting client's
   next request taken for the body.
2. granian with keep-alive (found clean, kept as a check): several requests on one
   connection, one after the other and pipelined, each answered as bare and logged once
   with its own body and answer, and a client leaving mid-stream on a kept connection.
3. Django's ASGI handler under uvicorn with readme_metrics.django's middleware, alone and
   with the ASGI middleware around the handler too (found clean, kept as a check):
   chunked, large and multipart bodies, an async StreamingHttpResponse, an unread body,
   each answered as sent and logged exactly once, by the outer layer when stacked.
4. FastAPI with ``app.add_middleware`` (found clean, kept as a check): BackgroundTasks
   after the answer (the log ends before them), a client gone before the body is read
   (``http.disconnect``), websocket routes beside http: untouched and never logged.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.fake_api import Collector, describe, free_port
from tests.test_asgi_client_got import ALL, _servers
from tests.test_asgi_conformance import SAFETY, _exchange, _raw, _trace_of, _wait_logs
from tests.test_e2e_servers import (
    CALLER,
    MAX_BODY,
    django_env,
    read_past_the_barrier,
    serve,
    server_env,
)
from tests.test_slow_client import IGNORED_HEADERS, read_answer

pytestmark = pytest.mark.e2e

PLAIN = "tests.support.asgi_cases:plain_root"
EXPECT = ("Expect: 100-continue", "Content-Type: application/json")
# The servers that answer 100 Continue only when the app first calls receive().
ON_RECEIVE = ("uvicorn-h11", "uvicorn-httptools", "granian")


def _entries(collector: Collector, traces: Path) -> dict[str, dict[str, Any]]:
    """Each call that reached the wrapped app, logged once: trace -> its entry."""
    reached = traces.read_text(encoding="latin-1").split()
    logs = _wait_logs(collector, traces, len(reached))
    logged = [_trace_of(log) for log in logs]
    assert sorted(logged) == sorted(reached), "each call logged once"
    return {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


def _lines(answer: bytes, server: str) -> list[bytes]:
    """The answer's lines but the Date, Server and x-documentation-url headers (and
    granian's Connection, which it sends or not by timing, bare too), in every head: a
    100 Continue comes before the final one."""
    ignored = IGNORED_HEADERS + ((b"connection:",) if server == "granian" else ())
    return [line for line in answer.split(b"\r\n") if not line.lower().startswith(ignored)]


def _waiting(port: int, prefix: str, trace: str, path: str, body: bytes) -> bytes:
    """A client that waits for 100 Continue: its head only; the body once the 100 came
    (never, if the answer came first). What it got, to the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(_raw(port, prefix, trace, "POST", path, b"", *EXPECT, length=len(body)))
        first = read_answer(sock, SAFETY, until=b"\r\n\r\n")
        if first.startswith(b"HTTP/1.1 100"):
            sock.sendall(body)
        return first + read_answer(sock, SAFETY)


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools", "hypercorn",
                                             "granian", "daphne"))
def test_expect_100_continue_same_wire_and_the_body_sent_is_logged(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Bare, uvicorn and granian answer 100 only when the app first calls ``receive``;
    hypercorn and daphne send it before the app runs (daphne calls the app only once
    the whole body is in). Wrapped, each answer is the bare app's bytes: the capture
    forces no 100 (reading before granian writes the head, which it does with the first
    body message, made hyper send one), and the log has the body the client sent."""
    body = b'{"sent": "with its head"}'
    traces = tmp_path / "traces"
    port = free_port()
    env = server_env(collector, ASGI_TRACES=str(traces))
    differ = {}
    tries = 1
    with serve(ALL[server](port, PLAIN), env, tmp_path, port):
        for attempt in range(tries):
            # Sent with its head, not waiting for the 100; the app does not read it.
            bare, wrapped = (_lines(_exchange(port, _raw(
                port, prefix, f"{prefix}-together-{attempt}", "POST", "/noread", body,
                *EXPECT)), server) for prefix in ("bare", "wrap"))
            if wrapped != bare:
                differ[f"together-{attempt}"] = (bare, wrapped)
        if server != "daphne":  # which waits for the body before it calls the app
            # Waits for the 100; the app answers without reading: never asked for it.
            bare, wrapped = (_lines(_waiting(port, prefix, f"{prefix}-waits", "/noread",
                                                 body), server) for prefix in ("bare", "wrap"))
            if wrapped != bare:
                differ["waits"] = (bare, wrapped)
            if server in ON_RECEIVE:
                assert not wrapped[0].startswith(b"HTTP/1.1 100"), wrapped
        # Waits for the 100, then sends; the app reads it (asks for the 100 itself).
        bare, wrapped = (_lines(_waiting(port, prefix, f"{prefix}-echo", "/echo", body),
                                    server) for prefix in ("bare", "wrap"))
        if wrapped != bare:
            differ["echo"] = (bare, wrapped)
        assert wrapped[-1] == body
        entries = _entries(collector, traces)
    assert not differ, f"answers differ (bare, wrapped): {differ}"
    together = [entries[f"wrap-together-{attempt}"]["request"] for attempt in range(tries)]
    # SPEC 4: the bytes received (all of them kept: the body is under max_body_bytes).
    assert all(request["bodySize"] == len(request["postData"]["text"]) for request in together)
    # granian's hyper reads on from the connection once asked for such a body (review44,
    # test_review38_findings): never read there, the bare app never read it either.
    sent = {"mimeType": "application/json", "text": body.decode()} if server != "granian" \
        else {"mimeType": "application/json", "text": "",
              "comment": f"incomplete: 0 of {len(body)} bytes could be read without waiting"}
    assert sent in [request["postData"] for request in together], together
    if server in ON_RECEIVE:  # (hypercorn's 100 brought the body: there in time or not)
        assert entries["wrap-waits"]["request"]["postData"] == {
            "mimeType": "application/json", "text": "",
            "comment": f"incomplete: 0 of {len(body)} bytes could be read without waiting"}
    assert entries["wrap-echo"]["request"]["postData"]["text"] == body.decode()


def _kept(port: int, prefix: str, requests: list[tuple[str, str, bytes, tuple[str, ...]]],
          pipelined: bool) -> list[bytes]:
    """The requests on one kept-alive connection (X-Trace: prefix-<index>), one after
    the other (each answer as read) or all in one write, the last closing (all the
    answers, read to the close)."""
    data = [(_raw(port, prefix, f"{prefix}-{'p' if pipelined else 's'}{index}", method, path,
                  b"", *headers) + body if "Transfer-Encoding: chunked" in headers else
             _raw(port, prefix, f"{prefix}-{'p' if pipelined else 's'}{index}", method, path,
                  body, *headers)).replace(b"Connection: close", b"Connection: keep-alive")
            for index, (method, path, body, headers) in enumerate(requests)]
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        if pipelined:
            data[-1] = data[-1].replace(b"Connection: keep-alive", b"Connection: close")
            sock.sendall(b"".join(data))
            answer = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return [answer]
                answer += chunk
        for request in data:
            sock.sendall(request)
            answers.append(read_answer(sock, SAFETY))
    return answers


def _chunks(body: bytes, size: int) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


@pytest.mark.parametrize("server", _servers("granian"))
def test_granian_keep_alive_each_request_answered_and_logged_once(
        collector: Collector, tmp_path: Path, server: str) -> None:
    text = ("Content-Type: text/plain",)
    chunked = b"chunked " * 500
    requests = [
        ("POST", "/echo", b"first body", text),
        ("GET", "/stream?n=30", b"", ()),
        ("POST", "/echo", b"second " * 2000, text),  # 14,000 bytes
        ("POST", "/echo", b"", (*text, "Transfer-Encoding: chunked")),  # body below
        ("GET", "/hello", b"", ()),
    ]
    sequence = [request if request[3][-1:] != ("Transfer-Encoding: chunked",)
                else (request[0], request[1], _chunks(chunked, 700), request[3])
                for request in requests]
    sent = [chunked if body.endswith(b"0\r\n\r\n") else body for _, _, body, _ in sequence]
    traces = tmp_path / "traces"
    port = free_port()
    env = server_env(collector, ASGI_TRACES=str(traces), README_MAX_BODY_BYTES="65536")
    with serve(ALL[server](port, PLAIN), env, tmp_path, port):
        answers = {(prefix, pipelined): [_lines(answer, server) for answer in _kept(
            port, prefix, sequence, pipelined)]
            for pipelined in (False, True) for prefix in ("bare", "wrap")}
        # A client leaving a long stream mid-way, on a connection it kept after a call.
        for prefix in ("bare", "wrap"):
            with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
                sock.sendall(_raw(port, prefix, f"{prefix}-before-left", "POST", "/echo",
                                  b"kept", *text).replace(b"Connection: close",
                                                          b"Connection: keep-alive"))
                assert read_answer(sock, SAFETY).endswith(b"kept")
                sock.sendall(_raw(port, prefix, f"{prefix}-left", "GET",
                                  "/stream?n=1200&size=1024").replace(
                                      b"Connection: close", b"Connection: keep-alive"))
                got = b""
                while b"chunk 3\n" not in got:
                    chunk = sock.recv(65536)
                    assert chunk, got[-200:]
                    got += chunk
        # The server goes on serving.
        assert _exchange(port, _raw(port, "wrap", "wrap-after", "GET", "/hello")).endswith(
            b"hello")
        entries = _entries(collector, traces)
    for pipelined in (False, True):
        assert answers["wrap", pipelined] == answers["bare", pipelined], pipelined
    for pipelined, mark in ((False, "s"), (True, "p")):
        for index, body in enumerate(sent):
            entry = entries[f"wrap-{mark}{index}"]
            assert entry["request"]["bodySize"] == len(body), (mark, index)
            assert entry["request"].get("postData", {}).get("text", "") == body.decode()
            answered = body if sequence[index][1] == "/echo" else (
                b"hello" if sequence[index][1] == "/hello"
                else b"".join(b"chunk %d\n" % i for i in range(30)))
            assert entry["response"]["content"]["text"].encode() == answered
            if not pipelined and sequence[index][1] != "/stream?n=30":
                assert answers["wrap", pipelined][index][-1] == answered
    assert entries["wrap-before-left"]["response"]["content"]["text"] == "kept"
    left = entries["wrap-left"]["response"]
    assert left["status"] == 200 and left["content"]["text"].startswith("chunk 0\n")


STACKS = {"django-middleware": ("django_asgi_app", "django.core.handlers.asgi.ASGIRequest"),
          "stacked": ("django_asgi_stacked", "webob.request.Request")}


@pytest.mark.parametrize("stack", list(STACKS))
def test_django_asgi_under_uvicorn_each_call_logged_once(
        collector: Collector, tmp_path: Path, stack: str) -> None:
    attribute, kind = STACKS[stack]
    chunked = b"0123456789" * 600  # 6,000 bytes in 40 chunks
    large = bytes(range(32, 127)) * 1100  # 104,500 bytes, over max_body_bytes
    upload = bytes(range(256)) * 8
    noread = b"n" * 3000
    port = free_port()
    answers: dict[str, requests.Response] = {}
    with serve(ALL["uvicorn-h11"](port, f"tests.support.e2e_apps:{attribute}"),
               django_env(collector), tmp_path, port) as base, requests.Session() as session:
        session.headers["X-Api-Key"] = CALLER

        def call(trace: str, method: str, path: str, **options: Any) -> requests.Response:
            answers[trace] = session.request(method, base + path, timeout=SAFETY,
                                             headers={"X-Trace": trace,
                                                      **options.pop("headers", {})},
                                             **options)
            return answers[trace]

        text = {"Content-Type": "text/plain"}
        call("chunked", "POST", "/echo", headers=text,
             data=(chunked[i:i + 150] for i in range(0, len(chunked), 150)))
        call("large", "POST", "/echo", data=large, headers=text)
        call("large-chunked", "POST", "/echo", headers=text,
             data=(large[i:i + 4096] for i in range(0, len(large), 4096)))
        call("multipart", "POST", "/upload", data={"field": "v\u00e4lue"},
             files={"file": ("data.bin", upload, "application/octet-stream")})
        call("noread", "POST", "/noread", data=noread, headers=text)
        barrier = tmp_path / "barrier"
        streamed = call("stream", "GET", "/stream", params={"barrier": str(barrier)},
                        stream=True)
        received = read_past_the_barrier(streamed, barrier)
        logs = collector.wait_for_only(len(answers))
    entries = {_trace_of(log): log for log in logs}
    assert sorted(entries) == sorted(answers), "each call logged exactly once"
    assert {log["group"]["label"] for log in logs} == {kind}  # the outer layer's
    assert received == b"first\nsecond\nthird\n"
    for trace, body in (("chunked", chunked), ("large", large), ("large-chunked", large)):
        assert answers[trace].content == body, trace
        entry = entries[trace]["request"]["log"]["entries"][0]
        assert entry["request"]["bodySize"] == len(body), trace
        assert entry["request"]["postData"]["text"] == body[:MAX_BODY].decode(), trace
        assert entry["response"]["content"]["size"] == len(body), trace
        assert entry["response"]["content"]["text"] == body[:MAX_BODY].decode(), trace
    assert "truncated" in entries["large-chunked"]["request"]["log"]["entries"][0][
        "request"]["postData"]["comment"]
    multipart = entries["multipart"]["request"]["log"]["entries"][0]["request"]
    assert answers["multipart"].json()["size"] == len(upload)
    params = {param["name"]: param for param in multipart["postData"]["params"]}
    assert params["field"]["value"] == "v\u00e4lue"
    assert params["file"]["fileName"] == "data.bin"
    assert entries["noread"]["request"]["log"]["entries"][0]["request"]["postData"] == {
        "mimeType": "text/plain", "text": noread.decode()}
    content = entries["stream"]["request"]["log"]["entries"][0]["response"]["content"]
    assert (content["text"], content["size"]) == (received.decode(), len(received))


def _websockets(port: int, prefix: str) -> list[str]:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/{prefix}/ws", open_timeout=SAFETY) as ws:
        said = []
        for text in ("a", "b"):
            ws.send(text)
            said.append(str(ws.recv(timeout=SAFETY)))
        ws.send("bye")
    try:
        with connect(f"ws://127.0.0.1:{port}/{prefix}/ws-deny", open_timeout=SAFETY):
            said.append("accepted")
    except InvalidStatus as refused:
        said.append(f"refused {refused.response.status_code}")
    return said


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "hypercorn", "granian"))
def test_fastapi_background_tasks_disconnects_and_websockets(
        collector: Collector, tmp_path: Path, server: str) -> None:
    item = b'{"name": "n1"}'
    traces = tmp_path / "traces"
    port = free_port()
    env = server_env(collector, ASGI_TRACES=str(traces))
    answers: dict[str, list[list[bytes]]] = {}
    with serve(ALL[server](port, "tests.support.fastapi_tasks:root"), env,
               tmp_path, port):
        for prefix in ("bare", "wrap"):
            out = tmp_path / f"tasks-{prefix}"
            answers.setdefault("items", []).append(_lines(_exchange(port, _raw(
                port, prefix, f"{prefix}-items", "POST", f"/items?out={out}", item,
                "Content-Type: application/json")), server))
            time.sleep(0.1)  # the answer's end and the tasks' work well apart
            let_go = time.time()
            Path(f"{out}.go").touch()
            # Gone before its body: the head declares 1,000 bytes, 4 come, then the close.
            with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
                sock.sendall(_raw(port, prefix, f"{prefix}-gone", "POST", "/items?out=x",
                                  b'{"na', "Content-Type: application/json", length=1000))
            answers.setdefault("websockets", []).append(
                [text.encode() for text in _websockets(port, prefix)])
        entries = _entries(collector, traces)
        done = [(tmp_path / f"tasks-wrap{suffix}") for suffix in ("", ".sync")]
        deadline = time.monotonic() + SAFETY
        while not all(path.exists() for path in done) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert answers["items"][0] == answers["items"][1]
    assert answers["items"][1][-1] == b'{"name":"n1"}'
    assert answers["websockets"][0] == answers["websockets"][1] == [
        b"echo: a", b"echo: b", b"refused 403"]
    assert [path.read_text() for path in done] == ["done", "done"]
    # Only the two http calls: no websocket was logged (nor anything else, by now).
    assert sorted(entries) == ["wrap-gone", "wrap-items"]
    assert len(collector.logs) == 2, describe(collector.logs)
    logged = entries["wrap-items"]
    assert logged["response"]["content"]["text"] == '{"name":"n1"}'
    started = datetime.strptime(logged["startedDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    ended = started.replace(tzinfo=timezone.utc).timestamp() + logged["time"] / 1000
    assert ended < let_go  # not when the background tasks ended
    gone = entries["wrap-gone"]["request"]
    assert gone["bodySize"] == 4 and gone["postData"]["text"] == '{"na'
