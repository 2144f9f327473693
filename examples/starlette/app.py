"""A Starlette app with the metrics middleware, first in ``middleware=[...]``.

    pip install ".[fastapi]" uvicorn   # from the repository root
    readme-metrics collect             # in another terminal: the local Metrics API
    cd examples/starlette
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    uvicorn app:app --port 8000
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

The grouping function receives Starlette's ``Request`` once the app starts its
response: ``request.user``, set by Starlette's ``AuthenticationMiddleware`` (listed after
the metrics middleware, so it runs inside it), is there, as is ``request.state``.
"""

from __future__ import annotations

from typing import Any, Optional

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from readme_metrics import MetricsApiConfig
from readme_metrics.starlette import ReadMeMetricsMiddleware

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


class BearerToken(AuthenticationBackend):
    """Stand-in for real authentication (a session, a JWT check, ...)."""

    async def authenticate(self, conn: Any) -> Any:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(token)


async def pets(request: Request) -> JSONResponse:
    if request.method == "GET":
        name = request.query_params.get("name")
        return JSONResponse({"pets": [p for p in PETS if name in (None, p["name"])]})
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return JSONResponse({"error": 'send {"name": ...}'}, status_code=400)
    pet = {"id": len(PETS) + 1, "name": body["name"]}
    PETS.append(pet)
    return JSONResponse(pet, status_code=201)


async def grouping(request: Request) -> Optional[dict[str, str]]:
    """Who is calling, from ``request.user``. None = do not log this call."""
    if not request.user.is_authenticated:
        return None
    caller = request.user.username
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": request.headers.get("X-User-Email", "")}


app = Starlette(
    routes=[Route("/pets", pets, methods=["GET", "POST"])],
    middleware=[
        # First: it runs first, so it sees every answer as the client gets it.
        Middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(grouping_function=grouping)),
        Middleware(AuthenticationMiddleware, backend=BearerToken()),
    ],
)
