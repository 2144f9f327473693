"""FastAPI's own routes bare and wrapped side by side (as tests/support/asgi_cases.py),
the wrapped app with ``app.add_middleware``, for tests/test_odds14_findings.py.

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations
(the pydantic body, BackgroundTasks, WebSocket) as objects of this module.

- ``POST /items?out=<path>``: a pydantic body; BackgroundTasks after the answer:
  asgi_cases' ``background_work`` (waits for ``<path>.go``, writes ``done`` to ``<path>``)
  and a sync task writing ``done`` to ``<path>.sync``.
- ``/ws``: a websocket echoing text until "bye". ``/ws-deny``: closed before it is
  accepted (the server answers 403).
"""

import time
from typing import Any, Dict

from fastapi import BackgroundTasks, FastAPI, WebSocket
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.support.asgi_apps import Lazy
from tests.support.asgi_cases import _trace, background_work, grouping


class Item(BaseModel):
    name: str


def _sync_work(out: str) -> None:
    time.sleep(0.05)
    with open(out + ".sync", "w") as done:
        done.write("done")


def _app(wrapped: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/items")
    async def items(item: Item, out: str, tasks: BackgroundTasks) -> Dict[str, str]:
        tasks.add_task(background_work, out)
        tasks.add_task(_sync_work, out)
        return {"name": item.name}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                break
            await websocket.send_text("echo: " + text)
        await websocket.close()

    @app.websocket("/ws-deny")
    async def ws_deny(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    if wrapped:
        from readme_metrics import MetricsApiConfig
        from readme_metrics.fastapi import ReadMeMetricsMiddleware

        app.add_middleware(ReadMeMetricsMiddleware,
                           config=MetricsApiConfig(grouping_function=grouping))
    return app


def _root() -> Starlette:
    wrapped = _app(wrapped=True)

    async def traced(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _trace(scope["headers"])
        await wrapped(scope, receive, send)

    return Starlette(routes=[Mount("/bare", _app(wrapped=False)), Mount("/wrap", traced)])


root = Lazy(_root)
