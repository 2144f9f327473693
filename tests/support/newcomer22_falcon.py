"""newcomer22: Falcon's WSGI app wrapped as README's Falcon row says (``app``), beside
the bare ``api`` a newcomer gives the server by mistake (``gunicorn mod:api``)."""

from typing import Any

import falcon

from readme_metrics import MetricsApiConfig, MetricsMiddleware


class Hello:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"hello": "world"}


def grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


api = falcon.App()
api.add_route("/", Hello())
app = MetricsMiddleware(api, MetricsApiConfig(grouping_function=grouping))
