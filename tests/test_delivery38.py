"""delivery38: ``uvicorn --lifespan off`` lost the logs waiting at a SIGTERM, saying nothing.

uvicorn's ``Server.capture_signals`` takes SIGTERM for its graceful shutdown, then puts
back the handler it found (the default one) and raises the signal again: the default
action ends the process with no ``atexit`` and no ``threading`` exit hook, so neither
of the library's exit closes runs. With the lifespan on, its shutdown flushes; off, the
middleware never hears of the stop. Each middleware now says so at its first request
under such a server (``WITHOUT_LIFESPAN``); the loss itself stays (README's
Troubleshooting row has the workaround)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.test_exit14_findings import _connect, _get, _serve, _stopped

_APP = """\
from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware


async def inner(scope, receive, send):
    if scope["type"] != "http":
        raise RuntimeError("no lifespan here")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}))
"""


@pytest.mark.e2e
@pytest.mark.parametrize("lifespan", ["off", "auto"])
def test_uvicorn_lifespan_off_says_the_sigterm_loss_at_the_first_request(
        collector: Collector, tmp_path: Path, lifespan: str) -> None:
    """3 requests, the flush interval 600 s away, SIGTERM. --lifespan auto: the
    lifespan's flush sends the 3, nothing said. --lifespan off: uvicorn ends by its
    re-raised SIGTERM (exit status -15), none of the 3 reach the API, and before the fix
    nothing said so (failed before: the off case)."""
    from readme_metrics.capture.asgi_no_lifespan import WITHOUT_LIFESPAN

    process, port = _serve(
        tmp_path, collector, "d38_app", _APP,
        lambda port: ["uvicorn", "--host=127.0.0.1", f"--port={port}",
                      f"--lifespan={lifespan}", "--no-access-log", "d38_app:app"])
    with _connect(port, process) as sock:
        for n in range(3):
            _get(sock, f"/{n}")
            got = b""
            while not got.endswith(b"ok"):
                chunk = sock.recv(65536)
                assert chunk, got
                got += chunk
    _, err = _stopped(process, signal.SIGTERM, 60)
    if lifespan == "off":
        assert process.returncode == -signal.SIGTERM, err
        assert collector.logs == [], err  # the loss the line tells of
        assert err.count(WITHOUT_LIFESPAN) == 1, err
    else:
        assert len(collector.wait_for_logs(3, timeout=30)) == 3, err
        assert WITHOUT_LIFESPAN not in err, err


@pytest.mark.parametrize(("scopes", "warned"), [
    pytest.param([{"type": "http", "state": {}}] * 3, 1, id="uvicorn-lifespan-off"),
    pytest.param([{"type": "lifespan"}] + [{"type": "http", "state": {}}] * 3, 0,
                 id="lifespan-seen-first"),
    # Starlette's TestClient: a state, and its extension; no server's.
    pytest.param([{"type": "http", "state": {},
                   "extensions": {"http.response.debug": {}}}], 0, id="testclient"),
    pytest.param([{"type": "http"}], 0, id="no-state"),
])
def test_the_line_is_per_middleware_and_deterministic(
        caplog: pytest.LogCaptureFixture, scopes: list[Any], warned: int) -> None:
    """uvicorn.lifespan.off imported (as in a process where an earlier test served
    in-process with lifespan="off"): each checker says it at most once, a new one again."""
    pytest.importorskip("uvicorn")
    import uvicorn.lifespan.off  # noqa: F401

    from readme_metrics.capture.asgi_no_lifespan import WITHOUT_LIFESPAN, LifespanCheck

    logger = logging.getLogger("readme_metrics.test_delivery38")
    for _ in range(2):  # two middlewares: each its own line
        check = LifespanCheck(logger)
        with caplog.at_level(logging.WARNING, logger=logger.name):
            caplog.clear()
            for scope in scopes:
                if scope["type"] == "lifespan":
                    check.lifespan()
                elif check.pending:
                    check.first_request(scope)
        said = [r for r in caplog.records if r.getMessage() == WITHOUT_LIFESPAN]
        assert len(said) == warned, caplog.records


def test_troubleshooting_quotes_the_line_as_it_is_said() -> None:
    from readme_metrics.capture.asgi_no_lifespan import WITHOUT_LIFESPAN
    from tests.test_readme import troubleshooting_row

    assert WITHOUT_LIFESPAN in troubleshooting_row(
        'a warning "readme_metrics: served by uvicorn with --lifespan off')
