"""blackbox13's FastAPI app (bare, or wrapped with BB13_WRAP=1) for benchmarks/blackbox13_sweep.py,
benchmarks/blackbox13_servers.py and tests/test_blackbox13_findings.py.

No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.
"""

import asyncio
import os
import time
from typing import Any, AsyncIterator, Dict

from fastapi import BackgroundTasks, Depends, FastAPI, File, Form, Request, UploadFile, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.middleware.wsgi import WSGIMiddleware

WRAP = os.environ.get("BB13_WRAP") == "1"
OUT = os.environ.get("BB13_OUT", "/tmp/bb13")


def grouping(request: Any) -> Dict[str, str]:
    return {"api_key": "caller-1", "label": "c"}


def _config() -> Any:
    from readme_metrics import MetricsApiConfig

    return MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"],
        metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example",
        buffer_length=5,
        flush_interval=0.2,
        grouping_function=grouping,
    )


class Item(BaseModel):
    name: str
    n: int


def mark(name: str) -> None:
    with open(os.path.join(OUT, name), "a") as out:
        out.write(f"{time.time()}\n")


async def body_dep(request: Request) -> bytes:
    return await request.body()


async def yield_dep() -> AsyncIterator[str]:
    yield "x"
    await asyncio.sleep(0.3)
    mark("yield-cleanup")


def raising_task() -> None:
    raise RuntimeError("task failed")


async def slow_task(tag: str, seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)
    mark("task-" + tag)


app = FastAPI()


@app.post("/dep-body")
async def dep_body(request: Request, first: bytes = Depends(body_dep)) -> Dict[str, Any]:
    again = await request.body()
    return {"first": len(first), "again": len(again), "same": first == again}


@app.get("/dep-yield")
async def dep_yield(value: str = Depends(yield_dep)) -> Dict[str, str]:
    return {"value": value}


@app.post("/items")
async def items(item: Item) -> Dict[str, Any]:
    return {"name": item.name, "n": item.n}


@app.post("/upload")
async def upload(file: UploadFile) -> Dict[str, Any]:
    size = 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
    return {"name": file.filename, "size": size}


@app.post("/form")
async def form(name: str = Form(), file: UploadFile = File()) -> Dict[str, Any]:  # noqa: B008
    data = await file.read()
    return {"name": name, "file": file.filename, "size": len(data)}


@app.get("/bg")
async def bg(tasks: BackgroundTasks, tag: str = "t", seconds: float = 1.0) -> Dict[str, str]:
    tasks.add_task(slow_task, tag, seconds)
    return {"queued": tag}


def sync_task(seconds: float) -> None:
    time.sleep(seconds)
    mark("sync-task")


@app.get("/bg-sync")
async def bg_sync(tasks: BackgroundTasks, seconds: float = 1.0) -> Dict[str, str]:
    tasks.add_task(sync_task, seconds)
    return {"queued": "sync"}


@app.get("/bg-raise")
async def bg_raise(tasks: BackgroundTasks) -> Dict[str, str]:
    tasks.add_task(raising_task)
    return {"queued": "raise"}


@app.get("/stream")
async def stream(n: int = 20, delay: float = 0.0) -> StreamingResponse:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(n):
            if delay:
                await asyncio.sleep(delay)
            yield f"data: {i}\n\n".encode()

    return StreamingResponse(gen(), media_type="text/event-stream")


@app.get("/slow")
async def slow(ms: int = 250) -> Dict[str, int]:
    await asyncio.sleep(ms / 1000)
    return {"ms": ms}


@app.get("/hold")
async def hold(name: str) -> Dict[str, str]:
    """Marks ``<OUT>/held-<name>`` on entry, then answers once ``<OUT>/go`` exists (30 s
    at most): a test holds calls in the app without timing them."""
    mark("held-" + name)
    for _ in range(1500):
        if os.path.exists(os.path.join(OUT, "go")):
            break
        await asyncio.sleep(0.02)
    return {"held": name}


@app.get("/lag")
async def lag() -> Dict[str, float]:
    start = time.perf_counter()
    await asyncio.sleep(0.01)
    return {"lag_ms": (time.perf_counter() - start - 0.01) * 1000}


@app.get("/where")
async def where(request: Request) -> Dict[str, Any]:
    return {
        "root_path": request.scope.get("root_path", ""),
        "path": request.url.path,
        "url": str(request.url),
        "client": request.client.host if request.client else None,
    }


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("boom")


@app.get("/teapot")
async def teapot() -> None:
    from fastapi import HTTPException

    raise HTTPException(status_code=418, detail="short and stout")


async def stream_dep(request: Request) -> int:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return size


@app.post("/dep-stream")
async def dep_stream(request: Request, size: int = Depends(stream_dep)) -> Dict[str, Any]:
    try:
        again = len(await request.body())
    except Exception as error:  # Starlette: the stream was consumed
        return {"size": size, "again": repr(error)}
    return {"size": size, "again": again}


@app.get("/big")
async def big(n: int = 2000) -> StreamingResponse:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(n):
            yield bytes([65 + i % 26]) * 10240

    return StreamingResponse(gen(), media_type="application/octet-stream")


@app.get("/file")
async def file() -> Any:
    from fastapi.responses import FileResponse

    path = os.path.join(OUT, "file.bin")
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as out:
            out.write(b"0123456789" * 500_000)
        os.replace(path + ".tmp", path)
    return FileResponse(path)


@app.post("/raw")
async def raw(request: Request) -> Dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        text = await websocket.receive_text()
        if text == "bye":
            break
        await websocket.send_text("echo: " + text)
    await websocket.close()


sub = FastAPI()


@sub.get("/hi")
async def sub_hi(request: Request) -> Dict[str, str]:
    return {"sub": "hi", "root_path": request.scope.get("root_path", "")}


app.mount("/sub", sub)


def _flask() -> Any:
    from flask import Flask
    from flask import request as freq

    flask_app = Flask("bb13flask")

    @flask_app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        return {"got": len(freq.get_data()), "path": freq.path, "script": freq.script_root}

    if WRAP:
        from readme_metrics.flask_readme import ReadMeMetrics

        ReadMeMetrics(_config(), flask_app)
    return flask_app


app.mount("/flask", WSGIMiddleware(_flask()))

if os.environ.get("BB13_BASEHTTP") == "1":

    @app.middleware("http")
    async def timing(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-took"] = "1"
        return response


if WRAP:
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app.add_middleware(ReadMeMetricsMiddleware, config=_config())
