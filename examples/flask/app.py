"""A Flask app with the metrics extension (application factory + ``init_app``).

    pip install ".[flask]"         # from the repository root
    readme-metrics collect         # in another terminal: the local Metrics API
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    flask --app examples/flask/app.py run --port 8000
    curl -H "Authorization: Bearer owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

The grouping function receives Flask's ``request`` and runs inside the request
context, so whatever your authentication put in ``flask.g`` (or
``flask_login.current_user``) is there.
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Optional

from flask import Flask, Response, g, jsonify, request, stream_with_context

from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import ReadMeMetrics

PETS = [{"id": 1, "name": "Owlbert"}, {"id": 2, "name": "Bowsy"}]


def grouping(req: Any) -> Optional[dict[str, str]]:
    """Who is calling, from what the auth hook stored in ``g``. None = do not log."""
    caller = g.get("caller")
    if caller is None:
        return None
    # The label names the caller in ReadMe's dashboard: your customer's name, in a real app.
    return {"api_key": caller, "label": f"key ending {caller[-4:]}",
            "email": req.headers.get("X-User-Email", "")}


metrics = ReadMeMetrics(MetricsApiConfig(grouping_function=grouping))


def create_app() -> Flask:
    """The application factory: ``flask --app examples/flask/app.py run`` finds it."""
    app = Flask(__name__)

    @app.before_request
    def authenticate() -> None:
        # Stand-in for real authentication (flask-login, a JWT check, ...).
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        g.caller = token if scheme.lower() == "bearer" and token else None

    @app.get("/pets")
    def list_pets() -> Any:
        return jsonify(pets=PETS)

    @app.post("/pets")
    def add_pet() -> Any:
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("name"), str):
            return jsonify(error='send {"name": ...}'), 400
        pet = {"id": len(PETS) + 1, "name": body["name"]}
        PETS.append(pet)
        return jsonify(pet), 201

    @app.get("/events")
    def events() -> Response:
        count = min(request.args.get("count", 3, type=int), 100)  # ?count=abc: 3

        def generate() -> Iterator[str]:
            # Sent to the client as produced; the log records the whole stream.
            for number in range(count):
                yield f"data: event {number} for {g.caller}\n\n"
                time.sleep(0.01)

        return Response(stream_with_context(generate()), mimetype="text/event-stream")

    metrics.init_app(app)
    return app


if __name__ == "__main__":
    import os

    # PORT as twelve-factor hosts (and ReadMe's cross-SDK test suites) set it.
    create_app().run(port=int(os.environ.get("PORT", "8000")))
