"""review92's findings (an adversarial read of twins19's mount point, capture.request's
under_mount): a raw request target that starts with the mount point percent-encoded
otherwise than the quoted SCRIPT_NAME or root_path (a lower-case hex digit, an unreserved
character or a "/" encoded) was logged with the mount point twice, and OPTIONS * under
a mount point as "/api*"; gunicorn's SCRIPT_NAME, percent-encoded as gunicorn takes it,
was quoted again. Real servers on 127.0.0.1 (werkzeug's development server with
werkzeug's DispatcherMiddleware outside the middleware; waitress --url-prefix; gunicorn
with SCRIPT_NAME), raw request lines; each failed on main at 9c89abd and passes with the
fix."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.asgi_scope import request_path
from readme_metrics.capture.request_url import PATH_SAFE, under_mount
from tests.support.contract import inline_options, json_app
from tests.support.fake_api import Collector
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served, waitress_served


def _ask(port: int, line: str) -> bytes:
    """``line`` (a request line) sent raw to 127.0.0.1:``port``; the answer's status line."""
    head = f"{line}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    return answer_to(port, head.encode("latin-1")).split(b"\r\n", 1)[0]


def _logged_urls(collector: Collector, count: int) -> list[str]:
    return sorted(log["request"]["log"]["entries"][0]["request"]["url"]
                  for log in collector.wait_for_logs(count))


def _middleware(collector: Collector) -> Any:
    return MetricsMiddleware(json_app, MetricsApiConfig(
        metrics_api=collector.url, api_key="rdme_review92_mount",
        **inline_options({"skip_methods": []})))


# (mount as DispatcherMiddleware's key, a WSGI string; the request target sent)
DISPATCHED = [("/api", "/a%70i/x"), ("/caf\xc3\xa9", "/caf%c3%a9/x"), ("/a/b", "/a%2Fb/x"),
              ("/api", "/api/x")]


def test_a_target_under_a_dispatched_mount_encoded_otherwise_is_logged_as_received(
        collector: Collector) -> None:
    """werkzeug's DispatcherMiddleware outside the middleware matches the mount on the
    decoded PATH_INFO and moves it to SCRIPT_NAME; the raw target held it percent-encoded
    otherwise than quote(SCRIPT_NAME) gives. Main logged /api/a%70i/x,
    /caf%C3%A9/caf%c3%a9/x and /a/b/a%2Fb/x."""
    pytest.importorskip("werkzeug")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    middleware = _middleware(collector)
    app = DispatcherMiddleware(json_app, {mount: middleware for mount, _ in DISPATCHED})
    try:
        with served("werkzeug", app) as port:
            for _, target in DISPATCHED:
                assert _ask(port, f"GET {target} HTTP/1.1").endswith(b"200 OK")
            urls = _logged_urls(collector, len(DISPATCHED))
    finally:
        middleware.close()
    assert urls == sorted(f"http://127.0.0.1:{port}{target}" for _, target in DISPATCHED)


def test_waitress_url_prefix_with_an_encoded_prefix_and_options_star(
        collector: Collector) -> None:
    """waitress --url-prefix=/api strips the prefix when the decoded path starts with it:
    /a%70i/x was logged /api/a%70i/x. OPTIONS * keeps SCRIPT_NAME /api and PATH_INFO *:
    logged /api* (a path that names another resource), now /* as without a prefix."""
    pytest.importorskip("waitress")
    middleware = _middleware(collector)
    try:
        with waitress_served(middleware, threads=2, url_prefix="/api") as port:
            for line in ("GET /a%70i/x HTTP/1.1", "OPTIONS * HTTP/1.1", "GET /x HTTP/1.1"):
                assert _ask(port, line).endswith(b"200 OK")
            urls = _logged_urls(collector, 3)
    finally:
        middleware.close()
    base = f"http://127.0.0.1:{port}"
    assert urls == sorted([f"{base}/a%70i/x", f"{base}/*", f"{base}/api/x"])


def test_options_star_under_a_root_path_is_star() -> None:
    """ASGI: raw_path "*" under root_path /api was "/api*"."""
    assert request_path({"raw_path": b"*", "path": "*", "root_path": "/api"}) == "/*"


_SEGMENT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF,
                                 exclude_characters="/?#%"), min_size=1, max_size=6)


def _encoded_otherwise(data: st.DataObject, text: str) -> str:
    """``text`` percent-encoded as a client may: each byte left as is where it may be,
    or encoded, its hex digits upper or lower case."""
    out = []
    for byte in text.encode("utf-8"):
        plain = quote(bytes([byte]), safe=PATH_SAFE)
        if plain == chr(byte) and not data.draw(st.booleans()):
            out.append(plain)
        else:
            hexed = f"%{byte:02X}"
            out.append(hexed.lower() if data.draw(st.booleans()) else hexed)
    return "".join(out)


@given(st.lists(_SEGMENT, min_size=1, max_size=3), st.lists(_SEGMENT, max_size=3),
       st.data())
def test_a_target_starting_with_the_mount_in_any_encoding_keeps_it_once(
        mount: list[str], rest: list[str], data: st.DataObject) -> None:
    """A target whose decoded path starts with the mount point is logged as received;
    one that starts with the mount's last segments (a router's mount behind the server's
    prefix) gets the segments before them; one that starts with none of its segments
    gets the mount point in front once."""
    quoted = quote("/" + "/".join(mount), safe=PATH_SAFE)
    sent = "/" + "/".join(_encoded_otherwise(data, part) for part in mount + rest)
    assert under_mount(sent, quoted) == sent
    assert under_mount(sent + "?q=1", quoted + "/") == sent + "?q=1"
    other = "/" + "/".join(_encoded_otherwise(data, part) for part in rest)
    if not set(rest[:1]) & set(mount):
        assert under_mount(other, quoted) == quoted + other
    if len(set(mount)) == len(mount) > 1:
        cut = data.draw(st.integers(1, len(mount) - 1))
        inner = "/" + "/".join(_encoded_otherwise(data, part) for part in mount[cut:] + rest)
        outer = quote("/" + "/".join(mount[:cut]), safe=PATH_SAFE)
        assert under_mount(inner, quoted) == outer + inner


def test_gunicorn_script_name_given_percent_encoded_is_not_doubled(
        collector: Collector, tmp_path: Any) -> None:
    """gunicorn matches its SCRIPT_NAME (environment or header) to the raw path, as
    given, and passes it on so: a mount with a space or a non-ASCII letter is given
    percent-encoded (``SCRIPT_NAME=/my%20app``). It was quoted again, and /my%20app/x was
    logged /my%2520app/my%20app/x."""
    pytest.importorskip("gunicorn")
    import requests

    from tests.support.ports import free_port
    from tests.test_e2e_servers import GUNICORN, serve, server_env

    port = free_port()
    argv = [sys.executable, *GUNICORN, "--worker-class=sync", f"--bind=127.0.0.1:{port}",
            "tests.support.twins19_apps:wsgi_app"]
    env = server_env(collector, SCRIPT_NAME="/my%20app")
    with serve(argv, env, tmp_path, port) as base:
        for path in ("/my%20app/x", "/my%20app/caf%C3%A9"):
            assert requests.get(base + path, headers={"X-Api-Key": "k"},
                                timeout=10).status_code < 500
        urls = _logged_urls(collector, 2)
    assert urls == sorted(f"{base}{path}" for path in ("/my%20app/x", "/my%20app/caf%C3%A9"))


def test_a_router_mount_behind_a_server_prefix_is_not_doubled(collector: Collector) -> None:
    """waitress --url-prefix=/api (a proxy strips /api) and werkzeug's
    DispatcherMiddleware mounting /sub around the middleware: SCRIPT_NAME /api/sub, the
    raw target /sub/x. Main logged /api/sub/sub/x; the client asked for /api/sub/x."""
    pytest.importorskip("werkzeug")
    pytest.importorskip("waitress")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    middleware = _middleware(collector)
    app = DispatcherMiddleware(json_app, {"/sub": middleware})
    try:
        with waitress_served(app, threads=2, url_prefix="/api") as port:
            for target in ("/sub/x", "/api/sub/y"):
                assert _ask(port, f"GET {target} HTTP/1.1").endswith(b"200 OK")
            urls = _logged_urls(collector, 2)
    finally:
        middleware.close()
    base = f"http://127.0.0.1:{port}"
    assert urls == [f"{base}/api/sub/x", f"{base}/api/sub/y"]
