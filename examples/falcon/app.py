"""A Falcon API wrapped in the metrics middleware: ``app`` (WSGI) and ``asgi_app`` (ASGI).

    pip install . falcon gunicorn uvicorn   # from the repository root
    readme-metrics collect                  # in another terminal: the local Metrics API
    cd examples/falcon
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    gunicorn --bind 127.0.0.1:8000 app:app
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

The same API under ASGI: ``uvicorn app:asgi_app --port 8000``. (To send to ReadMe
instead: your project's API key in README_API_KEY, no README_METRICS_SERVER.)

``falcon.App()`` is a WSGI app, wrapped by ``readme_metrics.MetricsMiddleware``;
``falcon.asgi.App()`` an ASGI one, wrapped by ``readme_metrics.asgi.MetricsMiddleware``.
Both hand the grouping function a webob.Request: Falcon's ``req.context`` does not reach
it, so the authentication middleware also puts the caller in ``req.env`` (WSGI) or
``req.scope`` (ASGI), which the grouping function reads as ``request.environ`` and
``request.environ["asgi.scope"]``.
"""

from __future__ import annotations

from typing import Any, Optional

import falcon
import falcon.asgi

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]
CALLER = "example.caller"  # the environ (WSGI) or scope (ASGI) key the caller goes in


def bearer_token(req: Any) -> Optional[str]:
    """Stand-in for real authentication (a session, a JWT check, ...)."""
    scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class Authenticate:
    def process_request(self, req: Any, resp: Any) -> None:
        req.context.caller = req.env[CALLER] = bearer_token(req)


class AuthenticateAsync:
    async def process_request(self, req: Any, resp: Any) -> None:
        req.context.caller = req.scope[CALLER] = bearer_token(req)


def _add_pet(body: Any, resp: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise falcon.HTTPBadRequest(description='send {"name": ...}')
    pet = {"id": len(PETS) + 1, "name": body["name"]}
    PETS.append(pet)
    resp.status, resp.media = falcon.HTTP_201, pet


def _list_pets(req: Any, resp: Any) -> None:
    name = req.get_param("name")
    resp.media = {"pets": [pet for pet in PETS if name in (None, pet["name"])]}


class Pets:
    def on_get(self, req: Any, resp: Any) -> None:
        _list_pets(req, resp)

    def on_post(self, req: Any, resp: Any) -> None:
        _add_pet(req.get_media(default_when_empty=None), resp)


class PetsAsync:
    async def on_get(self, req: Any, resp: Any) -> None:
        _list_pets(req, resp)

    async def on_post(self, req: Any, resp: Any) -> None:
        _add_pet(await req.get_media(default_when_empty=None), resp)


def grouping(request: Any) -> Optional[dict[str, str]]:
    """Who is calling, from what the middleware stored. None = do not log this call."""
    scope = request.environ.get("asgi.scope", request.environ)  # ASGI, else WSGI
    caller = scope.get(CALLER)
    if caller is None:
        return None
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": request.headers.get("X-User-Email", "")}


config = MetricsApiConfig(grouping_function=grouping)

api = falcon.App(middleware=[Authenticate()])
api.add_route("/pets", Pets())
app = MetricsMiddleware(api, config)

asgi_api = falcon.asgi.App(middleware=[AuthenticateAsync()])
asgi_api.add_route("/pets", PetsAsync())
asgi_app = AsgiMetricsMiddleware(asgi_api, config)
