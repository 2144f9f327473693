"""End to end for ASGI: FastAPI, Starlette and Django's ASGI handler under real servers.

Each case starts uvicorn, hypercorn (asyncio and trio workers) or granian in a subprocess
on a free 127.0.0.1 port,
serving an app of tests/support/asgi_apps.py configured only through the README_* environment,
and runs the very cases of the WSGI end-to-end tests (tests/test_e2e_servers.py) against
it, then the ASGI ones: server-sent events paced by the client, a body the app never
reads (sent in full, and declared longer than sent on a connection held open), an app
exception, lifespan, and the exit flush when the server is stopped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import requests

from readme_metrics.masking import mask
from tests.support.fake_api import Collector, Reply, basic_auth, describe, free_port
from tests.support.processes import end_stragglers, start_server
from tests.test_e2e_servers import (
    API_KEY,
    CALLER,
    DOCS,
    Client,
    check_big_body,
    check_echo,
    check_group,
    check_hello,
    check_stream,
    check_upload,
    entry_of,
    granian_2_8,
    log_for,
    serve,
    server_env,
    sign,
)
from tests.test_slow_client import SAFETY, normalized, read_answer

pytestmark = pytest.mark.e2e

try:
    import granian  # noqa: F401

    HAVE_GRANIAN = True
except ImportError:  # pragma: no cover - granian has no wheel for some platforms
    HAVE_GRANIAN = False
try:
    import trio  # noqa: F401

    HAVE_TRIO = True
except ImportError:  # pragma: no cover - in the test extra
    HAVE_TRIO = False

#: uvicorn's default ``--loop auto`` takes uvloop where it is installed (the test extra
#: has it, as ``uvicorn[standard]`` has: what most FastAPI users run), so a uvicorn row
#: that names no loop runs on uvloop there, on asyncio's loop elsewhere; rows where the
#: loop matters name it (``--loop=asyncio`` keeps asyncio's covered).
HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None
NO_UVLOOP = pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop is not installed")
SERVERS: dict[str, Callable[[int, str], list[str]]] = {
    "uvicorn": lambda port, target: [
        sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
        "--no-access-log", target,
    ],
    "hypercorn": lambda port, target: [
        sys.executable, "-m", "hypercorn", f"--bind=127.0.0.1:{port}", target,
    ],
    # trio, not asyncio: the middleware must not rely on an asyncio loop (SPEC 7).
    "hypercorn-trio": lambda port, target: [
        sys.executable, "-m", "hypercorn", "--worker-class=trio", f"--bind=127.0.0.1:{port}",
        target,
    ],
    # Django Channels' server; no lifespan for Django's handler (it says so, and goes on).
    "daphne": lambda port, target: [
        sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), target,
    ],
    "granian": lambda port, target: [
        sys.executable, "-m", "granian", "--interface=asgi", "--host=127.0.0.1",
        f"--port={port}", "--workers=1", "--no-ws", target,
    ],
}
#: What a server needs beyond the test extra's core (both are in the test extra).
_MISSING = {"granian": None if HAVE_GRANIAN else "granian is not installed",
            "daphne": None if importlib.util.find_spec("daphne") else "daphne is not installed",
            "hypercorn-trio": None if HAVE_TRIO else "trio is not installed"}
SERVER_PARAMS = [
    pytest.param(name, id=name, marks=[pytest.mark.skipif(
        _MISSING.get(name) is not None, reason=_MISSING.get(name) or "")])
    for name in SERVERS
]
# Servers on which no asyncio loop runs (Django's ASGI handler needs one).
NOT_ASYNCIO = ("hypercorn-trio",)

# app attribute in tests.support.asgi_apps -> the type the grouping function must have received
APPS = {
    "fastapi": ("fastapi_app", "starlette.requests.Request"),
    "starlette": ("starlette_app", "starlette.requests.Request"),
    "django-asgi": ("django_asgi_app", "webob.request.Request"),
}
# Django's ASGI handler needs asyncio (asgiref): not under trio, bare either.
COMBINATIONS = [
    pytest.param(app, server.values[0], id=f"{app}-{server.id}", marks=server.marks)
    for server in SERVER_PARAMS for app in APPS
    if not (app == "django-asgi" and server.values[0] in NOT_ASYNCIO)
    # FastAPI is Starlette's ASGI path: under daphne, Starlette and Django are enough
    and not (app == "fastapi" and server.values[0] == "daphne")
]


def _env(collector: Collector, **extra: str) -> dict[str, str]:
    collector.get_v1 = lambda received: Reply(200, json.dumps({"baseUrl": DOCS}).encode())
    return server_env(collector, DJANGO_SETTINGS_MODULE="tests.support.asgi_apps", **extra)


def _wait_for_header(client: Client) -> None:
    """The docs URL is looked up off the request path: wait until responses carry it."""
    deadline = time.monotonic() + 10
    while "x-documentation-url" not in client.call("GET", "/hello").headers:
        assert time.monotonic() < deadline, "the docs URL was never looked up"
        time.sleep(0.02)


def check_sse(client: Client, collector: Collector, tmp_path: Path) -> None:
    """The app sends its second event only once the client has received the first."""
    barrier = tmp_path / f"sse-{time.monotonic_ns()}"
    response = client.call("GET", "/sse", params={"barrier": str(barrier)}, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    received = b""
    chunks = response.iter_content(chunk_size=None)
    for chunk in chunks:
        received += chunk
        if b"data: first\n\n" in received:
            break
    barrier.touch()  # had the first event been held back, the app would say "timeout"
    for chunk in chunks:
        received += chunk
    assert received == b"data: first\n\ndata: second\n\n"
    content = entry_of(log_for(collector, response))["response"]["content"]
    assert content == {"size": len(received), "mimeType": response.headers["content-type"],
                       "text": received.decode()}


def check_late_under_granian(request: dict[str, Any], sent: bytes, mime_type: str,
                             declared: Optional[int]) -> None:
    """The log of a body the app left unread that granian handed over only in part
    within the capture's grace: the first bytes sent, and the comment saying how many of
    the ``declared`` length (None: chunked) could be read without waiting.

    granian hands each message over from its own threads, one ``receive()`` at a time:
    on a loaded machine one can come after capture/asgi_receive.GRACE, which bounds the
    wait on purpose (a client that sent less than it declared is not waited for). Which
    messages come in time is the machine's scheduling, not the library's: what holds
    either way is that the log says what it got (flake25: 3 of 13 chunked bytes at a
    load of 16; the tests sent again until one log had it all, or let only the last
    chunk be late)."""
    text = request["postData"].get("text", "")
    assert sent.decode().startswith(text), f"not what was sent first: {text!r}"
    of = "a body of unknown length" if declared is None else f"{declared} bytes"
    assert (request["bodySize"], request["postData"]) == (len(text), {
        "mimeType": mime_type, "text": text,
        "comment": f"incomplete: {len(text)} of {of} could be read without waiting"})


def check_unread_body(client: Client, collector: Collector, port: int, server: str) -> None:
    """A body that arrived with the request, which the app never receives, is recorded.

    Sent in one write with the head, as most clients send a small body: what has
    arrived is read, what is still on its way is not waited for (check_short_body).
    Under trio too (hypercorn's trio worker). Under granian, the log may say it got
    part of it (check_late_under_granian).
    """
    body = json.dumps({"unread": True, "n": 7}).encode()
    answer = _raw_request(port, _head(client, "application/json", len(body)) + body)
    request = entry_of(log_for(collector, answer))["request"]
    client.logged += 1
    whole = (len(body), {"mimeType": "application/json", "text": body.decode()})
    if server == "granian" and (request["bodySize"], request["postData"]) != whole:
        check_late_under_granian(request, body, "application/json", len(body))
    else:
        assert (request["bodySize"], request["postData"]) == whole


def check_exception(client: Client, collector: Collector) -> None:
    """An app exception reaches the server unchanged (its 500) and is logged as 500."""
    before = len(collector.logs)
    # On its own connection: after an app error the server may close the one it used.
    response = requests.get(f"{client.base}/boom", timeout=30, headers={
        "X-Api-Key": str(client.session.headers["X-Api-Key"]), "X-Trace": "boom"})
    assert response.status_code == 500
    client.logged += 1
    # The server answered, not the app: no x-documentation-url to find the log by.
    deadline = time.monotonic() + 10
    while True:
        found = [log for log in collector.logs[before:]
                 if any(h["value"] == "boom" for h in entry_of(log)["request"]["headers"])]
        if found:
            break
        assert time.monotonic() < deadline, "the failed request was not logged"
        time.sleep(0.02)
    assert len(found) == 1 and entry_of(found[0])["response"]["status"] == 500


def _head(client: Client, content_type: str, length: int) -> bytes:
    caller = str(client.session.headers["X-Api-Key"])
    return (f"POST /noread HTTP/1.1\r\nHost: {client.base[7:]}\r\nX-Api-Key: {caller}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


class _Answer:
    """The parts of a raw HTTP answer that log_for and the checks read."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.content = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_code = int(lines[0].split()[1])
        self.headers = dict(line.split(": ", 1) for line in lines[1:])
        self.headers = {k.lower(): v for k, v in self.headers.items()}


def _raw_request(port: int, data: bytes) -> Any:
    """Send ``data`` in one write and read the answer of /noread, the connection held
    open (a server waiting for the rest of a body would never answer: the timeout fails
    the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        answer = b""
        while not answer.endswith(b"not read"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {answer!r}"
            answer += chunk
    response = _Answer(answer)
    assert (response.status_code, response.content) == (200, b"not read")
    return response


def check_short_body(client: Client, collector: Collector, port: int, server: str) -> None:
    """A client declaring more than it sends gets the answer at once; the log says so."""
    answer = _raw_request(port, _head(client, "text/plain", 100000) + b"abc")
    request = entry_of(log_for(collector, answer))["request"]
    client.logged += 1
    assert request["bodySize"] == 3  # SPEC 4: the bytes received (of 100000 declared)
    assert request["postData"]["text"] == "abc"
    assert "incomplete" in request["postData"]["comment"]
    # The server is free: the next request is answered.
    assert client.call("GET", "/hello").status_code == 200


@pytest.mark.parametrize(("app", "server"), COMBINATIONS)
def test_framework_under_server(
    collector: Collector, tmp_path: Path, app: str, server: str
) -> None:
    attribute, kind = APPS[app]
    port = free_port()
    argv = SERVERS[server](port, f"tests.support.asgi_apps:{attribute}")
    with serve(argv, _env(collector), tmp_path, port) as base:
        client = Client(base)
        response = client.call("GET", "/nolog", logged=False)
        assert response.status_code == 200
        assert "x-documentation-url" not in response.headers
        _wait_for_header(client)

        check_hello(client, collector, kind)
        check_group(log_for(collector, client.call("GET", "/hello")), kind)
        check_echo(client, collector, kind)
        check_big_body(client, collector, kind)
        check_upload(client, collector, kind)
        check_stream(client, collector, kind, tmp_path)
        if app != "django-asgi":  # the ASGI-only endpoints of tests/support/asgi_apps.py
            check_sse(client, collector, tmp_path)
            check_unread_body(client, collector, port, server)
            if server != "daphne":  # daphne calls the app once the whole body is in,
                # bare too: a client sending less than it declared gets no answer
                check_short_body(client, collector, port, server)
            check_exception(client, collector)
            # daphne has no lifespan protocol: the app's startup never runs, bare too
            assert client.call("GET", "/started").text == ("0" if server == "daphne" else "1")

        logs = collector.wait_for_logs(client.logged)
        assert len(logs) == client.logged, describe(logs)
        assert len({log["_id"] for log in logs}) == client.logged
        lookups = [g for g in collector.gets if g.path == "/v1"]
        assert [g.headers.get("Authorization") for g in lookups] == [
            basic_auth(API_KEY)]
        client.close()


def _raw_requests(port: int, barrier: Path) -> dict[str, bytes]:
    """One request of each kind the apps serve, as bytes, each closing its connection."""
    def raw(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
        head = {"Host": f"127.0.0.1:{port}", "X-Api-Key": CALLER, "Connection": "close",
                **headers}
        if body and "Transfer-Encoding" not in head:
            head["Content-Length"] = str(len(body))
        lines = "".join(f"{name.replace('_', '-')}: {value}\r\n"
                        for name, value in head.items())
        return f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + body

    form = requests.Request("POST", "http://x/upload", data={"field": "välue"}, files={
        "file": ("data.bin", bytes(range(256)), "application/octet-stream")}).prepare()
    assert isinstance(form.body, bytes)
    body = json.dumps({"name": "Zoë", "n": 1}).encode()
    return {
        "hello": raw("GET", "/hello?name=J%C3%BCrgen+M"),
        "echo": raw("POST", "/echo", body, Content_Type="application/json"),
        "chunked": raw("POST", "/echo", b"5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
                       Content_Type="application/json", Transfer_Encoding="chunked"),
        "upload": raw("POST", "/upload", form.body,
                      Content_Type=str(form.headers["Content-Type"])),
        "noread": raw("POST", "/noread", body, Content_Type="application/json"),
        "stream": raw("GET", f"/stream?barrier={barrier}"),
        "sse": raw("GET", f"/sse?barrier={barrier}"),
        "boom": raw("GET", "/boom"),
        "nolog": raw("GET", "/nolog"),
    }


def _answers(server: str, attribute: str, collector: Collector, tmp_path: Path
             ) -> dict[str, list[bytes]]:
    """Each raw request's answer from ``attribute`` under ``server`` (Date, Server and
    x-documentation-url left out)."""
    port = free_port()
    barrier = tmp_path / "barrier"
    barrier.touch()  # the streams need not wait for the client
    answers = {}
    with serve(SERVERS[server](port, f"tests.support.asgi_apps:{attribute}"),
               _env(collector), tmp_path, port):
        for name, data in _raw_requests(port, barrier).items():
            with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
                sock.sendall(data)
                answer = read_answer(sock, SAFETY)
            assert answer.startswith(b"HTTP/1.1 "), (name, answer)
            answers[name] = normalized(answer, server)
    return answers


@pytest.mark.parametrize(("app", "server"), [
    *[pytest.param(app, param.values[0], id=f"{app}-{param.id}", marks=param.marks)
      for param in SERVER_PARAMS if param.values[0] in NOT_ASYNCIO
      for app in ("fastapi", "starlette")],
    *[pytest.param("starlette", "daphne", id="starlette-daphne", marks=param.marks)
      for param in SERVER_PARAMS if param.values[0] == "daphne"],
])
def test_answers_are_the_bare_apps_byte_for_byte(
        collector: Collector, tmp_path: Path, server: str, app: str) -> None:
    """Under trio and daphne too: the wrapped app's answers are the bare app's, and each
    is logged."""
    bare = _answers(server, f"{app}_bare", collector, tmp_path)
    assert collector.logs == []
    wrapped = _answers(server, f"{app}_app", collector, tmp_path)
    assert wrapped == bare
    # hypercorn sends no reason phrase, daphne does
    assert bare["hello"][0] in (b"HTTP/1.1 200 ", b"HTTP/1.1 200 OK")
    assert bare["boom"][0].startswith(b"HTTP/1.1 500")
    # daphne (Twisted's HTTP) refuses a chunked request body itself: the app never runs
    refused = {"chunked"} if server == "daphne" else set()
    if refused:
        assert bare["chunked"][0] == b"HTTP/1.1 400 Bad Request", bare["chunked"]
    else:
        assert bare["chunked"][-1] == b'{"a":1}', bare["chunked"]
    assert b"second" in bare["sse"][-1]
    logs = collector.wait_for_only(len(wrapped) - 1 - len(refused))  # all but /nolog
    assert {entry_of(log)["request"]["url"].split("?")[0].rsplit("/", 1)[1]
            for log in logs} == {"hello", "echo", "upload", "noread", "stream", "sse", "boom"}


# granian before 2.8 hangs in its own shutdown about half the time (a bare FastAPI app
# too, SIGINT or SIGTERM; seen with 2.5.7 under Python 3.9), so the exit cannot be waited
# for there.
_HANGS_AT_STOP = pytest.mark.skipif(HAVE_GRANIAN and not granian_2_8(),
                                    reason="granian < 2.8 hangs at a stop signal, bare too")


def _stop_marks(server: Any) -> list[Any]:
    return [*server.marks, *([_HANGS_AT_STOP] if server.values[0] == "granian" else [])]


# daphne: SIGTERM only (the time a server start costs; SIGINT ends it the same way)
@pytest.mark.parametrize(("app", "server", "stop"), [
    *[pytest.param(app, server.values[0], stop, id=f"{prefix}{server.id}-{stop.name}",
                   marks=_stop_marks(server))
      for stop in (signal.SIGINT, signal.SIGTERM)
      for app, prefix in (("fastapi_app", ""), ("django_asgi_app", "no-lifespan-"))
      for server in SERVER_PARAMS
      # Django's ASGI handler raises on the lifespan scope (no lifespan support): the
      # servers then never send it lifespan.shutdown. It needs asyncio.
      if not (app == "django_asgi_app" and server.values[0] in NOT_ASYNCIO)
      and not (server.values[0] == "daphne" and stop == signal.SIGINT)],
])
def test_exit_flush_when_the_server_stops(
    collector: Collector, tmp_path: Path, app: str, server: str, stop: signal.Signals
) -> None:
    """Background mode, nothing due before exit: stopping the server delivers every log,
    whether or not the app supports the lifespan protocol."""
    assert_exit_flush(collector, tmp_path, app, server, stop)


def assert_exit_flush(collector: Collector, tmp_path: Path, app: str, server: str,
                      stop: signal.Signals) -> None:
    """Serve ``app`` of tests.support.asgi_apps, call ``/hello`` 7 times (nothing due
    before the exit), stop the server with ``stop``: every log arrives."""
    client, said = stop_after_calls(collector, tmp_path, app, server, stop, 7)
    logs = collector.wait_for_logs(client.logged)
    assert len(logs) == client.logged == 7, said


def stop_after_calls(collector: Collector, tmp_path: Path, app: str, server: str,
                     stop: signal.Signals, calls: int, **env: str) -> tuple[Client, str]:
    """Serve ``app`` of tests.support.asgi_apps (``env`` added to its environment), call
    ``/hello`` ``calls`` times (nothing due before the exit), stop the server with
    ``stop`` and wait for it to end; the client and what the server printed."""
    port = free_port()
    env = _env(collector, README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="100",
               README_FLUSH_INTERVAL="600", README_BASE_LOG_URL=DOCS, **env)
    argv = SERVERS[server](port, f"tests.support.asgi_apps:{app}")
    output = tmp_path / "server.log"
    with output.open("wb") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            client = Client(_wait_ready(process, port, output))
            for i in range(calls):
                assert client.call("GET", f"/hello?name={i}").status_code == 200
            client.close()
            assert collector.logs == []  # nothing was due before the exit
            process.send_signal(stop)  # Ctrl-C, or how Docker, systemd and Kubernetes stop it
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            end_stragglers(process)
    return client, output.read_text(errors="replace")


def _wait_ready(process: subprocess.Popen[bytes], port: int, output: Path) -> str:
    """The server's base URL once it answers (fails with its output if it exits)."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, output.read_text(errors="replace")
        try:
            requests.options(f"{url}/nolog", timeout=2)  # OPTIONS is not logged
            return url
        # A Timeout too: hypercorn listens before its worker has loaded the app (9 s
        # under hypercorn-trio at a load average of 9), so the connection is taken and
        # the answer comes only then.
        except (requests.ConnectionError, requests.Timeout):
            assert time.monotonic() < deadline, output.read_text(errors="replace")
            time.sleep(0.05)


# -- the FastAPI examples, run as documented --------------------------------------------


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "fastapi"


def test_fastapi_example_logs_with_documentation_url(collector: Collector,
                                                     tmp_path: Path) -> None:
    port = free_port()
    env = _env(collector, README_BASE_LOG_URL=DOCS)
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), env["PYTHONPATH"]])
    headers = {"Authorization": f"Bearer {CALLER}"}
    with serve(SERVERS["uvicorn"](port, "app:app"), env, tmp_path, port) as base:
        assert "x-documentation-url" not in requests.get(f"{base}/pets").headers
        answers = [requests.get(f"{base}{path}", headers=headers, timeout=30)
                   for path in ("/pets", "/events?count=3")]
        answers.append(requests.post(f"{base}/pets", json={"name": "Nova"},
                                     headers=headers, timeout=30))
        assert [a.status_code for a in answers] == [200, 200, 201]
        assert answers[1].text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
        for response in answers:
            log = log_for(collector, response)
            assert log["group"]["id"] == mask(CALLER)
            assert entry_of(log)["response"]["content"]["text"] == response.text
        assert len(collector.wait_for_logs(3)) == 3


def test_fastapi_webhook_example_over_http(tmp_path: Path) -> None:
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env.update(README_API_KEY=API_KEY, PYTHONPATH=os.pathsep.join(
        [str(EXAMPLES), str(EXAMPLES.parent.parent)]))
    argv = SERVERS["uvicorn"](port, "webhooks:create_app") + ["--factory"]
    body = json.dumps({"email": "ana@example.com"}).encode()
    now = int(time.time() * 1000)
    with serve(argv, env, tmp_path, port) as base:
        def post(signature: Optional[str]) -> requests.Response:
            headers = {"Content-Type": "application/json"}
            if signature is not None:
                headers["readme-signature"] = signature
            return requests.post(f"{base}/webhook", data=body, headers=headers, timeout=30)

        cases = [(None, "Missing Signature"),
                 (sign(body, API_KEY, now - 40 * 60 * 1000), "Expired Signature"),
                 (sign(body, "rdme_wrong", now), "Invalid Signature")]
        for signature, error in cases:
            response = post(signature)
            assert (response.status_code, response.json()) == (401, {"error": error})
        response = post(sign(body, API_KEY, now))
        assert response.status_code == 200
        assert response.json()["email"] == "ana@example.com"


# -- a server told the app's mount point (--root-path), behind a proxy that strips it ----


ROOT_PATH_SERVERS = [param for param in SERVER_PARAMS
                     if param.values[0] in ("uvicorn", "hypercorn", "hypercorn-trio")]


@pytest.mark.parametrize(("app", "server"), [
    param for param in COMBINATIONS if param.values[1] in ("uvicorn", "hypercorn",
                                                           "hypercorn-trio")])
def test_root_path_is_in_the_logged_url(collector: Collector, tmp_path: Path, server: str,
                                        app: str) -> None:
    """``--root-path /api``: a proxy serves the app under /api and passes it ``/hello``.
    The URL logged is the one the client asked the proxy for, ``/api/hello``, under every
    server (uvicorn puts the root path in ``raw_path`` and ``path``, hypercorn in
    neither, so the apps themselves see ``/api/hello`` under one, ``/hello`` under the
    other)."""
    port = free_port()
    argv = [*SERVERS[server](port, f"tests.support.asgi_apps:{APPS[app][0]}"),
            "--root-path=/api"]
    with serve(argv, _env(collector, README_BASE_LOG_URL=DOCS), tmp_path, port) as base:
        client = Client(base)
        response = client.call("GET", "/hello?name=J%C3%BCrgen+M")
        assert response.json() == {"hello": "Jürgen M"}
        url = entry_of(log_for(collector, response))["request"]["url"]
        client.close()
    assert url == f"{base}/api/hello?name=J%C3%BCrgen+M"


@pytest.mark.parametrize("server", ROOT_PATH_SERVERS)
def test_what_is_sent_after_the_client_left_is_not_logged(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The client reads the first event and goes; the app, told so (``http.disconnect``),
    sends one more event and the end. The log shows what reached the client: uvicorn
    takes the late sends and drops them without a word."""
    port = free_port()
    argv = SERVERS[server](port, "tests.support.asgi_apps:late_sends_app")
    with serve(argv, _env(collector, README_BASE_LOG_URL=DOCS), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(f"GET /late HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         f"X-Api-Key: {CALLER}\r\n\r\n".encode())
            answer = b""
            while b"data: first" not in answer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {answer!r}"
                answer += chunk
        head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in head[1:])}
        log = log_for(collector, type("Answer", (), {"headers": headers})())
    content = entry_of(log)["response"]["content"]
    assert (content["size"], content["text"]) == (13, "data: first\n\n")
