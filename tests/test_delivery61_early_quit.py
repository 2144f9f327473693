"""delivery61: gunicorn's quick stop (SIGINT to its master: SIGQUIT to each worker)
reaching a ``uvicorn_worker.UvicornWorker`` after uvicorn-worker set its loop's SIGQUIT
handler but before the ASGI lifespan's startup reached the middleware
(:func:`~readme_metrics.delivery.uvicorn_worker_quit.watch_quit`).

That handler is gunicorn's ``Worker.handle_exit``: ``alive = False``, which uvicorn's
server never reads. Before, ``watch_quit`` set its own handler for the next SIGQUIT
only: the worker served on until gunicorn SIGKILLed it at ``--graceful-timeout``, its
lifespan's shutdown never run, every log it had queued lost, nothing said (here: 3
calls answered after the stop, 0 delivered, "was sent SIGKILL" 60 s on). Now
``watch_quit`` finds ``alive`` already False and stops the server at once: it runs
its lifespan's shutdown and ends.

Real parts: gunicorn with uvicorn-worker in a subprocess, a FastAPI app with the
middleware, the loopback collector. The site holds its lifespan's startup in an outer
ASGI wrapper (before the middleware's) until the worker's SIGQUIT came (its ``alive``
False): files and the signal as gates, nothing timed.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support.command import app_environment
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import end_stragglers, start_server

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn_worker")

APP = textwrap.dedent("""
    import asyncio
    import os
    import signal
    from pathlib import Path

    from fastapi import FastAPI

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    inner = FastAPI()
    inner.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        metrics_api=os.environ["METRICS_URL"], buffer_length=1000, flush_interval=600,
        grouping_function=lambda request: {"api_key": "caller"}))


    @inner.get("/pets/{n}")
    async def pet(n: int) -> dict:
        return {"pet": n}


    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            # uvicorn-worker's SIGQUIT handler is set (its _serve, before the server's
            # serve); the middleware has not seen the lifespan's startup yet. Held until
            # the worker's SIGQUIT came: gunicorn's Worker.handle_exit, alive = False.
            worker = signal.getsignal(signal.SIGUSR1).__self__
            Path(os.environ["HELD"]).write_text(str(os.getpid()))
            while worker.alive:
                await asyncio.sleep(0.02)
        await inner(scope, receive, send)
""")

#: gunicorn's ``--graceful-timeout`` here: the master SIGKILLs a worker still alive then
#: (before the fix, this one always: it served on). One that stops ends well before.
GRACEFUL = 60
#: How long the worker may take to boot on a loaded machine (blackbox18: 18 to 25 s).
BOOT = 120.0
STARTED = "Application startup complete."


@pytest.mark.e2e
def test_quick_stop_before_the_lifespan_startup_stops_the_worker(
        collector: Collector, tmp_path: Path) -> None:
    """SIGINT to the master while the worker's lifespan startup is held (its SIGQUIT
    came): the worker stops once it started, not at the SIGKILL; any call it answered
    meanwhile is delivered by its lifespan's shutdown."""
    (tmp_path / "d61_app.py").write_text(APP)
    held = tmp_path / "held"
    port = free_port()
    env = app_environment(collector.url, tmp_path, METRICS_URL=collector.url,
                          HELD=str(held))
    argv = [sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
            "--workers=1", f"--graceful-timeout={GRACEFUL}", f"--bind=127.0.0.1:{port}",
            "d61_app:app"]
    said = tmp_path / "said"
    with said.open("wb") as out:
        process = start_server(argv, cwd=tmp_path, env=env, stdout=out, stderr=out)

    def err() -> str:
        return said.read_text(errors="replace")

    answered = []
    try:
        wait_until(lambda: held.exists() or process.poll() is not None, BOOT)
        assert held.exists(), err()
        process.send_signal(signal.SIGINT)  # the master's quick stop: SIGQUIT to it
        wait_until(lambda: STARTED in err() or process.poll() is not None, BOOT)
        for n in range(3):  # served only by a worker serving on past its stop
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/pets/{n}", timeout=10)
            except requests.RequestException:
                continue
            answered.append(answer.json()["pet"])
        process.wait(GRACEFUL + 30)
    finally:
        process.kill()
        end_stragglers(process)
        process.wait(10)
    delivered = sorted(int(log["request"]["log"]["entries"][0]["request"]["url"]
                           .rsplit("/", 1)[1]) for log in collector.logs
                       if "/pets/" in log["request"]["log"]["entries"][0]["request"]["url"])
    assert "was sent SIGKILL" not in err(), (answered, delivered, err())
    assert "Application shutdown complete." in err(), err()
    assert delivered == sorted(answered), err()
