"""The WSGI capture over real HTTP (SPEC section 5): wsgiref's threaded server, requests
as the client, every kind of body logged as sent."""

from __future__ import annotations

import json

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.masking import mask
from tests.support.capture_wrap import GROUP
from tests.support.fake_api import INLINE_TIMEOUT
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import ThreadedWSGIServer


def test_real_threaded_server_logs_every_kind_of_body(collector, monkeypatch) -> None:
    """The issue's acceptance scenario, over real HTTP with wsgiref's threaded server."""
    import requests

    def api(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        payload = json.dumps({"received": len(body)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]

    monkeypatch.setenv("README_METRICS_SERVER", collector.url)
    config = MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz",
        grouping_function=lambda req: dict(GROUP),
        buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT,
    )
    middleware = MetricsMiddleware(api, config)
    server = ThreadedWSGIServer(middleware)
    base = server.url
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
           b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00"
           b"\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82")
    try:
        with server:
            with requests.Session() as http:
                http.get(f"{base}/pets?limit=10&tag=&tag=cute+dogs", timeout=5)
                http.post(f"{base}/pets", json={"name": "Owlbert", "age": 3}, timeout=5)
                http.post(f"{base}/pets", data=b'{"name": "Owlbert"}', timeout=5,
                          headers={"Content-Type": "application/vnd.api+json"})
                http.post(f"{base}/notes", data=b"plain words", timeout=5,
                          headers={"Content-Type": "text/plain"})
                http.post(f"{base}/form", data={"name": "Owlbert", "size": "small"}, timeout=5)
                http.post(f"{base}/upload", files={"avatar": ("owl.png", png, "image/png")},
                          data={"caption": "hi"}, timeout=5)
                raw = http.prepare_request(requests.Request("POST", f"{base}/raw", data=b"no type"))
                raw.headers.pop("Content-Type", None)
                http.send(raw, timeout=5)
            logs = collector.wait_for_logs(7)
    finally:
        middleware.close()

    assert len(logs) == 7
    for log in logs:
        assert_valid_log(log)
        assert log["group"] == {"id": mask("owlbert-api-key"), "label": "Owlbert",
                                "email": "owlbert@example.com"}
        assert log["clientIPAddress"] == "127.0.0.1"
        assert log["development"] is False
    by_path = {log["request"]["log"]["entries"][0]["request"]["url"].split(base)[1]: log
               for log in logs}
    get = by_path["/pets?limit=10&tag=&tag=cute+dogs"]["request"]["log"]["entries"][0]
    assert get["request"]["queryString"] == [
        {"name": "limit", "value": "10"}, {"name": "tag", "value": ""},
        {"name": "tag", "value": "cute dogs"},
    ]
    assert "postData" not in get["request"]
    # wsgiref invents "Content-Type: text/plain" for body-less requests; not logged as sent
    assert all(h["name"] != "Content-Type" for h in get["request"]["headers"])
    assert json.loads(get["response"]["content"]["text"]) == {"received": 0}

    posts = [log["request"]["log"]["entries"][0]["request"] for log in logs
             if log["request"]["log"]["entries"][0]["request"]["method"] == "POST"]
    data = {p["url"].split(base)[1] + "|" + p["postData"]["mimeType"]: p["postData"]
            for p in posts}
    assert data["/pets|application/json"] == {
        "mimeType": "application/json", "text": '{"name": "Owlbert", "age": 3}'}
    assert data["/pets|application/vnd.api+json"]["text"] == '{"name": "Owlbert"}'
    assert data["/notes|text/plain"] == {"mimeType": "text/plain", "text": "plain words"}
    assert data["/form|application/x-www-form-urlencoded"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [{"name": "name", "value": "Owlbert"}, {"name": "size", "value": "small"}],
    }
    assert data["/raw|text/plain"] == {"mimeType": "text/plain", "text": "no type"}
    upload = next(v for k, v in data.items() if k.startswith("/upload|multipart/form-data"))
    params = {p["name"]: p for p in upload["params"]}
    assert params["caption"]["value"] == "hi"
    avatar = params["avatar"]
    assert avatar["fileName"] == "owl.png"
    assert avatar["contentType"] == "image/png"
    import base64
    assert avatar["value"] == "data:image/png;name=owl.png;base64," + base64.b64encode(
        png).decode()
