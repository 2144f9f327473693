"""uvicorn or hypercorn's asyncio worker over TLS in a thread of the test's process, on
asyncio or uvloop, serving an app that answers without reading the body: bare at
``/bare``, wrapped elsewhere (tests/test_delivery78_close_notify_in_the_window.py,
tests/test_review150_tls_feed.py, tests/test_delivery83_tls_rest_with_notify.py).

In the test's process, so a test can patch the capture (``asgi_receive.GRACE``,
``past_body``) for the server's requests. The client side of these tests is
:mod:`tests.support.tls_bio`'s, the exchange they send :mod:`tests.support.tls_rest`'s.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE, wait_until
from tests.support.tls import Certificates, make_certificates
from tests.test_asgi_servers import NO_UVLOOP

SERVERS = pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
LOOPS = pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=NO_UVLOOP)])

#: (run the server, whether it listens, stop it)
Controls = tuple[Callable[[], None], Callable[[], bool], Callable[[], None]]


async def noread(scope: Any, receive: Any, send: Any) -> None:
    """Answers "ok" without reading the body."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _accepts(port: int) -> bool:
    """Whether a server listens on 127.0.0.1:``port`` (a connection, closed at once)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=PATIENCE).close()
        return True
    except OSError:
        return False


def _loop_factory(loop: str) -> Any:
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def hypercorn_controls(app: Any, port: int, loop: str, certificates: Certificates
                       ) -> Controls:
    """(run hypercorn's asyncio worker on ``loop`` over TLS, whether it listens, stop it)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(certificates.cert), str(certificates.key)
    stop: list[Any] = []

    async def main() -> None:
        stopped = asyncio.Event()
        stop.append((asyncio.get_running_loop(), stopped))
        await serve(app, config, shutdown_trigger=stopped.wait)  # type: ignore[arg-type]

    def ended() -> None:
        if stop:
            running, stopped = stop[0]
            running.call_soon_threadsafe(stopped.set)

    def run() -> None:
        running = _loop_factory(loop)()
        try:
            running.run_until_complete(main())
        finally:
            running.close()

    return run, lambda: bool(stop) and _accepts(port), ended


def uvicorn_controls(app: Any, port: int, loop: str, certificates: Certificates
                     ) -> Controls:
    """(run uvicorn on ``loop`` over TLS, whether it listens, stop it)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", loop=loop,
        ssl_certfile=str(certificates.cert), ssl_keyfile=str(certificates.key)))

    def ended() -> None:
        server.should_exit = True

    return server.run, lambda: bool(server.started), ended


@contextmanager
def served(server: str, loop: str, collector: Collector, tmp_path: Path, name: str
           ) -> Iterator[tuple[int, ssl.SSLContext]]:
    """``server`` (``loop``) over TLS in a thread, with certificates made in ``tmp_path``:
    :func:`noread` bare at /bare, wrapped elsewhere (its logs to ``collector``, the API
    key ``<name>-key``, a grouping of its own, one log a POST); (its port, a client
    context that trusts its certificate). Stopped, and the middleware closed, after."""
    certificates = make_certificates(tmp_path)
    wrapped = MetricsMiddleware(noread, MetricsApiConfig(
        api_key=f"{name}-key", grouping_function=lambda request: {"api_key": name},
        metrics_api=collector.url, buffer_length=1))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        bare = scope.get("path", "").startswith("/bare")
        await (noread if bare else wrapped)(scope, receive, send)

    port = free_port()
    controls = uvicorn_controls if server == "uvicorn" else hypercorn_controls
    run, listening, ended = controls(app, port, loop, certificates)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_until(listening)
        yield port, ssl.create_default_context(cafile=str(certificates.ca))
    finally:
        ended()
        thread.join(PATIENCE)
        wrapped.close()
