"""spec21's items (SPEC 2, 8, 9 read line by line, black-box, as an outside suite would):
each test failed on main at 56b32bc and passes with its fix, under real parts (the
collector on 127.0.0.1, the public middleware, ``readme-metrics collect`` in-process)."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli.collector import LocalCollector
from tests.support.contract import API_KEY, caller, hit, json_app
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.sample_logs import entry_count, valid_log

# -- 1. SPEC 2: the official package's keyword names -------------------------------------


def test_the_official_keyword_names_of_the_wsgi_middleware_work(collector: Collector) -> None:
    """"These import paths ... must keep working, so that users can switch without
    edits": the official 3.x signature is ``MetricsMiddleware(wsgi_app_reference,
    config)``, and ``MetricsMiddleware(wsgi_app_reference=app.wsgi_app, config=...)``
    raised TypeError (an unexpected keyword argument)."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                              metrics_api=collector.url, background_worker_mode=False,
                              timeout=INLINE_TIMEOUT,
                              buffer_length=1)
    middleware = MetricsMiddleware(wsgi_app_reference=json_app, config=config)
    try:
        assert middleware.app is json_app and middleware.config is config
        assert hit(middleware, "/official").status.startswith("200")
        assert middleware.flush(5.0) is True
    finally:
        middleware.close()
    [log] = collector.logs
    assert log["request"]["log"]["entries"][0]["request"]["url"].endswith("/official")
    with pytest.raises(TypeError, match="wsgi_app_reference"):
        MetricsMiddleware(json_app, config, wsgi_app_reference=json_app)


# -- 2. SPEC 9: the collector's answers to other methods ----------------------------------


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    pytest.param("GET", "/v1/request", 405, "POST", id="get-the-post-route"),
    pytest.param("PUT", "/v1/request", 405, "POST", id="put-the-post-route"),
    pytest.param("PATCH", "/v1/request", 405, "POST", id="patch-the-post-route"),
    pytest.param("DELETE", "/v1/request", 405, "POST", id="delete-the-post-route"),
    pytest.param("HEAD", "/v1/request", 405, "POST", id="head-the-post-route"),
    pytest.param("POST", "/v1", 405, "GET, HEAD", id="post-the-lookup"),
    pytest.param("POST", "/api/logs", 405, "GET, HEAD, DELETE", id="post-the-logs"),
    pytest.param("PUT", "/api/summary", 405, "GET, HEAD", id="put-the-summary"),
    pytest.param("PUT", "/nowhere", 404, None, id="put-elsewhere"),
    pytest.param("POST", "/v2/request", 404, None, id="post-elsewhere"),
    pytest.param("OPTIONS", "/v1/request", 204, "POST, OPTIONS", id="options-the-post-route"),
    pytest.param("OPTIONS", "/nowhere", 404, None, id="options-elsewhere"),
])
def test_a_method_a_route_does_not_take_is_a_405_with_allow(
        local: LocalCollector, method: str, path: str, status: int,
        allow: Optional[str]) -> None:
    """The collector answered ``GET /v1/request`` 404 (the route exists: RFC 9110 15.5.6
    says 405 with Allow), and PUT, PATCH and OPTIONS anywhere 501 in http.server's HTML,
    where every other answer of the stand-in is JSON."""
    answer = requests.request(method, local.url + path, timeout=5)
    allowed = None if allow is None else allow if status == 204 else f"{allow}, OPTIONS"
    assert (answer.status_code, answer.headers.get("Allow")) == (status, allowed)
    if status == 204:
        assert answer.content == b"" and "Content-Length" not in answer.headers
    elif method != "HEAD":
        assert answer.headers["Content-Type"].startswith("application/json")
        assert "error" in answer.json()


# -- 3. SPEC 9: "accepts the same POST", chunked too -------------------------------------


def _chunks(body: bytes) -> Iterator[bytes]:
    yield body[:7]
    yield body[7:]


def test_a_chunked_post_is_accepted_and_the_connection_kept(local: LocalCollector) -> None:
    """An HTTP/1.1 server must read a chunked body (RFC 9112 6.1, 7.1); the collector
    refused it with 411 "Content-Length required", so a client that streams its batch
    (requests with a generator, a re-framing proxy) saw its logs refused."""
    logs = [valid_log("chunked"), valid_log("streamed")]
    with requests.Session() as session:
        answer = session.post(local.url + "/v1/request", data=_chunks(json.dumps(logs).encode()),
                              headers={"Content-Type": "application/json"}, timeout=5)
        assert (answer.status_code, answer.json()) == (202, {"accepted": 2})
        assert answer.headers.get("Connection") != "close"
        again = session.post(local.url + "/v1/request", json=[valid_log("after")], timeout=5)
        assert (again.status_code, again.json()) == (202, {"accepted": 1})
    assert local.har is not None and entry_count(local.har.path) == 3


def _raw(url: str, request: bytes) -> bytes:
    """Send ``request`` and read until the collector closes the connection."""
    host, _, port = url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)  # a body cut short ends here
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(("body", "coding", "status"), [
    pytest.param(b"zz\r\n[]\r\n0\r\n\r\n", "chunked", 400, id="size-not-hex"),
    pytest.param(b"0x2\r\n[]\r\n0\r\n\r\n", "chunked", 400, id="size-with-0x"),
    pytest.param(b"2\r\n[]XX0\r\n\r\n", "chunked", 400, id="chunk-without-crlf"),
    pytest.param(b"2\r\n[]\r\n", "chunked", 400, id="cut-short"),
    pytest.param(b"", "gzip, chunked", 501, id="other-coding"),
])
def test_a_malformed_chunked_body_is_refused_and_the_connection_closed(
        local: LocalCollector, body: bytes, coding: str, status: int) -> None:
    port = local.url.rsplit(":", 1)[1]
    answer = _raw(local.url, (
        f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\n\r\n"
    ).encode() + body)
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer
    assert b"\r\nConnection: close" in head
    assert "error" in json.loads(text)


def test_a_chunked_body_with_extensions_and_trailers_is_read(local: LocalCollector) -> None:
    body = json.dumps([valid_log("ext")]).encode()
    conn = http.client.HTTPConnection(local.url.removeprefix("http://"), timeout=5)
    try:
        conn.putrequest("POST", "/v1/request")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"%x;name=value\r\n%s\r\n0\r\nX-Trailer: yes\r\n\r\n" % (len(body), body))
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())) == (202, {"accepted": 1})
    finally:
        conn.close()



# -- 4. SPEC 2: skip_methods from the environment, "a given list replaces the default" ---


@pytest.mark.parametrize(("value", "logged"), [
    pytest.param("[]", True, id="empty-list-logs-every-method"),
    pytest.param(" [ ] ", True, id="empty-list-spaced"),
    pytest.param("", False, id="empty-means-unset-so-the-default"),
    pytest.param("HEAD", True, id="another-list"),
    pytest.param("options", False, id="options-listed"),
])
def test_the_environment_can_give_skip_methods_an_empty_list(
        collector: Collector, monkeypatch: pytest.MonkeyPatch, value: str,
        logged: bool) -> None:
    """An empty variable means unset, so README_SKIP_METHODS could not say "skip no
    method" (to see CORS preflights): README_SKIP_METHODS=[] was refused with "write it
    without brackets: an empty value lists none", and the empty value it pointed to
    kept the default, OPTIONS."""
    monkeypatch.setenv("README_SKIP_METHODS", value)
    middleware = MetricsMiddleware(json_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
    try:
        assert hit(middleware, "/preflight", method="OPTIONS").status.startswith("200")
        assert middleware.flush(5.0) is True
    finally:
        middleware.close()
    methods = [log["request"]["log"]["entries"][0]["request"]["method"]
               for log in collector.logs]
    assert methods == (["OPTIONS"] if logged else [])


# -- 5. SPEC 9: demo's two ports ----------------------------------------------------------


@pytest.mark.parametrize("argv", [
    pytest.param(["--port", "{port}", "--collector-port", "{port}", "--requests", "1"],
                 id="both-given"),
    pytest.param(["--port", "8001"], id="the-collectors-default"),
])
def test_demo_with_one_port_for_both_servers_says_so(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        argv: list[str]) -> None:
    """The collector took the port, and the example API's bind failed with "port N on
    127.0.0.1 is already in use (another collector or app?)": the user went looking for
    another process, while the demo had asked for the same port twice."""
    from readme_metrics.cli import main
    from tests.support.ports import free_port

    monkeypatch.chdir(tmp_path)
    port = str(free_port())
    assert main(["demo", *(arg.format(port=port) for arg in argv)]) == 2
    err = capsys.readouterr().err
    shown = port if "{port}" in argv[1] else argv[1]
    assert err == (f"readme-metrics demo: the example API (--port) and the collector "
                   f"(--collector-port) would both listen on port {shown}: give them two "
                   "ports (or --port 0 to pick a free one)\n"), err
    assert list(tmp_path.iterdir()) == []  # no HAR file begun
