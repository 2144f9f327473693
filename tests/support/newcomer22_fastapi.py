"""newcomer22: a FastAPI app wrapped whole with the ASGI middleware (``app``), beside
the bare ``api`` (``uvicorn mod:api``)."""

from typing import Any

from fastapi import FastAPI

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware


def grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


api = FastAPI()


@api.get("/")
async def hello() -> Any:
    return {"hello": "world"}


app = MetricsMiddleware(api, MetricsApiConfig(grouping_function=grouping))
