"""blackbox25: SPEC.md sections 3, 4 and 8 probed from outside, where earlier rounds said least.

Each test uses the public API and real parts only: a real collector on 127.0.0.1
(tests/support/fake_api.py), real Flask and Starlette apps driven as their servers drive
them. Expected values come from SPEC's words and RFC 9110, never from the library's helpers.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.asgi import body_messages, http_scope, run
from tests.support.contract import API_KEY, inline_options
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ

BOUNDARY = "Zz9bb25"
PNG = bytes(range(200, 256))
MULTIPART = (
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter22\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.png\"\r\n"
    "Content-Type: image/png\r\n\r\n"
).encode() + PNG + f"\r\n--{BOUNDARY}--\r\n".encode()
# SPEC 4's params for MULTIPART, with SPEC 6's denylist ["password"] applied field by field.
PARAMS = [
    {"name": "note", "value": "hello"},
    {"name": "password", "value": "[REDACTED 8]"},
    {"name": "up", "fileName": "a.png", "contentType": "image/png",
     "value": "data:image/png;name=a.png;base64," + base64.b64encode(PNG).decode()},
]
# RFC 9110 8.3.1: a media type's type and subtype are case-insensitive (and so are a
# parameter's name); the boundary's value is not. Flask (werkzeug), Django and Starlette
# (python-multipart) all read these as multipart/form-data.
MULTIPART_TYPES = [
    f"multipart/form-data; boundary={BOUNDARY}",
    f"Multipart/Form-Data; boundary={BOUNDARY}",
    f"MULTIPART/FORM-DATA; BOUNDARY={BOUNDARY}",
    f"Multipart/form-data;boundary=\"{BOUNDARY}\"",
]


def entry_of(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


def assert_form_read_and_logged(answer: bytes, logs: list[dict[str, Any]],
                                content_type: str) -> None:
    """The app read MULTIPART's fields and file, and its one log has SPEC 4's params."""
    assert json.loads(answer) == {"fields": {"note": "hello", "password": "hunter22"},
                                  "files": {"up": "a.png"}}
    assert len(logs) == 1
    assert_valid_log(logs[0])
    assert entry_of(logs[0])["request"]["postData"] == {"mimeType": content_type,
                                                        "params": PARAMS}


def _flask_form_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask("blackbox25")

    @app.post("/upload")
    def upload() -> Any:
        return jsonify(fields=request.form.to_dict(),
                       files={name: f.filename for name, f in request.files.items()})

    return app


@pytest.mark.parametrize("content_type", MULTIPART_TYPES)
def test_multipart_is_logged_as_params_whatever_the_case_of_its_media_type(
        collector: Collector, content_type: str) -> None:
    """SPEC 4: a multipart/form-data body is ``{mimeType, params}`` (mimeType as sent);
    the media type's case is no part of its meaning, and the app (Flask) reads the form."""
    from readme_metrics import MetricsMiddleware

    app = _flask_form_app()
    app.wsgi_app = middleware = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"denylist": ["password"]})))
    try:
        result = run_wsgi(app, wsgi_environ("POST", "/upload", {"Content-Type": content_type},
                                            MULTIPART))
        assert middleware.flush(5.0) is True
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert_form_read_and_logged(result.body, logs, content_type)


@pytest.mark.parametrize("content_type", MULTIPART_TYPES)
def test_asgi_multipart_is_logged_as_params_whatever_the_case_of_its_media_type(
        collector: Collector, content_type: str) -> None:
    """The ASGI twin, under Starlette reading the form: the same postData as WSGI's."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def upload(request: Any) -> Any:
        form = await request.form()
        return JSONResponse({"fields": {k: v for k, v in form.items() if isinstance(v, str)},
                             "files": {k: v.filename for k, v in form.items()
                                       if not isinstance(v, str)}})

    middleware = AsgiMetricsMiddleware(
        Starlette(routes=[Route("/upload", upload, methods=["POST"])]),
        MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                         **inline_options({"denylist": ["password"]})))
    try:
        answer = asyncio.run(run(middleware, http_scope(
            "POST", "/upload", b"", [(b"content-type", content_type.encode()),
                                     (b"content-length", str(len(MULTIPART)).encode())]),
            body_messages(MULTIPART[:100], MULTIPART[100:])))
        assert middleware.flush(5.0) is True
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert_form_read_and_logged(answer.body, logs, content_type)
