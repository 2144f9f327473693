"""A Pyramid app wrapped in the metrics middleware, served by waitress.

    pip install . pyramid waitress   # from the repository root
    readme-metrics collect           # in another terminal: the local Metrics API
    cd examples/pyramid
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    waitress-serve --listen=127.0.0.1:8000 app:app
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

``config.make_wsgi_app()`` is the WSGI app to wrap (in a PasteDeploy ``main()``, wrap
what it returns). Served by ``pserve development.ini`` instead, whose ``use =
call:app:main`` imports this module by name: pserve, a console script, does not look in
the current folder, and says "No module named 'app'" unless started as ``PYTHONPATH=.
pserve development.ini`` (a project installed with ``pip install -e .`` names itself,
``use = egg:myproject``, and needs no PYTHONPATH).

The grouping function receives a webob.Request over the request's environ as the app
left it; Pyramid's own request (and ``get_current_request()``) is
gone by then, so the tween below puts the caller in the environ (``REMOTE_USER``).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable, Optional

from pyramid.config import Configurator

from readme_metrics import MetricsApiConfig, MetricsMiddleware

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


def authenticate(handler: Callable[[Any], Any], registry: Any) -> Callable[[Any], Any]:
    """A tween: stand-in for real authentication (a security policy, a JWT check, ...)."""

    def tween(request: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            request.environ["REMOTE_USER"] = token
        return handler(request)

    return tween


def list_pets(request: Any) -> Any:
    name = request.params.get("name")
    return {"pets": [pet for pet in PETS if name in (None, pet["name"])]}


def add_pet(request: Any) -> Any:
    try:
        body = request.json_body
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        request.response.status = 400
        return {"error": 'send {"name": ...}'}
    pet = {"id": len(PETS) + 1, "name": body["name"]}
    PETS.append(pet)
    request.response.status = 201
    return pet


def grouping(request: Any) -> Optional[dict[str, str]]:
    """Who is calling, from the environ the tween wrote. None = do not log this call."""
    caller = request.environ.get("REMOTE_USER")
    if caller is None:
        return None
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": request.headers.get("X-User-Email", "")}


with Configurator() as config:
    config.add_tween(f"{__name__}.authenticate")
    config.add_route("pets", "/pets")
    config.add_view(list_pets, route_name="pets", request_method="GET", renderer="json")
    config.add_view(add_pet, route_name="pets", request_method="POST", renderer="json")
    app = MetricsMiddleware(config.make_wsgi_app(),
                            MetricsApiConfig(grouping_function=grouping))


def main(global_config: Any, **settings: Any) -> Any:
    """PasteDeploy's entry point, ``use = call:app:main`` in development.ini (pserve)."""
    return app


# SIGTERM (kill, docker stop) as a normal exit, so that the logs still queued are sent:
# waitress (pserve's server too) does not take it, and Python would end without its exit
# hooks (README, Troubleshooting); gunicorn keeps its own graceful stop. Only the main
# thread may set a handler: imported off it, the module leaves signals alone.
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
