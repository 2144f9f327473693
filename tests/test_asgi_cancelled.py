"""A cancelled ASGI exchange still shows up as one log (SPEC sections 5 and 7).

An anyio cancel scope around this middleware on asyncio (a timeout middleware using
``anyio.fail_after`` or ``move_on_after``, a task group) cancels every await of the
cancelled task, not only the first: the middleware's own awaits after the app's
cancellation (draining an unread body, an ``async`` grouping function, an inline send)
were cancelled too, and the log was lost without a trace (``captured`` stayed 0). trio
does the same to every checkpoint (hypercorn --worker-class trio): an ``async`` grouping
function called after a cancellation lost the log there. The cancellation still reaches
the server unchanged.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import anyio
import pytest
import requests

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.cli.collector.validation import validate_log
from readme_metrics.masking import mask
from tests.support.asgi import http_scope
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.processes import end_stragglers, start_server
from tests.test_asgi_servers import _wait_ready as wait_until_serving
from tests.test_e2e_servers import server_env


async def _streams_then_waits(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first", "more_body": True})
    await anyio.sleep(30)


async def _waits_before_answering(scope: Any, receive: Any, send: Any) -> None:
    await anyio.sleep(30)


async def _async_grouping(request: Any) -> dict[str, str]:
    await anyio.sleep(0)
    return {"api_key": "cancelled-caller"}


def _grouping(request: Any) -> dict[str, str]:
    return {"api_key": "cancelled-caller"}


async def _until_logged(middleware: MetricsMiddleware, *also: str) -> None:
    """A server's loop runs on: give the finish the loop until the log is queued (or
    counted as one of ``also``)."""
    with anyio.move_on_after(10):
        while sum(middleware.stats[name] for name in ("captured", *also)) < 1:
            await anyio.sleep(0.01)


def _the_log(middleware: MetricsMiddleware, collector: Collector,
             serve: Callable[[], Any]) -> dict[str, Any]:
    """Run ``serve`` (its cancellation must go through) and give the one log's entry, a
    valid log with the 3 bytes of the body that arrived."""
    try:
        assert anyio.run(serve, backend="asyncio")  # the cancellation went through
        assert middleware.flush(10)
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert len(logs) == 1 and validate_log(logs[0]) == []
    entry: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["postData"]["text"] == "abc"
    return entry


@pytest.mark.parametrize(("app", "grouping"), [
    pytest.param(_streams_then_waits, _grouping, id="mid-stream"),
    pytest.param(_waits_before_answering, _grouping, id="before-the-answer"),
    pytest.param(_waits_before_answering, _async_grouping, id="async-grouping"),
])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_cancelled_exchange_is_logged(collector: Collector, app: Callable[..., Any],
                                        grouping: Callable[..., Any],
                                        background: bool) -> None:
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=grouping,
        background_worker_mode=background, buffer_length=1))
    # Three bytes of a declared ten: the body is unread and incomplete when cancelled.
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    async def serve() -> bool:
        with anyio.move_on_after(0.2) as scope:
            await middleware(http_scope("POST", headers=[(b"content-length", b"10")]),
                             receive, send)
        await _until_logged(middleware)
        return scope.cancelled_caught

    entry = _the_log(middleware, collector, serve)
    assert entry["response"]["status"] == (200 if app is _streams_then_waits else 500)


async def _answers_without_reading(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_an_exchange_cancelled_while_its_log_is_made_is_logged(
        collector: Collector, background: bool) -> None:
    """The log is made when the response's last message has gone out, reading what
    arrived of an unread body first: a cancellation then (the timeout of a cancel scope
    around the app) went through that one finish, and the log was lost (captured 0)."""
    middleware = MetricsMiddleware(_answers_without_reading, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=_grouping,
        background_worker_mode=background, buffer_length=1))
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}]
    answered: list[bool] = []
    scopes: list[anyio.CancelScope] = []  # made on the loop

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if answered:  # the log's read of the rest: the timeout fires now
            scopes[0].cancel()
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.append(True)

    async def serve() -> bool:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            await middleware(http_scope("POST", headers=[(b"content-length", b"10")]),
                             receive, send)
        return scope.cancelled_caught

    assert _the_log(middleware, collector, serve)["response"]["status"] == 200


def test_the_cancellation_reaches_the_caller_unchanged(collector: Collector) -> None:
    middleware = MetricsMiddleware(_waits_before_answering, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=_grouping,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def serve() -> None:
        task = asyncio.ensure_future(middleware(http_scope(), receive, send))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(serve())
        assert len(collector.wait_for_logs(1)) == 1
    finally:
        middleware.close()


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_cancelled_exchange_is_logged_under_trio(collector: Collector,
                                                   background: bool) -> None:
    """No response started: the ``async`` grouping function is awaited after the cancel."""
    trio = pytest.importorskip("trio")
    middleware = MetricsMiddleware(_waits_before_answering, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url,
        grouping_function=_async_grouping, background_worker_mode=background,
        buffer_length=1))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def serve() -> bool:
        with trio.move_on_after(0.2) as scope:
            await middleware(http_scope(), receive, send)
        with trio.move_on_after(10):
            while middleware.stats["captured"] < 1:
                await trio.sleep(0.01)
        return bool(scope.cancelled_caught)

    try:
        assert trio.run(serve)
        assert middleware.flush(10)
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert len(logs) == 1 and validate_log(logs[0]) == []
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == 500


async def _answers_at_once(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _answers_nothing(scope: Any, receive: Any, send: Any) -> None:
    """Returns without a response (the server answers 500): the log is made after."""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("app", [
    pytest.param(_answers_at_once, id="at-the-start"),
    pytest.param(_answers_nothing, id="after-the-app"),
])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_cancelled_while_an_async_grouping_function_runs(
        collector: Collector, backend: str, app: Callable[..., Any], background: bool
) -> None:
    """The grouping function is awaited when the response starts (or, when the app
    answered nothing, once it returned): a cancellation while it ran cancelled it too,
    and the exchange was counted as skipped, its log lost. It runs to its end now (once),
    the log has its group and status 500 (no response went out), and the cancellation
    still reaches the caller."""
    if backend == "trio":
        pytest.importorskip("trio")
    scopes: list[anyio.CancelScope] = []
    calls: list[str] = []

    async def grouping(request: Any) -> dict[str, str]:
        calls.append("called")
        scopes[0].cancel()  # the client is gone, or the server shuts down, now
        await anyio.sleep(0)
        await anyio.sleep(0)
        return {"api_key": "cancelled-caller"}

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=grouping,
        background_worker_mode=background, buffer_length=1))
    raised: list[BaseException] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        await anyio.sleep(0)  # a server's send is a checkpoint

    async def serve() -> bool:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            try:
                await middleware(http_scope(), receive, send)
            except BaseException as exc:
                raised.append(exc)
                raise
            # trio shields the function: the cancellation comes at the next checkpoint.
            await anyio.sleep(0)
        await _until_logged(middleware, "skipped")
        return scope.cancelled_caught

    try:
        assert anyio.run(serve, backend=backend)
        assert middleware.flush(10)
        assert middleware.stats["skipped"] == 0
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert calls == ["called"]
    if backend == "asyncio":  # at once, from the middleware, as it came
        assert len(raised) == 1 and isinstance(raised[0], asyncio.CancelledError)
    assert len(logs) == 1 and validate_log(logs[0]) == []
    assert logs[0]["group"]["id"] == mask("cancelled-caller")
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == 500


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_cancelled_while_the_unread_body_is_read_after_the_app(
        collector: Collector, background: bool) -> None:
    """The app returned without reading the body or answering: the log, made then,
    reads what arrived of the body before it calls the grouping function. Cancelled
    there, the log was lost."""
    middleware = MetricsMiddleware(_answers_nothing, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=_grouping,
        background_worker_mode=background, buffer_length=1))
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}]
    scopes: list[anyio.CancelScope] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        scopes[0].cancel()  # the log's read of the rest: cancelled now
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    async def serve() -> bool:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            await middleware(http_scope("POST", headers=[(b"content-length", b"10")]),
                             receive, send)
        await _until_logged(middleware)
        return scope.cancelled_caught

    entry = _the_log(middleware, collector, serve)
    assert entry["response"]["status"] == 500


_SHUTDOWN_APP = '''
import asyncio
import pathlib

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from tests.support.side_by_side import lifespan

HERE = pathlib.Path(__file__).parent


async def grouping(request):
    (HERE / "entered").touch()
    while not (HERE / "release").exists():
        await asyncio.sleep(0.01)
    return {"api_key": "shutdown-caller"}


async def bare(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": []})
    except asyncio.CancelledError:
        (HERE / "cancelled").touch()
        raise
    await send({"type": "http.response.body", "body": b"ok"})


app = MetricsMiddleware(bare, MetricsApiConfig(grouping_function=grouping))
'''


def get_in_a_thread(url: str, answers: list[Any]) -> threading.Thread:
    """A client's GET of ``url``, started; the answer (or the error) lands in
    ``answers``."""

    def call() -> None:
        try:
            answers.append(requests.get(url, timeout=60))
        except requests.RequestException as exc:
            answers.append(exc)

    client = threading.Thread(target=call)
    client.start()
    return client


def _wait_for(path: Path, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, output.read_text()
        time.sleep(0.01)


@pytest.mark.e2e
def test_a_request_cancelled_by_uvicorns_shutdown_is_logged(
        collector: Collector, tmp_path: Path) -> None:
    """uvicorn, stopped while a request waits in an ``async`` grouping function, cancels
    it once its graceful timeout is over, then ends the lifespan (where the queue is
    flushed): the grouping function was cancelled with the request and the log lost. It
    runs on now, and the flush at the lifespan's end waits for the log (shutdown_timeout
    at most)."""
    (tmp_path / "shutdown_app.py").write_text(_SHUTDOWN_APP)
    port = free_port()
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="100", README_FLUSH_INTERVAL="600")
    argv = [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
            "--no-access-log", "--timeout-graceful-shutdown=1", "shutdown_app:app"]
    output = tmp_path / "server.log"
    answers: list[Any] = []
    with output.open("wb") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            client = get_in_a_thread(f"{wait_until_serving(process, port, output)}/slow",
                                     answers)
            _wait_for(tmp_path / "entered", process, output)
            process.send_signal(signal.SIGTERM)
            _wait_for(tmp_path / "cancelled", process, output)  # the request is cancelled
            (tmp_path / "release").touch()  # only now may the grouping function end
            process.wait(30)
            client.join(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            end_stragglers(process)
    # uvicorn answers a cancelled request 500, as the log says.
    assert len(answers) == 1 and answers[0].status_code == 500, answers
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, output.read_text(errors="replace")
    assert logs[0]["group"]["id"] == mask("shutdown-caller")
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == 500
