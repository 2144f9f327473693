"""A Bottle app wrapped in the metrics middleware, served by waitress.

    pip install . bottle waitress   # from the repository root
    readme-metrics collect          # in another terminal: the local Metrics API
    cd examples/bottle
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    waitress-serve --listen=127.0.0.1:8000 app:app
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

The server is given the wrapped app (``app``), not the Bottle object (``api``); with
``bottle.run()``, ``bottle.run(app, port=8000)``. The grouping function receives a
webob.Request; ``bottle.request`` is still this call's Bottle request when it runs, with
the attributes your authentication set on it (here ``bottle.request.caller``).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Optional

import bottle

from readme_metrics import MetricsApiConfig, MetricsMiddleware

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]

api = bottle.Bottle()  # with @bottle.route and no Bottle(): bottle.default_app()


@api.hook("before_request")
def authenticate() -> None:
    # Stand-in for real authentication (a session, a JWT check, ...).
    scheme, _, token = bottle.request.get_header("Authorization", "").partition(" ")
    bottle.request.caller = token if scheme.lower() == "bearer" and token else None


@api.get("/pets")
def list_pets() -> Any:
    name = bottle.request.query.get("name")
    return {"pets": [pet for pet in PETS if name in (None, pet["name"])]}


@api.post("/pets")
def add_pet() -> Any:
    body = bottle.request.json or {}
    if not isinstance(body.get("name"), str):
        bottle.response.status = 400
        return {"error": 'send {"name": ...}'}
    pet = {"id": len(PETS) + 1, "name": body["name"]}
    PETS.append(pet)
    bottle.response.status = 201
    return pet


def grouping(request: Any) -> Optional[dict[str, str]]:
    """Who is calling, from what ``authenticate`` set. None = do not log this call."""
    caller = getattr(bottle.request, "caller", None)
    if caller is None:
        return None
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": request.headers.get("X-User-Email", "")}


app = MetricsMiddleware(api, MetricsApiConfig(grouping_function=grouping))

# SIGTERM (kill, docker stop) as a normal exit, so that the logs still queued are sent:
# neither waitress nor bottle.run's wsgiref takes it, and Python would end without its
# exit hooks (README, Troubleshooting); gunicorn keeps its own graceful stop. Only the
# main thread may set a handler: imported off it, the module leaves signals alone.
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if __name__ == "__main__":
    import os

    # PORT as twelve-factor hosts (and ReadMe's cross-SDK test suites) set it.
    bottle.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
