"""newcomer22: a Flask app wrapped whole (``application``, for gunicorn), which
``flask run`` serves bare: it finds the Flask object ``app``."""

from typing import Any

from flask import Flask

from readme_metrics import MetricsApiConfig, MetricsMiddleware

app = Flask(__name__)


@app.get("/")
def hello() -> Any:
    return {"hello": "world"}


def grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


application = MetricsMiddleware(app, MetricsApiConfig(grouping_function=grouping))
