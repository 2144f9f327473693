"""newcomer22: Falcon's ASGI app wrapped (``app``), beside the bare ``api``
(``uvicorn mod:api``)."""

from typing import Any

import falcon.asgi

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware


class Hello:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"hello": "world"}


def grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


api = falcon.asgi.App()
api.add_route("/", Hello())
app = MetricsMiddleware(api, MetricsApiConfig(grouping_function=grouping))
