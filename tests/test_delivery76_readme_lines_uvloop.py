"""delivery76 (2): a site whose SIGTERM handler raises (``sys.exit(0)``) while uvicorn
serves on uvloop: the raise may land inside uvloop's protocol callback (``eof_received``,
``data_received``), which takes any exception for the transport's ("Fatal error on
transport"): the SystemExit was swallowed, the worker served on and its supervisor
waited for ever (one run of benchmarks/delivery73_group_stop.py on main, whose site sets
that handler unguarded). README's lines are guarded (``signal.getsignal(signal.SIGTERM)
is signal.SIG_DFL``): is their handler ever in force while uvicorn serves? No: uvicorn
imports the app inside ``serve`` under ``--workers N`` (uvicorn's own handler there: the
lines do nothing, newcomer15), and before it in a single process, where ``serve`` puts
its own handler in their place until it ended. Checked with README's very lines, uvicorn
on uvloop, the handler read by a call while serving. Passes before and after: README's
advice is not the setup that hung (a check, not a fix)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.test_readme import sigterm_advice

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("uvloop") is None,
    reason="uvicorn and uvloop are not installed")]

SITE = textwrap.dedent("""
    import asyncio, json, signal
    {advice}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        handler = signal.getsignal(signal.SIGTERM)
        body = json.dumps({{
            "handler": getattr(handler, "__qualname__", repr(handler)),
            "loop": type(asyncio.get_running_loop()).__module__}}).encode()
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": body}})
""")


@pytest.mark.parametrize("workers", [[], ["--workers=2"]])
def test_readmes_sigterm_lines_are_not_in_force_while_uvicorn_serves_on_uvloop(
        tmp_path: Path, workers: list[str]) -> None:
    (tmp_path / "lines_site.py").write_text(SITE.format(advice=sigterm_advice()))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(
        [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
         "--loop=uvloop", "--lifespan=off", *workers, "lines_site:app"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(base + "/"), 120)
        seen = [requests.get(base + "/", timeout=30).json() for _ in range(6)]
    finally:
        kill_server(process)
    assert {answer["loop"] for answer in seen} == {"uvloop"}, seen
    assert {answer["handler"] for answer in seen} == {"Server.handle_exit"}, seen
