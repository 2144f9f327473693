"""Exchanges for the HAR tests: a plain one to vary, one carrying a body on either side,
sample bodies (a PNG, a multipart form and the params it decodes to), and the log as it
is sent."""

from __future__ import annotations

import json
from typing import Any, Optional

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log
from tests.support.har_check import assert_valid_log

LOG_ID = "0b5c6f5e-4a7e-4c1e-9a43-2f4e8f6b9d21"
STARTED = 1795257103.123456  # 2026-11-21T10:31:43.123Z

PNG = b"\x89PNG\r\n\x1a\n\x00\x00"
PNG_B64 = "iVBORw0KGgoAAA=="
MULTIPART_CT = "multipart/form-data; boundary=XyZ"
MULTIPART = (
    b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nh\xc3\xa9llo\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
    b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n"
    b'--XyZ\r\nContent-Disposition: form-data; name="empty"; filename=""\r\n\r\n\r\n'
    b"--XyZ--\r\n"
)
MULTIPART_PARAMS = [
    {"name": "title", "value": "héllo"},
    {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
     "value": f"data:image/png;name=me.png;base64,{PNG_B64}"},
    {"name": "empty", "value": ""},
]


def make_exchange(**changes: Any) -> Exchange:
    """A plain GET answered with JSON; ``changes`` override any field."""
    fields: dict[str, Any] = {
        "id": LOG_ID,
        "started": STARTED,
        "method": "GET",
        "url": "http://api.example.com/v1/things?x=1",
        "http_version": "HTTP/1.1",
        "request_headers": [("Host", "api.example.com")],
        "client_ip": "10.0.0.1",
        "group": Group("rdme_key_1234", "Owl", "owl@example.com"),
        "status": 200,
        "status_text": "OK",
        "response_headers": [("Content-Type", "application/json")],
        "response_body": b'{"ok":true}',
        "response_body_size": 11,
        "wait": 0.010,
        "duration": 0.025,
    }
    fields.update(changes)
    return Exchange(**fields)


def post(content_type: Optional[str], body: bytes, size: Optional[int] = None,
         **changes: Any) -> Exchange:
    headers = [("Host", "api.example.com")]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body) if size is None else size)))
    return make_exchange(
        method="POST", request_headers=headers, request_body=body,
        request_body_size=len(body) if size is None else size, **changes,
    )


def body_on(side: str, headers: list[tuple[str, str]], body: bytes,
            size: Optional[int] = None) -> Exchange:
    """A POST whose request (``side`` "request") or a GET whose response ("response")
    carries ``body`` under ``headers``; ``size`` is the size recorded (the body's length
    by default, another for a body cut short)."""
    if size is None:
        size = len(body)
    if side == "request":
        return make_exchange(method="POST", request_headers=headers, request_body=body,
                             request_body_size=size)
    return make_exchange(response_headers=headers, response_body=body,
                         response_body_size=size)


def sent_log(exchange: Exchange, **options: Any) -> dict[str, Any]:
    """build_log as it travels (through JSON), checked against the contract."""
    log = json.loads(json.dumps(build_log(exchange, **options), ensure_ascii=False))
    assert_valid_log(log)
    return log


def entry_of(exchange: Exchange, **options: Any) -> dict[str, Any]:
    return sent_log(exchange, **options)["request"]["log"]["entries"][0]


def logged_bodies(text: str, mime: str, redactor: Any) -> list[str]:
    """``text`` typed ``mime`` as a request's and a response's body, built with
    ``redactor``: the request's logged text (a form's params, as JSON) and the
    response's (hostile53, hostile54)."""
    from readme_metrics.har.build import build_entry

    data = text.encode()
    entry = build_entry(make_exchange(
        url="http://h/", request_headers=[("Host", "h"), ("Content-Type", mime)],
        request_body=data, request_body_size=len(data),
        response_headers=[("Content-Type", mime)], response_body=data,
        response_body_size=len(data)), redactor)
    post = entry["request"]["postData"]
    return [post["text"] if "text" in post else json.dumps(post["params"]),
            entry["response"]["content"]["text"]]
