"""A plain PEP 3333 app wrapped in the metrics middleware: no framework at all.

    pip install .                  # from the repository root
    readme-metrics collect         # in another terminal: the local Metrics API
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    python examples/wsgi_app.py
    curl -H "X-Api-Key: owlbert-key" http://127.0.0.1:8000/pets

The collector prints each call and keeps it in readme-metrics.har. To send to ReadMe
instead, set README_API_KEY to your project's API key and leave README_METRICS_SERVER
unset. Every option not passed to MetricsApiConfig is read from the README_* environment
variables (or a .env file); see the README for the list.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Iterable, Optional

from readme_metrics import MetricsApiConfig, MetricsMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PETS: list[dict[str, Any]] = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


def grouping(request: Any) -> Optional[dict[str, str]]:
    """Who is calling: ``request`` is a webob.Request. None = do not log this call."""
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": f"key ending {api_key[-4:]}",
            "email": request.headers.get("X-User-Email", "")}


def pets_api(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """GET /pets lists the pets; POST /pets adds the JSON pet in the body."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    answer: Any
    if path != "/pets":
        status, answer = "404 Not Found", {"error": "not found"}
    elif method == "GET":
        status, answer = "200 OK", {"pets": PETS}
    elif method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            pet = json.loads(environ["wsgi.input"].read(size) or b"null")
        except ValueError:
            pet = None
        if isinstance(pet, dict) and isinstance(pet.get("name"), str):
            pet = {"id": len(PETS) + 1, "name": pet["name"]}
            PETS.append(pet)
            status, answer = "201 Created", pet
        else:
            status, answer = "400 Bad Request", {"error": "send {\"name\": ...}"}
    else:
        status, answer = "405 Method Not Allowed", {"error": "GET or POST"}
    body = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


app = MetricsMiddleware(pets_api, MetricsApiConfig(grouping_function=grouping))

if __name__ == "__main__":
    import signal
    import sys
    import threading
    from wsgiref.simple_server import make_server

    # SIGTERM (kill, docker stop) as a normal exit, so that the logs still queued are sent:
    # with wsgiref alone, Python would end without running its exit hooks (README,
    # Troubleshooting).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8000"))
    with make_server("127.0.0.1", port, app) as server:
        # Requests are served on a thread, so that Ctrl-C reaches the main thread's wait:
        # in the middle of a request, wsgiref would swallow it and keep serving.
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:  # once the line below is out, Ctrl-C and SIGTERM land here, whenever they come
            print(f"serving on http://127.0.0.1:{port}/pets (Ctrl-C stops it; the logs "
                  "still queued are sent on the way out)", flush=True)
            threading.Event().wait()
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C or SIGTERM: a stop, not an error
            server.shutdown()  # after the request in progress, if any
