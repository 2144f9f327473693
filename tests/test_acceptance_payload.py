"""SPEC section 4 (the payload contract), black-box: what reaches a real collector on
127.0.0.1 for a wrapped PEP 3333 app, checked field by field and against the HAR 1.2 JSON
schema (tests/har-1.2.schema.json). The tests/test_har_* files check the same lines on
the pure builder; these walk them end to end, through the middleware and a real POST."""

import base64
import hashlib
import json
import pathlib
import platform
import re
import threading
import uuid
import wsgiref.simple_server

import jsonschema
import pytest

import readme_metrics
from readme_metrics import MetricsMiddleware
from tests._acceptance_support import (
    call,
    clean_env_fixture,  # noqa: F401 - autouse
    collector_fixture,  # noqa: F401 - ``collector``
    environ_for,
    make_config,
    simple_app,
)

SCHEMA = json.loads((pathlib.Path(__file__).parent / "har-1.2.schema.json").read_text())
API_KEY = "rdme_test_key_1234"
CALLER = "caller-key-0001"


def mask(value):
    digest = base64.b64encode(hashlib.sha512(value.encode()).digest()).decode()
    return "sha512-" + digest + "?" + value[-4:]


def exchange(collector, app=None, environ=None, **config):
    """Run one call through the middleware; returns (log object, entry, (status, headers, body))."""
    middleware = MetricsMiddleware(app or simple_app(), make_config(collector, **config))
    answer = call(middleware, environ or environ_for("/"))
    assert middleware.flush(timeout=5)
    middleware.close()
    logs = collector.wait_logs(1)
    assert len(logs) == 1
    log = logs[0]
    jsonschema.validate(log["request"], SCHEMA)
    return log, log["request"]["log"]["entries"][0], answer


def header(pairs, name):
    values = [h["value"] for h in pairs if h["name"].lower() == name.lower()]
    return values[0] if values else None


# ---------------------------------------------------------------- the POST


def test_post_path_authorization_content_type_user_agent(collector):
    exchange(collector)
    (method, path, headers, body), = collector.posts()
    assert method == "POST"
    assert path == "/v1/request"
    assert headers["authorization"] == "Basic " + base64.b64encode(
        (API_KEY + ":").encode()).decode()
    assert headers["content-type"].split(";")[0].strip() == "application/json"
    assert headers["user-agent"] == "readme-metrics-python@" + readme_metrics.__version__
    assert isinstance(json.loads(body), list)


def test_metrics_api_with_a_path_prefix_keeps_it(collector):
    exchange(collector, metrics_api=collector.url + "/proxy")
    assert collector.posts()[0][1] == "/proxy/v1/request"


# ---------------------------------------------------------------- the log object


def test_log_object_fields(collector):
    log, entry, (status, headers, _b) = exchange(collector)
    assert str(uuid.UUID(log["_id"], version=4)) == log["_id"]
    assert log["group"] == {"id": mask(CALLER), "label": "L", "email": "e@x.io"}
    assert log["clientIPAddress"] == "10.1.2.3"
    assert log["development"] is False
    har = log["request"]["log"]
    assert har["version"] == "1.2"
    assert har["creator"]["name"] == "readme-metrics (python)"
    assert har["creator"]["version"] == readme_metrics.__version__
    assert har["creator"]["comment"] == (
        f"{platform.machine()}-{platform.system()}{platform.release()}"
        f"/{platform.python_version()}")
    assert len(har["entries"]) == 1
    # x-documentation-url carries the same _id, on the response and in the log
    doc = dict((k.lower(), v) for k, v in headers)["x-documentation-url"]
    assert doc == "http://docs.example/logs/" + log["_id"]
    assert header(entry["response"]["headers"], "x-documentation-url") == doc


def test_group_id_is_masked_for_the_older_id_key(collector):
    log, _e, _a = exchange(collector, grouping_function=lambda req: {"id": "older-id-9999"})
    assert log["group"]["id"] == mask("older-id-9999")


# ---------------------------------------------------------------- the entry


def test_entry_fields_and_timings(collector):
    _l, entry, _a = exchange(collector)
    assert "pageref" in entry
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["startedDateTime"])
    assert entry["cache"] == {}
    timings = entry["timings"]
    for key in ("send", "wait", "receive"):
        assert timings[key] >= 0
    total = sum(v for k, v in timings.items() if k in (
        "blocked", "dns", "connect", "send", "wait", "receive", "ssl") and v > 0)
    assert entry["time"] == pytest.approx(total, abs=0.01)


def test_request_fields(collector):
    env = environ_for(
        # PATH_INFO is decoded (PEP 3333); the URL carries it percent-encoded
        "/a b/c", query="q=caf%C3%A9&x=1+2&x=3&blank=&flag",
        headers={"X-Custom": "v", "Cookie": "session=abc; theme=dark"},
    )
    env["SERVER_PROTOCOL"] = "HTTP/1.0"
    _l, entry, _a = exchange(collector, environ=env)
    req = entry["request"]
    assert req["method"] == "GET"
    assert req["url"] == "http://api.example/a%20b/c?q=caf%C3%A9&x=1+2&x=3&blank=&flag"
    assert req["httpVersion"] == "HTTP/1.0"
    assert header(req["headers"], "X-Custom") == "v"
    assert header(req["headers"], "Host") == "api.example"
    assert [(p["name"], p["value"]) for p in req["queryString"]] == [
        ("q", "café"), ("x", "1 2"), ("x", "3"), ("blank", ""), ("flag", "")]
    assert sorted(c["name"] for c in req["cookies"]) == ["session", "theme"]
    assert req["headersSize"] == -1
    assert "postData" not in req
    assert req["bodySize"] in (0, -1)


def test_content_type_and_length_are_request_headers(collector):
    body = b'{"a": 1}'
    env = environ_for("/j", "POST", body, {"Content-Type": "application/json"})
    _l, entry, _a = exchange(collector, environ=env)
    req = entry["request"]
    assert header(req["headers"], "Content-Type") == "application/json"
    assert header(req["headers"], "Content-Length") == str(len(body))
    assert req["bodySize"] == len(body)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_json_body_exactly_as_received(collector, method):
    body = b'{ "b" : [1, 2.50, "\\u00e9"],\n "a": null }'
    env = environ_for("/j", method, body, {"Content-Type": "application/json; charset=utf-8"})
    _l, entry, _a = exchange(collector, environ=env)
    post = entry["request"]["postData"]
    assert post["mimeType"] == "application/json; charset=utf-8"
    assert post["text"] == body.decode()


@pytest.mark.parametrize("ctype", ["application/vnd.api+json", "application/xml",
                                   "text/plain", "text/csv", None])
def test_text_bodies(collector, ctype):
    body = "line one\nliné two <x/>".encode()
    env = environ_for("/t", "POST", body, {"Content-Type": ctype} if ctype else {})
    _l, entry, _a = exchange(collector, environ=env)
    post = entry["request"]["postData"]
    assert post["mimeType"] == (ctype or "text/plain")
    assert post["text"] == body.decode()
    assert "params" not in post or post["params"] == []


def test_form_urlencoded(collector):
    body = b"name=Ada+L&lang=py&lang=c&empty=&pct=50%25"
    env = environ_for("/f", "POST", body, {"Content-Type": "application/x-www-form-urlencoded"})
    _l, entry, _a = exchange(collector, environ=env)
    post = entry["request"]["postData"]
    assert post["mimeType"] == "application/x-www-form-urlencoded"
    assert [(p["name"], p["value"]) for p in post["params"]] == [
        ("name", "Ada L"), ("lang", "py"), ("lang", "c"), ("empty", ""), ("pct", "50%")]
    assert "text" not in post


def test_multipart_with_a_file(collector):
    boundary = "XyZb0undary"
    payload = bytes(range(256))
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"pic.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + payload + (f"\r\n--{boundary}--\r\n").encode()
    ctype = "multipart/form-data; boundary=" + boundary
    env = environ_for("/u", "POST", body, {"Content-Type": ctype})
    _l, entry, _a = exchange(collector, environ=env)
    post = entry["request"]["postData"]
    assert post["mimeType"].startswith("multipart/form-data")
    params = {p["name"]: p for p in post["params"]}
    assert params["title"]["value"] == "hello"
    upload = params["upload"]
    assert upload["fileName"] == "pic.png"
    assert upload["contentType"] == "image/png"
    assert upload["value"] == "data:image/png;name=pic.png;base64," + base64.b64encode(
        payload).decode()


def test_binary_request_body(collector):
    body = b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + bytes(range(200))
    env = environ_for("/b", "POST", body, {"Content-Type": "application/octet-stream"})
    _l, entry, _a = exchange(collector, environ=env)
    post = entry["request"]["postData"]
    assert post["mimeType"] == "application/octet-stream"
    assert base64.b64decode(post["text"]) == body
    assert post["comment"] == "base64"


def test_body_without_content_length_but_terminated_input(collector):
    body = b'{"streamed": true}'
    env = environ_for("/s", "POST", body, {"Content-Type": "application/json"})
    del env["CONTENT_LENGTH"]
    env["HTTP_TRANSFER_ENCODING"] = "chunked"  # the server de-chunked it
    env["wsgi.input_terminated"] = True

    def app(environ, start_response):
        assert environ["wsgi.input"].read() == body
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    _l, entry, _a = exchange(collector, app=app, environ=env)
    assert entry["request"]["postData"]["text"] == body.decode()


def test_unread_body_is_still_recorded(collector):
    body = b'{"unread": 1}'
    env = environ_for("/s", "POST", body, {"Content-Type": "application/json"})
    _l, entry, _a = exchange(collector, app=simple_app(read_body=False), environ=env)
    assert entry["request"]["postData"]["text"] == body.decode()


# ---------------------------------------------------------------- the response


def test_response_fields(collector):
    body = "héllo wörld".encode()
    app = simple_app("299 Custom Words", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Thing", "1"),
        ("Set-Cookie", "sid=s3cr3t; Path=/; HttpOnly"),
    ], body)
    _l, entry, (status, headers, got) = exchange(collector, app=app)
    assert status == "299 Custom Words" and got == body
    res = entry["response"]
    assert res["status"] == 299
    assert res["statusText"] == "Custom Words"
    assert res["httpVersion"] == "HTTP/1.1"
    assert header(res["headers"], "X-Thing") == "1"
    assert header(res["headers"], "Content-Type") == "text/plain; charset=utf-8"
    assert [c["name"] for c in res["cookies"]] == ["sid"]
    assert res["content"]["size"] == len(body)
    assert res["content"]["mimeType"] == "text/plain; charset=utf-8"
    assert res["content"]["text"] == body.decode()
    assert "encoding" not in res["content"]
    assert res["redirectURL"] == ""
    assert res["headersSize"] == -1
    assert res["bodySize"] == len(body)


def test_response_headers_as_sent_by_the_app(collector):
    sent = [("Content-Type", "application/json"), ("X-Multi", "a"), ("x-multi", "b"),
            ("X-Empty", "")]
    _l, entry, _a = exchange(collector, app=simple_app(headers=sent))
    got = [(h["name"], h["value"]) for h in entry["response"]["headers"]
           if h["name"].lower() != "x-documentation-url"]
    assert got == sent


def test_chunked_response_size_is_the_bytes_sent(collector):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"ab", b"", b"cde", "é".encode()])

    _l, entry, (_s, _h, body) = exchange(collector, app=app)
    assert body == "abcdeé".encode()
    assert entry["response"]["content"]["size"] == len(body)
    assert entry["response"]["content"]["text"] == "abcdeé"


def test_binary_response_is_base64(collector):
    payload = bytes(range(256)) * 3
    app = simple_app(headers=[("Content-Type", "application/octet-stream")], body=payload)
    _l, entry, _a = exchange(collector, app=app)
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == payload
    assert content["size"] == len(payload)


def test_redirect_url(collector):
    app = simple_app("302 Found", [("Location", "/elsewhere?x=1"), ("Content-Length", "0")], b"")
    _l, entry, _a = exchange(collector, app=app)
    assert entry["response"]["redirectURL"] == "/elsewhere?x=1"
    assert entry["response"]["status"] == 302
    assert entry["response"]["content"]["size"] == 0


# ---------------------------------------------------------------- masking


def test_mask_of_credential_headers_keeps_names(collector):
    env = environ_for("/m", headers={
        "Authorization": "Bearer tok-abcdef-123456",
        "Proxy-Authorization": "Basic dXNlcjpwYXNz",
        "Cookie": "sid=abc123",
    })
    app = simple_app(headers=[("Content-Type", "text/plain"), ("Set-Cookie", "sid=zzz9; Path=/")])
    log, entry, _a = exchange(collector, app=app, environ=env)
    req_headers = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert req_headers["Authorization"] == mask("Bearer tok-abcdef-123456")
    assert req_headers["Proxy-Authorization"] == mask("Basic dXNlcjpwYXNz")
    assert req_headers["Cookie"] == mask("sid=abc123")
    res_headers = {h["name"]: h["value"] for h in entry["response"]["headers"]}
    assert res_headers["Set-Cookie"] == mask("sid=zzz9; Path=/")
    text = json.dumps(log)
    for secret in ("tok-abcdef-123456", "dXNlcjpwYXNz"):
        assert secret not in text


def test_caller_key_never_leaves_in_clear(collector):
    key = "caller-key-0001"
    env = environ_for("/k", "POST", json.dumps({"key": key, "n": 1}).encode(), {
        "Content-Type": "application/json", "X-Whatever": key,
    }, query="api_key=" + key)
    log, entry, _a = exchange(collector, environ=env)
    assert key not in json.dumps(log)
    assert mask(key) in entry["request"]["url"] or mask(key) in json.dumps(
        entry["request"]["queryString"])


def test_api_key_is_never_in_the_log(collector):
    log, _e, _a = exchange(collector)
    assert API_KEY not in json.dumps(log)


# ---------------------------------------------------------------- a real server


def test_under_a_real_wsgiref_server(collector):
    import requests

    middleware = MetricsMiddleware(simple_app(), make_config(collector))

    class Quiet(wsgiref.simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = wsgiref.simple_server.make_server("127.0.0.1", 0, middleware, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        r = requests.post(f"http://127.0.0.1:{port}/real?x=1", json={"a": 1}, timeout=5)
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert middleware.flush(timeout=5)
        log = collector.wait_logs(1)[0]
        jsonschema.validate(log["request"], SCHEMA)
        entry = log["request"]["log"]["entries"][0]
        assert entry["request"]["url"] == f"http://127.0.0.1:{port}/real?x=1"
        assert json.loads(entry["request"]["postData"]["text"]) == {"a": 1}
        assert log["clientIPAddress"] == "127.0.0.1"
        assert r.headers["x-documentation-url"].endswith("/logs/" + log["_id"])
    finally:
        server.shutdown()
        server.server_close()
        middleware.close()


# ---------------------------------------------------------------- docs URL look-up, ASGI
