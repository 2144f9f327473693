"""A FastAPI app with the metrics middleware: ``app.add_middleware(ReadMeMetricsMiddleware)``.

    pip install ".[fastapi]" fastapi uvicorn     # from the repository root
    readme-metrics collect                       # in another terminal
    cd examples/fastapi
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    uvicorn app:app --port 8000
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

The grouping function receives Starlette's ``Request`` and runs once, when the app
starts its response: whatever the app's dependencies stored in ``request.state`` (here
the caller that ``authenticate`` found) is there. It may be ``async`` and may
``await request.body()``.
"""

import asyncio
from typing import Any, AsyncIterator, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from readme_metrics import MetricsApiConfig
from readme_metrics.fastapi import ReadMeMetricsMiddleware

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


async def authenticate(request: Request) -> None:
    """Stand-in for real authentication (OAuth2PasswordBearer, an API key check, ...)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    request.state.caller = token if scheme.lower() == "bearer" and token else None


async def grouping(request: Request) -> Optional[dict[str, str]]:
    """Who is calling, from what the auth dependency stored. None = do not log."""
    caller = getattr(request.state, "caller", None)
    if caller is None:
        return None
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": request.headers.get("x-user-email", "")}


app = FastAPI(dependencies=[Depends(authenticate)])
app.add_middleware(ReadMeMetricsMiddleware,
                   config=MetricsApiConfig(grouping_function=grouping))


@app.get("/pets")
async def list_pets() -> dict[str, Any]:
    return {"pets": PETS}


@app.post("/pets", status_code=201)
async def add_pet(pet: dict[str, Any]) -> dict[str, Any]:
    created = {"id": len(PETS) + 1, "name": str(pet.get("name", ""))}
    PETS.append(created)
    return created


@app.get("/events")
async def events(count: int = Query(3, ge=0, le=100)) -> StreamingResponse:
    """Server-sent events: each event reaches the client when it is sent, and the whole
    stream is logged once it ends."""

    async def stream() -> AsyncIterator[bytes]:
        for i in range(count):
            yield f"data: {i}\n\n".encode()
            await asyncio.sleep(0.1)

    return StreamingResponse(stream(), media_type="text/event-stream")
