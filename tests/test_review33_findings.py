"""review33's items: an adversarial look at review29's, review32's and the lead's nesting
landings. Each test failed without its fix (on main at cbfc2d6) and passes with it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from tests.support.asgi_stack import BRIDGES, logged_once_through_a_bridge
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_hostile8_findings import BODIES, _digest, _logged_body, _middleware, _ReadsInClose

# -- 1. werkzeug: the app's own reads in close() went through the discard's tap ---------


class _SaysClose(_ReadsInClose):
    """hostile8's response whose ``close()`` reads the body, that first sets ``closing``:
    werkzeug calls ``close()`` once its discard is over (found nothing to read)."""

    def __init__(self, environ: dict[str, Any], read: list[str],
                 closing: threading.Event) -> None:
        super().__init__(environ, read)
        self.closing = closing

    def close(self) -> None:
        self.closing.set()
        super().close()


def _reads_in_close_saying(read: list[str], closing: threading.Event) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("202 Accepted", [("Content-Type", "text/plain")])
        return _SaysClose(environ, read, closing)

    return app


def _post_in_two(port: int, body: bytes, split: int, read: list[str],
                 closing: threading.Event) -> None:
    """POST ``body``: its head and first ``split`` bytes, then, once the app's close()
    began (werkzeug's 10 ms discard found nothing to read: it calls close() after), the
    rest, for the app's close(). Waits on the events, not on a time: under load a fixed
    pause could end before werkzeug's discard began (which then read the rest)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:split])
        answer = b""
        while b"accepted" not in answer:
            data = sock.recv(65536)
            assert data, answer
            answer += data
        assert closing.wait(30), "the app's close() was not called"
        sock.sendall(body[split:])
        deadline = time.monotonic() + 30
        while not read and time.monotonic() < deadline:
            time.sleep(0.01)
        assert read, "the app's close() read nothing in 30 s"


@pytest.mark.parametrize("kind", ["werkzeug", "werkzeug-unthreaded"])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_werkzeug_a_close_reading_the_rest_as_it_arrives_is_logged_once(
        collector: Collector, background: bool, kind: str) -> None:
    """Part of the body arrives with the head, the rest after werkzeug's discard found
    nothing to read: the app's close() reads it (bare and wrapped: the whole body). The
    socket under werkzeug's reader was still tapped for the discard then, so the rest the
    app read went to the log twice, once through the tap and once through the tee: a
    2048-byte body logged as 3096 bytes, its last 1048 repeated."""
    body = BODIES["under-the-limit"]
    read: dict[str, list[str]] = {"bare": [], "wrapped": []}
    closing = {"bare": threading.Event(), "wrapped": threading.Event()}
    with served(kind, _reads_in_close_saying(read["bare"], closing["bare"])) as port:
        _post_in_two(port, body, 1000, read["bare"], closing["bare"])
    middleware = _middleware(_reads_in_close_saying(read["wrapped"], closing["wrapped"]),
                             collector, background)
    with served(kind, middleware) as port:
        _post_in_two(port, body, 1000, read["wrapped"], closing["wrapped"])
    logged = _logged_body(collector, middleware)
    middleware.close()
    assert read["bare"] == [_digest(body)]
    assert read["wrapped"] == read["bare"]
    assert logged == (len(body), body)


# -- 2. nesting: a path rewritten other than by a prefix (a trailing slash) ---------------


def _slash_adding(app: Any) -> Any:
    """A middleware of another project that adds a trailing slash on a copy of the scope
    (so that the routes declared with one match without a redirect)."""
    async def rewrite(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].endswith("/"):
            scope = {**scope, "path": scope["path"] + "/", "raw_path": scope["raw_path"] + b"/"}
        await app(scope, receive, send)
    return rewrite


@pytest.mark.parametrize("bridge", BRIDGES)
def test_a_trailing_slash_added_between_the_asgi_layer_and_a_bridge_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """The ASGI layer of a project, a middleware adding a trailing slash on a scope copy,
    an ASGI-to-WSGI bridge, the WSGI app wrapped for the same project: 9fc08be took a
    bridged environ for the recorded exchange only when its path was the recorded one with
    a prefix stripped or added, so /items/0/ was another exchange than /items/0 and both
    layers logged each request (4 logs for 2; 1 log each before 9fc08be)."""
    pytest.importorskip("httpx")
    assert logged_once_through_a_bridge(
        collector, "rdme_review33_slash_3333", lambda inner: _slash_adding(bridge(inner)),
        ["/items/0", "/items/1"]) == [b"/items/0/", b"/items/1/"]


def _behind_root_path(app: Any, root: str) -> Any:
    """The scope as uvicorn --root-path makes it: the root_path, and in the path too."""
    async def server(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path": root, "path": root + scope["path"],
                     "raw_path": root.encode() + scope["raw_path"]}
        await app(scope, receive, send)
    return server


def _version_stripping_after(root: str, app: Any) -> Any:
    """A middleware of another project that strips a version prefix after the root_path
    (the path under uvicorn --root-path holds it), on a copy of the scope."""
    async def rewrite(scope: Any, receive: Any, send: Any) -> None:
        versioned = f"{root}/v1/"
        if scope["type"] == "http" and scope["path"].startswith(versioned):
            rest = scope["path"][len(versioned) - 1:]
            scope = {**scope, "path": root + rest, "raw_path": (root + rest).encode()}
        await app(scope, receive, send)
    return rewrite


@pytest.mark.parametrize("bridge", BRIDGES)
def test_a_version_prefix_stripped_after_the_root_path_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """Under uvicorn --root-path /pre the path holds the root_path (/pre/v1/items/0): a
    middleware stripping the version prefix after it makes /pre/items/0, which is the
    recorded path with a part in its middle taken out, not a prefix: 9fc08be's rule took
    the bridged environ for another exchange, and both layers logged each request (4 logs
    for 2; 2 before 9fc08be)."""
    pytest.importorskip("httpx")
    assert logged_once_through_a_bridge(
        collector, "rdme_review33_root_4444",
        lambda inner: _version_stripping_after("/pre", bridge(inner)),
        ["/v1/items/0", "/items/1"], around=lambda outer: _behind_root_path(outer, "/pre"),
        body=lambda environ: f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}",
    ) == [b"/pre|/items/0", b"/pre|/items/1"]
