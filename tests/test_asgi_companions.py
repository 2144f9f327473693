"""SPEC 8's companions for ASGI apps: ``readme_metrics.asgi.RequestIdMiddleware`` and
``readme_metrics.asgi.CORSMiddleware``, the twins of the WSGI ones (SPEC 1: "a WSGI
middleware library, with an ASGI twin"; SPEC 8: "usable alone or stacked with metrics").

Through Starlette's test client (a real FastAPI app, its thread pool and background
tasks), then end to end under uvicorn and hypercorn, stacked with the metrics middleware
and a real collector: the metrics log carries the request id, and the CORS headers the
browser got.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import BackgroundTasks, FastAPI, Request, WebSocket
from starlette.testclient import TestClient

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import CORSMiddleware, RequestIdMiddleware
from readme_metrics.capture.asgi_servers import own_send
from readme_metrics.fastapi import ReadMeMetricsMiddleware
from readme_metrics.masking import mask
from readme_metrics.request_id import ENVIRON_KEY, RequestIdFilter, current_request_id
from tests.support.asgi import body_messages, http_scope, run
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.processes import run_command
from tests.test_asgi import Asgi2App, asgi2_function
from tests.test_capture_asgi_servers import SERVER_SEND, closure_around
from tests.test_e2e_servers import serve, server_env

SITE = "https://app.example.com"
TOKEN = "tok_live_5ecret_9876"


def _id_app(seen: list[Any]) -> FastAPI:
    """Endpoints that report the id as each part of an ASGI app sees it."""
    app = FastAPI()
    log = logging.getLogger("tests.asgi_companions")

    @app.get("/async")
    async def in_async(request: Request) -> dict[str, Any]:
        async def child() -> str | None:
            await asyncio.sleep(0)
            return current_request_id()

        task = await asyncio.create_task(child())
        log.warning("in the app")
        return {"context": current_request_id(), "scope": request.scope.get(ENVIRON_KEY),
                "header": request.headers.get("x-request-id"), "task": task}

    @app.get("/sync")
    def in_thread() -> dict[str, Any]:  # run in Starlette's thread pool
        return {"context": current_request_id(), "thread": threading.current_thread().name}

    @app.get("/background")
    async def background(tasks: BackgroundTasks) -> dict[str, Any]:
        async def later() -> None:
            await asyncio.sleep(0.01)
            seen.append(current_request_id())

        tasks.add_task(later)
        return {"context": current_request_id()}

    @app.get("/sets-its-own")
    async def sets_its_own() -> Any:
        from starlette.responses import PlainTextResponse
        return PlainTextResponse("x", headers={"X-Request-Id": "from-the-app"})

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"{current_request_id()} {websocket.scope.get(ENVIRON_KEY)}")
        await websocket.close()

    return app


@pytest.fixture
def seen() -> list[Any]:
    return []


@pytest.fixture
def id_client(seen: list[Any]) -> Any:
    with TestClient(RequestIdMiddleware(_id_app(seen))) as client:
        yield client


def _is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def test_a_sane_incoming_id_reaches_every_part_of_the_app(id_client: Any) -> None:
    answer = id_client.get("/async", headers={"X-Request-Id": "req-42"})
    assert answer.json() == {"context": "req-42", "scope": "req-42", "header": "req-42",
                             "task": "req-42"}
    assert answer.headers.get_list("x-request-id") == ["req-42"]
    assert current_request_id() is None  # reset once the request is over


@pytest.mark.parametrize("incoming", [
    pytest.param("a" * 201, id="too-long"),
    pytest.param("abc\x01def", id="control-char"),
    pytest.param("caf\xc3\xa9", id="non-ascii"),  # UTF-8 bytes, as sent
    pytest.param("a b", id="space"),
    pytest.param("", id="empty"),
])
def test_an_invalid_incoming_id_is_replaced_by_a_uuid4(id_client: Any, incoming: str) -> None:
    answer = id_client.get("/async", headers={"X-Request-Id": incoming.encode("latin-1")})
    made = answer.json()["context"]
    assert _is_uuid4(made)
    assert answer.json()["header"] == made == answer.headers["x-request-id"]


def test_a_header_injection_attempt_never_reaches_the_response() -> None:
    """Raw bytes, as a hostile client would send them past any client library."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [
        (b"x-request-id", b"abc\r\nSet-Cookie: pwned=1")]}
    asyncio.run(RequestIdMiddleware(app)(scope, receive, send))
    headers = sent[0]["headers"]
    assert [name for name, _ in headers] == [b"x-request-id"]
    assert _is_uuid4(headers[0][1].decode())
    assert scope["headers"] == [(b"x-request-id", b"abc\r\nSet-Cookie: pwned=1")]  # untouched


def test_the_thread_of_a_plain_endpoint_sees_the_id(id_client: Any) -> None:
    answer = id_client.get("/sync", headers={"X-Request-Id": "in-a-thread"})
    assert answer.json()["context"] == "in-a-thread"
    assert answer.json()["thread"] != threading.current_thread().name


def test_a_background_task_sees_the_id_of_its_request(id_client: Any,
                                                      seen: list[Any]) -> None:
    for number in range(3):
        id_client.get("/background", headers={"X-Request-Id": f"bg-{number}"})
    assert seen == ["bg-0", "bg-1", "bg-2"]


def test_the_app_cannot_set_a_second_id(id_client: Any) -> None:
    answer = id_client.get("/sets-its-own", headers={"X-Request-Id": "mine"})
    assert answer.headers.get_list("x-request-id") == ["mine"]


def test_concurrent_requests_never_mix_ids() -> None:
    """Forty requests interleaved on one event loop, each awaiting in the middle."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        before = current_request_id()
        await asyncio.sleep(0.001 * (hash(before) % 7))
        body = f"{before} {current_request_id()}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    wrapped = RequestIdMiddleware(app)

    async def one(number: int) -> tuple[str, bytes]:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/",
                 "headers": [(b"x-request-id", f"id-{number}".encode())]}
        await wrapped(scope, receive, send)
        return f"id-{number}", sent[1]["body"]

    async def main() -> list[tuple[str, bytes]]:
        return await asyncio.gather(*(one(number) for number in range(40)))

    for wanted, body in asyncio.run(main()):
        assert body == f"{wanted} {wanted}".encode()


def test_websocket_gets_an_id_and_lifespan_passes_through(seen: list[Any]) -> None:
    started: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        started.append(str(current_request_id()))
        yield

    app = _id_app(seen)
    app.router.lifespan_context = lifespan
    with TestClient(RequestIdMiddleware(app)) as client, client.websocket_connect(
            "/ws", headers={"X-Request-Id": "ws-1"}) as websocket:
        assert websocket.receive_text() == "ws-1 ws-1"
    assert started == ["None"]


def test_the_filter_puts_the_id_and_masked_token_on_the_apps_records(
        id_client: Any) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s %(auth_token)s %(message)s"))
    logger = logging.getLogger("tests.asgi_companions")
    logger.addHandler(handler)
    try:
        id_client.get("/async", headers={"X-Request-Id": "logged-1",
                                         "Authorization": f"Bearer {TOKEN}"})
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"logged-1 {mask(TOKEN)} in the app\n"
    assert TOKEN not in stream.getvalue()


def test_request_id_header_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                seen: list[Any]) -> None:
    monkeypatch.setenv("REQUEST_ID_HEADER", "X-Correlation-Id")
    with TestClient(RequestIdMiddleware(_id_app(seen))) as client:
        answer = client.get("/sync", headers={"X-Correlation-Id": "corr-1"})
    assert answer.json()["context"] == "corr-1"
    assert answer.headers["x-correlation-id"] == "corr-1"
    assert "x-request-id" not in answer.headers
    monkeypatch.setenv("REQUEST_ID_HEADER", "not a header")
    with pytest.raises(ValueError, match="REQUEST_ID_HEADER"):
        RequestIdMiddleware(_id_app(seen))


_DJANGO = """\
import json, threading
import django
from django.conf import settings
settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="x",
                   MIDDLEWARE=[])
django.setup()
from django.core.asgi import get_asgi_application
from django.http import JsonResponse
from django.urls import path
from starlette.testclient import TestClient
from readme_metrics.asgi import RequestIdMiddleware
from readme_metrics.request_id import current_request_id

def plain(request):  # run by asgiref in a thread
    return JsonResponse({"id": current_request_id(), "meta": request.META["HTTP_X_REQUEST_ID"],
                         "thread": threading.current_thread() is not threading.main_thread()})

async def coroutine(request):
    return JsonResponse({"id": current_request_id()})

urlpatterns = [path("plain", plain), path("coroutine", coroutine)]
client = TestClient(RequestIdMiddleware(get_asgi_application()))
print(json.dumps([client.get("/plain", headers={"X-Request-Id": "dj-1"}).json(),
                  client.get("/coroutine", headers={"X-Request-Id": "dj-2"}).json()]))
"""


def test_django_asgi_views_plain_and_async_see_the_id(tmp_path: Path) -> None:
    """Django's ASGI handler runs plain views in asgiref's thread: the id is there too.
    In a process of its own: Django's settings are configured once per process."""
    script = tmp_path / "django_ids.py"
    script.write_text(_DJANGO)
    done = run_command([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"id": "dj-1", "meta": "dj-1", "thread": True},
                                       {"id": "dj-2"}]


# --- CORS ---------------------------------------------------------------------------

def _cors_app(calls: list[str]) -> FastAPI:
    app = FastAPI()

    @app.api_route("/things", methods=["GET", "OPTIONS"])
    async def things(request: Request) -> Any:
        from starlette.responses import PlainTextResponse
        calls.append(request.method)
        return PlainTextResponse("things", headers={"Vary": "Accept-Encoding"})

    return app


@pytest.fixture
def calls() -> list[str]:
    return []


def test_a_preflight_from_an_allowed_origin_is_answered_without_the_app(
        calls: list[str]) -> None:
    with TestClient(CORSMiddleware(_cors_app(calls), allowed_origins=[SITE])) as client:
        answer = client.options("/things", headers={
            "Origin": SITE, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Api-Key, Content-Type"})
    assert calls == []
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["access-control-allow-origin"] == SITE
    assert answer.headers["access-control-allow-methods"] == \
        "GET, HEAD, POST, PUT, PATCH, DELETE"
    assert answer.headers["access-control-allow-headers"] == "X-Api-Key, Content-Type"
    assert answer.headers["access-control-max-age"] == "600"
    assert answer.headers["vary"] == "Origin"
    assert "content-length" not in answer.headers


@pytest.mark.parametrize(("origin", "allowed"), [
    pytest.param(SITE, True, id="allowed"),
    pytest.param("https://APP.example.com:443", True, id="normalised"),
    pytest.param("https://evil.example.com", False, id="other"),
    pytest.param("https://app.example.com.evil.com", False, id="look-alike"),
    pytest.param("null", False, id="null"),
    pytest.param(None, False, id="no-origin"),
])
def test_actual_requests_get_cors_headers_for_allowed_origins_only(
        calls: list[str], origin: str | None, allowed: bool) -> None:
    headers = {"Origin": origin} if origin else {}
    with TestClient(CORSMiddleware(_cors_app(calls), allowed_origins=[SITE],
                                   expose_headers="X-Request-Id")) as client:
        answer = client.get("/things", headers=headers)
    assert answer.text == "things"
    assert answer.headers["vary"] == "Accept-Encoding, Origin"  # kept and extended
    assert answer.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert answer.headers.get("access-control-expose-headers") == (
        "X-Request-Id" if allowed else None)


def test_a_preflight_from_another_origin_reaches_the_app(calls: list[str]) -> None:
    with TestClient(CORSMiddleware(_cors_app(calls), allowed_origins=[SITE])) as client:
        answer = client.options("/things", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "PUT"})
    assert calls == ["OPTIONS"]
    assert "access-control-allow-origin" not in answer.headers
    assert answer.headers["vary"] == "Accept-Encoding, Origin"


@pytest.mark.parametrize(("variable", "origin", "allowed"), [
    pytest.param(f" {SITE} , http://localhost:3000 ,", SITE, True, id="spaces-trailing-comma"),
    pytest.param(f"{SITE},,", SITE, True, id="empty-entries"),
    pytest.param("*", "https://any.example", True, id="star"),
    pytest.param("", SITE, False, id="empty"),
])
def test_cors_allowed_from_the_environment(monkeypatch: pytest.MonkeyPatch, calls: list[str],
                                           variable: str, origin: str, allowed: bool) -> None:
    monkeypatch.setenv("CORS_ALLOWED", variable)
    with TestClient(CORSMiddleware(_cors_app(calls))) as client:
        answer = client.get("/things", headers={"Origin": origin})
    wanted = ("*" if variable == "*" else origin) if allowed else None
    assert answer.headers.get("access-control-allow-origin") == wanted
    # No origin configured: nothing depends on Origin, the app's answer passes unchanged.
    assert answer.headers["vary"] == ("Accept-Encoding, Origin" if variable else
                                      "Accept-Encoding")


def test_with_no_origin_configured_the_app_gets_the_servers_own_scope_and_send() -> None:
    """Nothing depends on Origin then: not a message is touched, not a call added."""
    got: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        got.extend([scope, receive, send])

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"origin", b"x")]}
    asyncio.run(CORSMiddleware(app)(scope, receive, send))
    assert got[0] is scope and got[1] is receive and got[2] is send


def test_an_invalid_cors_allowed_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "https://a.example https://b.example")
    with pytest.raises(ValueError, match=r"CORS_ALLOWED.*from the environment"):
        CORSMiddleware(_cors_app([]))


def test_cors_passes_websockets_and_lifespan_through(seen: list[Any]) -> None:
    with TestClient(CORSMiddleware(_id_app(seen), allowed_origins=[SITE])) as client, \
            client.websocket_connect("/ws", headers={"Origin": SITE}) as websocket:
        assert websocket.receive_text() == "None None"


def test_the_metrics_middleware_still_finds_the_servers_send_through_both() -> None:
    """Both wrap ``send`` in closures, which the metrics middleware inside looks through
    for the server's own (to log a client gone before the answer as 499); an object of
    their own would hide it (README, Troubleshooting)."""
    found: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        found.append(own_send(send))

    app = RequestIdMiddleware(CORSMiddleware(inner, allowed_origins=[SITE]))

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [
        (b"origin", SITE.encode())]}
    asyncio.run(app(scope, receive, closure_around(SERVER_SEND)))  # as Starlette's
    assert found == [SERVER_SEND]


# --- stacked with metrics, under real servers ----------------------------------------

_STACK = """\
import os
from fastapi import FastAPI
from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import CORSMiddleware, RequestIdMiddleware
from readme_metrics.capture.asgi_servers import own_send
from readme_metrics.fastapi import ReadMeMetricsMiddleware
from readme_metrics.request_id import current_request_id

app = FastAPI()

@app.get("/hello")
def hello():
    return {"id": current_request_id()}

config = MetricsApiConfig(grouping_function=lambda request: {"api_key": "caller-key-1234"})
if os.environ["ORDER"] == "cors-inside":   # the documented order: added first = innermost
    app.add_middleware(CORSMiddleware)
    app.add_middleware(ReadMeMetricsMiddleware, config=config)
else:
    app.add_middleware(ReadMeMetricsMiddleware, config=config)
    app.add_middleware(CORSMiddleware)
app.add_middleware(RequestIdMiddleware)
"""

_SERVERS = {
    "uvicorn": lambda port: [sys.executable, "-m", "uvicorn", "--host=127.0.0.1",
                             f"--port={port}", "--no-access-log", "stack:app"],
    "hypercorn": lambda port: [sys.executable, "-m", "hypercorn",
                               f"--bind=127.0.0.1:{port}", "stack:app"],
    # No asyncio loop: the companions rely on context variables only.
    "hypercorn-trio": lambda port: [sys.executable, "-m", "hypercorn", "--worker-class=trio",
                                    f"--bind=127.0.0.1:{port}", "stack:app"],
}


def _headers_of(log: dict[str, Any], part: str) -> dict[str, str]:
    entry = log["request"]["log"]["entries"][0]
    return {h["name"].lower(): h["value"] for h in entry[part]["headers"]}


@pytest.mark.e2e
@pytest.mark.parametrize("order", ["cors-inside", "cors-outside"])
@pytest.mark.parametrize("server", sorted(_SERVERS))
def test_stacked_with_metrics_under_a_real_server(
        collector: Collector, tmp_path: Path, server: str, order: str) -> None:
    (tmp_path / "stack.py").write_text(textwrap.dedent(_STACK))
    port = free_port()
    env = server_env(collector, CORS_ALLOWED=f"{SITE}, ", ORDER=order,
                     CORS_EXPOSE_HEADERS="X-Request-Id")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    with serve(_SERVERS[server](port), env, tmp_path, port) as base:
        preflight = requests.options(f"{base}/hello", timeout=30, headers={
            "Origin": SITE, "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == SITE
        answer = requests.get(f"{base}/hello", timeout=30, headers={
            "Origin": SITE, "X-Request-Id": "e2e-id-1", "Authorization": f"Bearer {TOKEN}"})
        assert answer.json() == {"id": "e2e-id-1"}  # a plain endpoint: in a thread
        assert answer.headers["x-request-id"] == "e2e-id-1"
        assert answer.headers["access-control-allow-origin"] == SITE
        made = requests.get(f"{base}/hello", timeout=30).headers["x-request-id"]
        logs = collector.wait_for_logs(2)
    assert len(logs) == 2  # the preflight (OPTIONS) is not logged
    first, second = logs
    assert _headers_of(first, "request")["x-request-id"] == "e2e-id-1"
    assert _headers_of(second, "request")["x-request-id"] == made and _is_uuid4(made)
    response = _headers_of(first, "response")
    # Inside metrics, the log shows the CORS headers the browser got; outside, not.
    assert ("access-control-allow-origin" in response) is (order == "cors-inside")
    assert TOKEN not in repr(logs)


def test_stacked_in_process_with_the_metrics_middleware(collector: Collector) -> None:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, Any]:
        return {"id": current_request_id()}

    app.add_middleware(CORSMiddleware, allowed_origins=[SITE])
    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key="rdme_test_key", grouping_function=lambda request: {"api_key": "k-1234"},
        metrics_api=collector.url, background_worker_mode=False,
        timeout=INLINE_TIMEOUT, buffer_length=1))
    app.add_middleware(RequestIdMiddleware)
    with TestClient(app) as client:
        answer = client.get("/hello", headers={"Origin": SITE, "X-Request-Id": "inproc"})
    assert answer.json() == {"id": "inproc"}
    (log,) = collector.wait_for_logs(1)
    assert _headers_of(log, "request")["x-request-id"] == "inproc"
    assert _headers_of(log, "response")["access-control-allow-origin"] == SITE


@pytest.mark.parametrize("companion", [RequestIdMiddleware, CORSMiddleware],
                         ids=["request-id", "cors"])
@pytest.mark.parametrize("app", [Asgi2App, asgi2_function], ids=["class", "function"])
def test_an_asgi2_app_is_served_through_a_companion(companion: Any, app: Any) -> None:
    """As through the metrics middleware (test_asgi): uvicorn and daphne serve an ASGI 2
    app bare; each companion called it with (scope, receive, send), a TypeError."""
    done = asyncio.run(run(companion(app), http_scope("POST"), body_messages(b"hi")))
    assert done.error is None
    assert (done.start["status"], done.body) == (201, b"asgi2:hi")
