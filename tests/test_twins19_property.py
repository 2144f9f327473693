"""One capture core (SPEC 3), random part: a random request logs the same under WSGI and
ASGI.

tests/test_twins19_wsgi_asgi.py's table, drawn at random: method, route (the app reads
the body, or not; 204, 302, streaming, a denied or allowed JSON answer), a path segment
and a query of pieces (``+``, ``%2B``, ``%C3%A9``, ``%20``, a bare ``%``, ``;``, blank and
repeated keys), a Cookie and an Authorization header, a Content-Type, a body (bytes,
text, JSON, form, sometimes over max_body_bytes) sent with a Content-Length or chunked,
and the plain, deny or allow middleware. Each request goes as raw bytes to the WSGI app
under gunicorn and to the ASGI app under uvicorn, both kept running on 127.0.0.1; the two
logs the collector gets are compared as the table's are.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.support.raw_requests import answer_to
from tests.test_e2e_servers import CALLER, serve, server_env
from tests.test_twins19_wsgi_asgi import argv, differences, normalised

pytestmark = pytest.mark.e2e

PAIR = ("gunicorn", "uvicorn")
_LOG_ID = re.compile(rb"(?i)\r\nx-documentation-url: \S+/logs/([0-9a-f-]+)\r\n")

QUERY_PIECES = ["a", "b", "name", "password", "=", "&", "+", "%2B", "%C3%A9", "%20", "%",
                ";", "%26", "~"]
PATH_PIECES = ["x", "caf%C3%A9", "%20", "%2F", "+", ";v=1", "~", "%25"]
TYPES = [None, "application/json", "application/x-www-form-urlencoded",
         "multipart/form-data; boundary=b", "text/plain; charset=utf-8",
         "application/octet-stream", "application/xml", "application/vnd.api+json"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "password", "token", "a", "nested", "x"]), children,
        max_size=3), max_leaves=8)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=60).map(str.encode),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.lists(st.sampled_from(QUERY_PIECES), max_size=10).map(lambda p: "".join(p).encode()),
    st.integers(4097, 6000).map(lambda n: b"y" * n),
)


@st.composite
def requests_(draw: Any) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    route = draw(st.sampled_from(["/echo", "/noread", "/json", "/stream", "/nocontent",
                                  "/redirect", "/secret"]))
    segment = "".join(draw(st.lists(st.sampled_from(PATH_PIECES), max_size=3)))
    query = "".join(draw(st.lists(st.sampled_from(QUERY_PIECES), max_size=12)))
    headers = [("X-Api-Key", CALLER),
               ("X-Twin-Config", draw(st.sampled_from(["plain", "deny", "allow"])))]
    if draw(st.booleans()):
        headers.append(("Cookie", draw(st.sampled_from(
            ["session=abc; theme=dark", "a=1; a=2; blank=", "password=p;name=n"]))))
    if draw(st.booleans()):
        headers.append(("Authorization", "Bearer t0k3n"))
    body = draw(BODIES) if method != "GET" or draw(st.booleans()) else None
    content_type = draw(st.sampled_from(TYPES))
    if content_type is not None and body is not None:
        headers.append(("Content-Type", content_type))
    chunked = body is not None and draw(st.booleans())
    if body is not None:
        headers.append(("Transfer-Encoding", "chunked") if chunked
                       else ("Content-Length", str(len(body))))
    target = route + (f"/{segment}" if segment else "") + (f"?{query}" if query else "")
    return {"method": method, "target": target, "headers": headers, "body": body,
            "chunked": chunked}


def raw(request: dict[str, Any], port: int) -> bytes:
    head = f"{request['method']} {request['target']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request["headers"])
    head += "Connection: close\r\n\r\n"
    body = request["body"] or b""
    if request["chunked"]:
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                        for i in range(0, len(body), 50)) + b"0\r\n\r\n"
    return head.encode("latin-1") + body


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    collector = Collector().start()
    tmp = tmp_path_factory.mktemp("twins19-property")
    ports = {}
    with ExitStack() as stack:
        for server in PAIR:
            port = ports[server] = free_port()
            stack.enter_context(serve(argv(server, port), server_env(collector), tmp, port))
        yield {"collector": collector, "ports": ports}
    collector.stop()


def log_of(collector: Collector, answer: bytes) -> dict[str, Any]:
    found = _LOG_ID.search(answer)
    if found is None and answer.startswith(b"HTTP/1.1 400 "):
        # The server's own 400, the app never called: daphne (Twisted) refuses a
        # malformed multipart body so. Nothing to compare.
        reject()
    assert found, answer[:500]
    log_id = found.group(1).decode()
    deadline = time.monotonic() + PATIENCE
    while True:
        logs = [log for log in collector.logs if log["_id"] == log_id]
        if logs:
            return logs[0]
        assert time.monotonic() < deadline, f"no log {log_id}"
        time.sleep(0.01)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=requests_())
def test_a_random_request_logs_the_same_under_wsgi_and_asgi(
        servers: dict[str, Any], request: dict[str, Any]) -> None:
    logs = {}
    for server, port in servers["ports"].items():
        answer = answer_to(port, raw(request, port))
        logs[server] = normalised(log_of(servers["collector"], answer), server,
                                  request["chunked"])
    wsgi, asgi = PAIR
    assert not differences(logs[wsgi], logs[asgi]), "\n".join(
        differences(logs[wsgi], logs[asgi]))
