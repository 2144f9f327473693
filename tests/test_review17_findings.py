"""review17's findings (an adversarial read of what landed between 50a6a35 and 55f6597:
the ASGI companions and CORS, the caller's key masking, the unclosed-response thread,
nesting): each test failed on main at 55f6597 and passes with its fix. Real middleware,
real apps, the real collector on 127.0.0.1 (tests/support/fake_api.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.masking import mask
from tests.support.asgi import body_messages, http_scope, run
from tests.support.asgi_stack import (
    BRIDGES,
    close_stack,
    flush_stack,
    httpx_get,
    httpx_gets,
    layer_config,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.key_site import Site, without_made_fields
from tests.support.key_site import app as key_app
from tests.support.key_site import asgi_app as asgi_key_app
from tests.support.leaks import found_unmasked
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.support.wsgi_servers import served

# -- nesting: a middleware between two layers of one project copies the scope ----------


def test_a_lazily_made_layer_behind_a_scope_copy_gives_one_log_on_the_first_request(
        collector: Collector) -> None:
    """Starlette makes add_middleware's layers at its first request, inside the call of
    an outer layer of the same project, which could not know to mark the scope: the inner
    layer passed through only the very scope the outer one records. Its companion
    readme_metrics.asgi.RequestIdMiddleware, added after it (outside it, as its docstring
    says), hands on a copy of the scope: the first request was logged twice (3 logs for
    2 requests)."""
    fastapi = pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware, RequestIdMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    key = "rdme_review17_lazy_copy_7777"
    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    app.add_middleware(ReadMeMetricsMiddleware, config=layer_config(collector, key))
    app.add_middleware(RequestIdMiddleware)
    outer = MetricsMiddleware(app, layer_config(collector, key))

    try:
        for response in httpx_gets(outer, ["/hello", "/hello"]):
            assert response.json() == {"hello": 1}
            assert len(response.headers.get_list("x-request-id")) == 1
        outer.flush(5.0)
        flush_stack(app, 5.0)
        collector.wait_for_only(2, 0.5)  # a third log would be on its way
        assert outer.stats["captured"] == 2
    finally:
        outer.close()
        close_stack(app)



@pytest.mark.parametrize("bridge", BRIDGES)
def test_an_asgi_layer_over_a_bridged_wsgi_layer_of_one_project_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """readme_metrics.asgi.MetricsMiddleware around a WSGI app served through an
    ASGI-to-WSGI bridge, the WSGI app wrapped for the same project (Flask's extension
    kept when the app moved under uvicorn): the bridge builds the environ from the scope,
    without the ASGI layer's mark, so both layers logged every request (4 logs for 2)."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    key = "rdme_review17_bridged_8888"

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"bridged"]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))
    outer = AsgiLayer(bridge(inner), layer_config(collector, key))

    try:
        for response in httpx_gets(outer, ["/bridged/0", "/bridged/1"]):
            assert response.content == b"bridged"
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(2, 0.5)  # more logs would be on their way
        assert outer.stats["captured"] == 2 and inner.stats["captured"] == 0
    finally:
        outer.close()
        inner.close()



def test_a_wsgi_app_the_asgi_app_calls_in_process_is_still_logged(
        collector: Collector) -> None:
    """The other side of the bridge rule: an ASGI endpoint that calls a WSGI app of the
    same project in process, from a thread given its context (asyncio.to_thread), for
    another path, makes an exchange of its own: both are logged."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    key = "rdme_review17_in_process_9999"

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"inner"]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        result = await asyncio.to_thread(run_wsgi, inner, wsgi_environ("GET", "/inner"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": result.body})

    outer = AsgiLayer(asgi_app, layer_config(collector, key))

    try:
        assert httpx_get(outer, "/outer").content == b"inner"
        outer.flush(5.0)
        inner.flush(5.0)
        logs = collector.wait_for_logs(2)
        urls = sorted(log["request"]["log"]["entries"][0]["request"]["url"] for log in logs)
        assert [url.rsplit("/", 1)[1] for url in urls] == ["inner", "outer"], urls
    finally:
        outer.close()
        inner.close()


# -- the caller's key: a file part's data URL, the method, the client address -----------

SHORT = "k42"
LONG = "sk_live_0123456789"


def _multipart(file_name: str, part_type: str) -> bytes:
    return (f'--XX\r\nContent-Disposition: form-data; name="f"; filename="{file_name}"\r\n'
            f"Content-Type: {part_type}\r\n\r\nv\r\n--XX--\r\n").encode()


@pytest.mark.parametrize(("file_name", "part_type"), [
    pytest.param(SHORT, "text/plain", id="file-name"),
    pytest.param("f.txt", SHORT, id="part-type"),
])
def test_a_short_key_as_a_file_name_is_masked_in_the_file_data_url_too(
        site: Site, file_name: str, part_type: str) -> None:
    """A file part is {name, fileName, contentType, value: data:<type>;name=<file
    name>;base64,...}: a short key that is the whole file name (or part type) was masked
    in fileName (contentType) and sent in clear in the data URL, which repeats it."""
    entry, hits = site.send(SHORT, method="POST", body=_multipart(file_name, part_type),
                            headers={"Content-Type": "multipart/form-data; boundary=XX"})
    part = entry["request"]["postData"]["params"][0]
    assert hits == [], hits
    assert mask(SHORT) in (part["fileName"] + part["contentType"])
    assert part["value"].startswith(f"data:{part['contentType']};name={part['fileName']};")
    assert part["value"].endswith(";base64,dg==")


@pytest.mark.parametrize("key", [SHORT, LONG])
def test_a_key_sent_as_the_method_is_masked(site: Site, key: str) -> None:
    """The method is the client's text (any token: servers pass it on): a client sending
    the key there had it in clear in request.method, the only part of the request not
    looked at."""
    entry, hits = site.send(key, method=key)
    assert hits == [], hits
    assert entry["request"]["method"] == mask(key)
    ordinary, _ = site.send(key, method="GET")
    assert ordinary["request"]["method"] == "GET"


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
@pytest.mark.parametrize("key", [SHORT, LONG])
def test_a_key_sent_as_the_forwarded_client_address_is_masked(
        collector: Collector, kind: str, key: str) -> None:
    """With trusted_proxies, clientIPAddress is the X-Forwarded-For hop the outermost
    trusted proxy set: a client that reaches the app with fewer proxies than configured
    sets it itself. The header was masked; clientIPAddress, copied from it, was not.
    (review86: a hop that is no IP address is not taken at all: the remote address is
    logged: the ASGI helper's 203.0.113.9, the WSGI helper's none.)"""
    config = MetricsApiConfig(api_key="rdme_review17_xff", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key},
                              buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT,
                              trusted_proxies=1)
    headers = {"X-Forwarded-For": key}
    if kind == "wsgi":
        middleware: Any = MetricsMiddleware(key_app, config)
        run_wsgi(middleware, wsgi_environ("GET", "/", headers))
    else:
        middleware = AsgiMetricsMiddleware(asgi_key_app, config)
        scope = http_scope("GET", "/", b"", [
            (name.lower().encode(), value.encode()) for name, value in headers.items()])
        asyncio.run(run(middleware, scope, body_messages(b""), then="disconnect"))
    try:
        collector.wait_for_logs(1)
        batch = [received.body for received in collector.received][-1]
        assert found_unmasked([without_made_fields(batch)], key, mask(key)) == []
        assert collector.logs[0]["clientIPAddress"] == ("" if kind == "wsgi" else "203.0.113.9")
    finally:
        middleware.close()


# -- false positives: what is not the key is sent as it came ----------------------------

_PRICED = '{\n  "id": "%s",\n  "price": 10.50,\n  "rate": 1E2,\n  "lat": 37.77492955500099901\n}'


@pytest.mark.parametrize("key", [SHORT, "42", "12345678"])
def test_a_json_body_holding_the_key_keeps_the_rest_as_sent(site: Site, key: str) -> None:
    """A short key (or a number key) found in a JSON body was masked by parsing the body
    and writing it again: every other number came out as Python's float (10.50 -> 10.5,
    1E2 -> 100.0, 37.77492955500099901 -> 37.774929555001) and the layout compacted,
    though SPEC 4 sends the body as received. Only the key's string is replaced now."""
    body = _PRICED % key
    entry, hits = site.send(key, method="POST", body=body.encode(),
                            headers={"Content-Type": "application/json"})
    assert hits == [], hits
    assert entry["request"]["postData"]["text"] == _PRICED % mask(key)


@pytest.mark.parametrize("key", [SHORT, "42"])
def test_a_short_key_in_a_json_member_given_twice_is_masked(site: Site, key: str) -> None:
    """A JSON object that names a member twice reads as its last one: a short key in the
    first was never walked, and the body went out as sent, the key in clear."""
    body = '{"id": "@", "id": 1}'.replace("@", key)
    entry, hits = site.send(key, method="POST", body=body.encode(),
                            headers={"Content-Type": "application/json"})
    assert hits == [], hits
    assert entry["request"]["postData"]["text"] == '{"id": "@", "id": 1}'.replace("@", mask(key))


# -- the ASGI companions: a header given twice reads as a WSGI server reads it ----------

SITE = "https://app.example.com"
ELSEWHERE = "https://elsewhere.example.net"


def _raw_answer(port: int, head: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()


def _plain_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


async def _plain_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _asgi_answer(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = http_scope(method, "/", b"", [(b"host", b"api.example.com"), *headers])
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return {"status": str(start["status"]),
            **{bytes(n).decode().lower(): bytes(v).decode() for n, v in start["headers"]}}


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_two_origin_headers_make_no_allowed_origin_in_either_twin(method: str) -> None:
    """A WSGI server joins a header given twice into one value (werkzeug and gunicorn
    "a,b", waitress "a, b"), which is no origin: the WSGI CORS middleware allows none and
    a preflight goes to the app. Its ASGI twin read the first Origin only (ASGI servers
    pass each line): it allowed the request, and answered the preflight itself. RFC 6454
    7.3: a user agent never sends two."""
    from readme_metrics.asgi import CORSMiddleware as AsgiCORS
    from readme_metrics.cors import CORSMiddleware

    lines = f"Origin: {SITE}\r\nOrigin: {ELSEWHERE}\r\nAccess-Control-Request-Method: GET\r\n"
    with served("werkzeug", CORSMiddleware(_plain_wsgi, allowed_origins=[SITE])) as port:
        wsgi = _raw_answer(port, f"{method} / HTTP/1.1\r\nHost: x\r\n{lines}"
                                 "Connection: close\r\n\r\n")
    assert "access-control-allow-origin" not in wsgi and " 200 " in wsgi.split("\r\n")[0]
    asgi = _asgi_answer(AsgiCORS(_plain_asgi, allowed_origins=[SITE]), method, [
        (b"origin", SITE.encode()), (b"origin", ELSEWHERE.encode()),
        (b"access-control-request-method", b"GET")])
    assert "access-control-allow-origin" not in asgi, asgi
    assert asgi["status"] == "200" and asgi["vary"] == "Origin"


def test_two_request_ids_give_a_new_id_in_either_twin() -> None:
    """Two X-Request-Id lines: a WSGI server joins them (waitress "a, b", which has a
    space, so a new uuid4 was made; werkzeug and gunicorn "a,b", which was kept as the
    id); the ASGI twin took the first. A comma is a list's separator in a header: an id
    with one is no id, and every twin makes a new one."""
    from readme_metrics.asgi import RequestIdMiddleware as AsgiRequestId
    from readme_metrics.request_id import RequestIdMiddleware, request_id_for

    assert request_id_for("first,second") != "first,second"  # gunicorn's joined value
    with served("werkzeug", RequestIdMiddleware(_plain_wsgi)) as port:
        wsgi = _raw_answer(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n"
                                 "X-Request-Id: second\r\nConnection: close\r\n\r\n")
    made = [line.split(": ", 1)[1] for line in wsgi.split("\r\n")
            if line.startswith("x-request-id:")]
    assert len(made) == 1 and uuid.UUID(made[0]).version == 4
    asgi = _asgi_answer(AsgiRequestId(_plain_asgi), "GET", [
        (b"x-request-id", b"first"), (b"x-request-id", b"second")])
    assert uuid.UUID(asgi["x-request-id"]).version == 4, asgi


def test_a_json_document_in_a_member_given_twice_is_not_sent_in_place(site: Site) -> None:
    """Masking in place keeps what a document read as a dict leaves out: the first of two
    members of one name. With a short key in a JSON document that member's string holds
    (only a walk masks it there), the body is written again from what was read (without
    that member), as before: never in place with the key in it."""
    body = '{"a": "{\\"id\\": \\"k42\\"}", "a": 1, "b": "k42"}'
    entry, hits = site.send(SHORT, method="POST", body=body.encode(),
                            headers={"Content-Type": "application/json"})
    assert hits == [], hits
    assert json.loads(entry["request"]["postData"]["text"]) == {"a": 1, "b": mask(SHORT)}
