"""test_hostile21_findings.py's apps behind the compressing middlewares users run: a
Flask app with Flask-Compress (``flask_app``, WSGI) and a Starlette app with
starlette-compress (``starlette_app``, ASGI), each inside the metrics middleware, which
so records the compressed answer. Each answers ``/doc`` with a JSON document (over their
500-byte minimum) echoing the caller's ``X-Api-Key``, in the coding the client accepts."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask_compress import Compress
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette_compress import CompressMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.starlette import ReadMeMetricsMiddleware
from tests.support.hostile20_apps import _grouping


def _doc(key: str) -> bytes:
    return json.dumps({"api_key": key, "password": "hunter2-hostile21",
                       "n": list(range(200))}).encode()


flask = Flask(__name__)
Compress(flask)


@flask.get("/doc")
def _flask_doc() -> Any:
    return flask.response_class(_doc(request.headers.get("X-Api-Key", "")),
                                mimetype="application/json")


flask.wsgi_app = MetricsMiddleware(  # type: ignore[method-assign]
    flask.wsgi_app, MetricsApiConfig(grouping_function=_grouping))
flask_app = flask


async def _starlette_doc(request: Request) -> Response:
    return Response(_doc(request.headers.get("X-Api-Key", "")),
                    media_type="application/json")


starlette_app = Starlette(routes=[Route("/doc", _starlette_doc)])
starlette_app.add_middleware(CompressMiddleware)
starlette_app.add_middleware(ReadMeMetricsMiddleware,
                             config=MetricsApiConfig(grouping_function=_grouping))
