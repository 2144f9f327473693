"""odds12's items (older leftovers of NOTE20/NOTE21, mostly ASGI): each test failed on
main at c359a53 and passes with its fix, under real parts (real middlewares and bridges,
the collector on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.asgi_messages import CLIENT_GONE_COMMENT
from tests.support.asgi_stack import (
    BRIDGES,
    httpx_get,
    layer_config,
    logged_once_through_a_bridge,
)
from tests.support.delivery import said_on, through_proxy
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.support.wsgi_servers import served
from tests.test_asgi_client_got import (
    ALL,
    _entries,
    _servers,
    assert_left_stream_logged_as_far_as_it_went,
)
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import serve, server_env

# -- 1. a layer between the ASGI layer and a bridge rewrites the scope's path -------------


def _path_rewriting(app: Any) -> Any:
    """A middleware of another project that strips a version prefix on a copy of the
    scope (as API gateways and mount helpers do) before the app it wraps."""
    async def rewrite(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            scope = {**scope, "path": scope["path"][3:], "raw_path": scope["raw_path"][3:]}
        await app(scope, receive, send)
    return rewrite


@pytest.mark.parametrize("bridge", BRIDGES)
def test_a_path_rewritten_between_the_asgi_layer_and_a_bridge_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """The ASGI layer of a project, a middleware rewriting the path on a scope copy, an
    ASGI-to-WSGI bridge, the WSGI app wrapped for the same project: the bridged environ
    did not have the recorded scope's path, so the WSGI layer took it for another
    exchange and both logged each request (4 logs for 2)."""
    pytest.importorskip("httpx")
    assert logged_once_through_a_bridge(
        collector, "rdme_odds12_rewritten_1111", lambda inner: _path_rewriting(bridge(inner)),
        ["/v1/items/0", "/v1/items/1"]) == [b"/items/0", b"/items/1"]


def test_a_wsgi_app_called_in_process_from_the_same_address_is_still_logged(
        collector: Collector) -> None:
    """The other side of that rule (review17's in-process case, with the client's
    address): an endpoint calling a WSGI app of the project in process for another path,
    with an environ of its own (its own headers), makes an exchange of its own."""
    pytest.importorskip("httpx")

    def own_environ(scope: Any) -> list[dict[str, Any]]:
        environ = wsgi_environ("GET", "/inner", {"Host": "api.test"})
        environ["REMOTE_ADDR"] = scope["client"][0]
        return [environ]

    assert _logged_apart(collector, "rdme_odds12_in_process_2222", "/outer", own_environ,
                         body=lambda environ: "inner") == b"inner"


# -- 2. a middleware outside hands on a bound method of an object of its own as send --------

GZIP_OUTSIDE = "tests.support.asgi_left:starlette_gzip_root"


@pytest.mark.e2e
@pytest.mark.parametrize("server", _servers("uvicorn-h11", "daphne"))
def test_a_client_gone_behind_a_method_wrapping_send_is_logged_as_closed_by_the_client(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Starlette's GZipMiddleware, added after the metrics middleware (so outside it),
    hands it ``responder.send_with_compression``, a bound method of an object of its
    own that holds the server's ``send`` as an attribute. That bound method was taken
    for the server's ``send``: a client gone before the answer was logged with the app's
    200 and body (the client got nothing; 499 behind a closure or a partial)."""
    port = free_port()
    barrier = tmp_path / "barrier"
    with serve(ALL[server](port, GZIP_OUTSIDE), server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, "wrap", "late", "GET", f"/late?barrier={barrier}"))
            time.sleep(0.1)  # the request is in
        barrier.touch()  # the socket is closed: now the app answers
        response = _entries(collector, 1)["late"]["response"]
    assert (response["status"], response["content"]["size"]) == (499, 0)
    assert response["comment"] == CLIENT_GONE_COMMENT + "; the app answered 200"


@pytest.mark.e2e
@pytest.mark.parametrize("server", _servers("uvicorn-httptools", "daphne", "hypercorn"))
def test_a_stream_left_behind_a_method_wrapping_send_is_logged_as_far_as_it_went(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The stream the client left, behind GZipMiddleware outside (identity: no
    Accept-Encoding): one log, the four chunks the client got and at most a few more.
    It was logged as sent in full."""
    assert_left_stream_logged_as_far_as_it_went(collector, tmp_path, server, GZIP_OUTSIDE)


# -- 3. a WSGI app that is a class (PEP 3333), its instances with an async __call__ ------------


class IterableApp:
    """PEP 3333's application class: calling it with (environ, start_response) makes the
    response, an iterable instance. Its instances are also awaitable callbacks of their
    own (an ``async def __call__`` taking nothing of WSGI): the class is a WSGI app all
    the same, and a server calls the class."""

    def __init__(self, environ: dict[str, Any], start_response: Any) -> None:
        self.path = environ["PATH_INFO"]
        start_response("200 OK", [("Content-Type", "text/plain")])

    def __iter__(self) -> Any:
        yield b"class app at " + self.path.encode()

    async def __call__(self) -> str:  # pragma: no cover - never awaited here
        return self.path


def test_a_wsgi_app_class_whose_instances_have_an_async_call_is_taken(
        collector: Collector) -> None:
    """The class's ``__call__`` attribute is its instances' method: async, so the WSGI
    middleware refused the class at construction as an ASGI app (TypeError), where a
    WSGI server serves it. Now taken: the answer is the bare app's, and logged."""
    config = MetricsApiConfig(api_key="rdme_odds12_class_app", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": "caller"},
                              buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT)
    bare = run_wsgi(IterableApp, wsgi_environ("GET", "/c"))
    middleware = MetricsMiddleware(IterableApp, config)
    try:
        wrapped = run_wsgi(middleware, wsgi_environ("GET", "/c"))
        assert (wrapped.status, wrapped.body) == (bare.status, bare.body) == (
            "200 OK", b"class app at /c")
        url = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]["request"]["url"]
        assert url.endswith("/c"), url
    finally:
        middleware.close()


class Asgi2App:
    """ASGI 2's double callable: the class takes the scope, its instance's async
    ``__call__`` takes (receive, send). No WSGI server can call it: still refused."""

    def __init__(self, scope: Any) -> None:
        self.scope = scope

    async def __call__(self, receive: Any, send: Any) -> None:  # pragma: no cover
        pass


def test_an_asgi2_app_class_is_still_refused_by_the_wsgi_middleware() -> None:
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    with pytest.raises(TypeError, match=r"app is an ASGI app \(Asgi2App: "):
        MetricsMiddleware(Asgi2App, config)


def test_the_asgi_middleware_refuses_a_wsgi_app_class_whose_instances_have_an_async_call(
        ) -> None:
    """The mirror: the ASGI middleware took such a class for an ASGI app (its instances'
    ``__call__`` async), and every request failed (an ASGI server calls the class with
    three arguments). It is refused at construction, as other WSGI apps are."""
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    with pytest.raises(TypeError, match=r"app is a WSGI app \(IterableApp: it takes"):
        AsgiLayer(IterableApp, config)


# -- 4. a proxy named by this machine's own name or address ----------------------------------


def _lan_address() -> str:
    """This machine's address on its default route (a UDP socket's connect: no packet
    goes out, no name is looked up); skipped on a machine without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked at
        except OSError:
            pytest.skip("no route off loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no address off loopback")
    return address


@pytest.mark.parametrize("proxy_host", [
    pytest.param(lambda: socket.gethostname(), id="hostname"),
    pytest.param(lambda: socket.gethostname().upper() + ".", id="hostname-caps-dot"),
    pytest.param(_lan_address, id="lan-address"),
])
def test_a_proxy_named_by_this_machines_own_name_or_address_is_not_said_in_the_way(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        proxy_host: Any) -> None:
    """A proxy on this machine named by its hostname (``socket.gethostname()``) or its LAN
    address: the start-up check said "a proxy cannot reach this machine's loopback
    address" (it can: it runs here). The name is compared, never resolved; an address is
    this machine's when a socket can be bound to it. Nothing is posted."""
    host = proxy_host()
    through_proxy(monkeypatch, f"http://{host}:3128")
    logger = logging.getLogger(f"odds12-proxy-here-{host}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                              logger=logger, metrics_api=f"http://127.0.0.1:{free_port()}")
    MetricsMiddleware(lambda environ, start_response: [], config).close()
    assert said_on(caplog, logger) == []


@pytest.mark.parametrize("proxy_host", [
    pytest.param(lambda: "192.0.2.10", id="another-address"),
    pytest.param(lambda: "proxy-of-" + socket.gethostname(), id="another-name"),
    pytest.param(lambda: socket.gethostname()[:-1] or "x", id="a-shorter-name"),
])
def test_a_proxy_elsewhere_is_still_said_in_the_way(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        proxy_host: Any) -> None:
    host = proxy_host()
    through_proxy(monkeypatch, f"http://{host}:3128")
    logger = logging.getLogger(f"odds12-proxy-elsewhere-{host}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                              logger=logger, metrics_api=f"http://127.0.0.1:{free_port()}")
    MetricsMiddleware(lambda environ, start_response: [], config).close()
    (said,) = said_on(caplog, logger)
    assert "a proxy cannot reach this machine's loopback address" in said, said


# -- 5. werkzeug's server given two Content-Lengths reads the body by the last ----------------

SMUGGLED = "Bearer odds12-next-request-secret"


def _two_lengths(port: int) -> bytes:
    """A POST declaring Content-Length 3, then 80, with a body of 3 bytes and the next
    request pipelined after it (its Authorization in clear); werkzeug's answer."""
    request = ("POST /a HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
               "Content-Length: 3\r\nContent-Length: 80\r\n\r\nabc"
               f"GET /b HTTP/1.1\r\nHost: x\r\nAuthorization: {SMUGGLED}\r\n"
               "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n\r\n", 1)[1]  # the body (no Date)


@pytest.mark.parametrize("reads", [False, True], ids=["unread", "read-by-the-app"])
def test_a_body_under_two_content_lengths_is_logged_no_further_than_the_smaller(
        collector: Collector, reads: bool) -> None:
    """werkzeug's development server (``flask run``) keeps the last of two Content-Length
    lines in CONTENT_LENGTH and reads the body by it: the environ does not show the
    first. The log's body took in the next request pipelined after the 3 bytes, its
    Authorization value in clear. werkzeug's handler still has both lines (found behind
    its ``start_response``): the log keeps no more than the smaller length, marked
    truncated; the app reads what it reads bare."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])) if reads else b""
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d bytes: %s" % (len(body), body.split(b"\r\n")[0])]

    config = MetricsApiConfig(api_key="rdme_odds12_two_lengths", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": "caller"},
                              buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT)
    middleware = MetricsMiddleware(app, config)
    try:
        with served("werkzeug", app) as port:
            bare = _two_lengths(port)
        with served("werkzeug", middleware) as port:
            wrapped = _two_lengths(port)
        assert wrapped == bare
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    finally:
        middleware.close()
    assert SMUGGLED not in json.dumps(entry)
    post = entry["request"]["postData"]
    assert post["text"] == "abc", post


def _start_response_wrapping(inner: Any) -> Any:
    """A middleware of another project between werkzeug's server and ours that wraps
    ``start_response`` (as Sentry's, OpenTelemetry's and werkzeug's LintMiddleware do)."""
    def outer(environ: dict[str, Any], start_response: Any) -> Any:
        def wrapped(status: str, headers: Any, exc_info: Any = None) -> Any:
            return start_response(status, headers, exc_info)

        return inner(environ, wrapped)

    return outer


def _partial_start_response(inner: Any) -> Any:
    """The same through functools.partial (Sentry's WSGI middleware binds its own
    function to the server's ``start_response`` so)."""
    def call(start_response: Any, status: str, headers: Any, exc_info: Any = None) -> Any:
        return start_response(status, headers, exc_info)

    def outer(environ: dict[str, Any], start_response: Any) -> Any:
        return inner(environ, functools.partial(call, start_response))

    return outer


@pytest.mark.parametrize("front", [_start_response_wrapping, _partial_start_response,
                                   LintMiddleware], ids=["closure", "partial", "lint"])
def test_two_content_lengths_behind_a_start_response_wrapped_in_between(
        collector: Collector, front: Any) -> None:
    """The same request with a middleware between werkzeug's server and ours that wraps
    ``start_response``: werkzeug_lengths looked at the ``start_response`` it was given
    only, found no werkzeug handler behind it, and the log's body took in the next
    request, its Authorization value in clear. (The app reads the body, as bare: behind
    LintMiddleware's input an unread body is not read for the log.)"""
    two_lengths_behind(collector, front, "rdme_odds12_two_lengths")


def two_lengths_behind(collector: Collector, front: Callable[[Any], Any], api_key: str
                       ) -> None:
    """:func:`_two_lengths` under werkzeug, ``front`` (a middleware) between the server
    and ours, an app reading its body: the log's body is the 3 bytes, the pipelined
    request's secret not in it."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    config = MetricsApiConfig(api_key=api_key, metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": "caller"},
                              buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT)
    middleware = MetricsMiddleware(app, config)
    try:
        with served("werkzeug", front(middleware)) as port:
            _two_lengths(port)
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    finally:
        middleware.close()
    assert SMUGGLED not in json.dumps(entry)
    assert entry["request"]["postData"]["text"] == "abc"


# -- 6. the duplicate-name check, without reading the text a second time ------------------


_ROWS = [{"id": i, "password_hint": "h", "at": "2026-12-03T06:00:00Z"} for i in range(50)]


@pytest.mark.parametrize("text", [
    pytest.param(json.dumps({"items": _ROWS}), id="colons-in-strings"),
    pytest.param(json.dumps({"items": [{"id": i, "password_hint": "h"} for i in range(50)]}),
                 id="no-colon-in-strings"),
    pytest.param(json.dumps({"items": _ROWS}, indent=2), id="indented"),
])
def test_a_denied_name_only_inside_other_names_reads_the_text_once(
        monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """"password" only inside "password_hint": nothing to redact, the text goes out as
    sent, and it was read a second time (repeats_a_name's hook parse: 2.1 -> 3.2 ms on
    112 KB, review24) to rule out a member named twice. Its members are counted in the
    text (colons, quotes before them) against the document's keys instead."""
    from readme_metrics.har import redaction, redaction_walk

    calls: list[str] = []
    real = redaction_walk.repeats_a_name
    monkeypatch.setattr(redaction_walk, "repeats_a_name",
                        lambda text: calls.append(text) or real(text))
    assert redaction.Redactor(denylist=["password"]).json_text(text) == text
    assert calls == []


@pytest.mark.parametrize("text", [
    pytest.param('{"a": {"password": "odds12-secret"}, "a": 1}', id="plain"),
    pytest.param('{"a" : {"password" : "odds12-secret"}, "a" : 1, "t": "12:00"}',
                 id="spaced-colons"),
    pytest.param('{"x":1, "a" :{"password":"odds12-secret"}, "a" :1}', id="some-spaced"),
    pytest.param('{"a":{"password":"odds12-secret"},"u":"http://h:1/","a":1}',
                 id="colons-in-strings"),
    pytest.param('[{"k": 1}, {"a": [{"password": "odds12-secret"}], "a": 2}]',
                 id="in-an-array"),
    pytest.param('{"a":\n  {"password": "odds12-secret"},\n "a"\n:\t1}', id="newlines"),
    pytest.param('{"s": "\\":", "a": {"password": "odds12-secret"}, "a": 1}',
                 id="escaped-quote-colon-in-a-string"),
    pytest.param('{"password_hint": 1, "a": {"password": "odds12-secret"}, "a": 1}',
                 id="denied-name-also-inside-another"),
])
def test_a_member_named_twice_is_still_written_back(text: str) -> None:
    """The guarantee the count keeps: an earlier value of a member named twice, never
    in the document read, holding a denied key, does not go out (the text is written
    back from the document), whatever the spacing and colons of the text."""
    from readme_metrics.har.redaction import Redactor

    for redactor in (Redactor(denylist=["password"]), Redactor(allowlist=["a"])):
        out = redactor.json_text(text)
        assert out is not None and "odds12-secret" not in out, (redactor, out)


def _written(value: Any, draw: Any, st: Any, values: Any) -> str:
    """``value`` as JSON text with drawn spacing around colons and commas, and, in some
    objects, a member written again before its last value (a name named twice)."""
    space = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])
    if isinstance(value, dict):
        members = [(json.dumps(k), _written(v, draw, st, values)) for k, v in value.items()]
        if members and draw(st.booleans()):
            name, _ = members[draw(st.integers(0, len(members) - 1))]
            members.insert(0, (name, _written(draw(values), draw, st, values)))
        return "{" + ",".join(f"{draw(space)}{k}{draw(space)}:{draw(space)}{v}"
                              for k, v in members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(f"{draw(space)}{_written(v, draw, st, values)}"
                              for v in value) + "]"
    return json.dumps(value)


def _values() -> Any:
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.integers(), st.sampled_from(
        ["a:b", '"q":', "12:00", "http://h:1/", "", "password"]))
    names = st.sampled_from(["a", "b", "password", "x:y", 'q":'])
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
        max_leaves=12)


def test_the_member_count_never_misses_a_name_named_twice() -> None:
    """Property: whenever the text may name a member twice (repeats_a_name says so, by
    its hook parse), the count says so too; texts of drawn documents, spacing, colons
    in strings and names, and repeated members."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from readme_metrics.har.deep_json import repeats_a_name
    from readme_metrics.har.redaction import Redactor
    from readme_metrics.har.redaction_json import more_members_than
    from readme_metrics.har.redaction_walk import walk

    walker = Redactor(denylist=["password"])
    values = _values()

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.data())
    def check(data: Any) -> None:
        text = _written(data.draw(values), data.draw, st, values)
        document = json.loads(text)
        if not isinstance(document, (dict, list)):
            return
        _, keys = walk(walker, document, False)
        if repeats_a_name(text):
            assert more_members_than(text, keys), text

    check()


def test_sub_requests_forwarding_the_clients_headers_for_other_paths_are_each_logged(
        collector: Collector) -> None:
    """The limit of the path-rewrite rule above (review30's fan-out probe): an endpoint
    serving /dashboard fetches /users and /orders from a WSGI app of the project in
    process, forwarding the client's headers and address. Neither path is the recorded
    one with a prefix stripped or added: two exchanges of their own, three logs in all
    (455c2a2 took both for the dashboard's, one log)."""
    pytest.importorskip("httpx")

    def forwarded(scope: Any) -> list[dict[str, Any]]:
        environs = []
        for path in ("/users", "/orders"):
            environ = wsgi_environ(scope["method"], path, {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in scope["headers"]})
            environ["REMOTE_ADDR"] = scope["client"][0]
            environs.append(environ)
        return environs

    assert _logged_apart(collector, "rdme_odds12_fan_out_3333", "/dashboard",
                         forwarded) == b"/users+/orders"


def _logged_apart(collector: Collector, key: str, path: str,
                  sub_requests: Callable[[Any], list[dict[str, Any]]], *,
                  body: Callable[[dict[str, Any]], str] = lambda environ: environ["PATH_INFO"],
                  ) -> bytes:
    """The ASGI layer of project ``key`` over an endpoint that, serving ``path``, calls
    the WSGI layer of the same project in process (asyncio.to_thread) for each environ
    ``sub_requests(scope)`` gives, on an app answering ``body(environ)``, and answers
    their bodies joined by "+". Asserts the call logged once by the ASGI layer and each
    sub-request once by the WSGI layer; the answer's body."""
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body(environ).encode()]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))

    made: list[dict[str, Any]] = []

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        made.extend(sub_requests(scope))
        parts = [await asyncio.to_thread(run_wsgi, inner, environ) for environ in made]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"+".join(p.body for p in parts)})

    outer = AsgiLayer(endpoint, layer_config(collector, key))
    try:
        answer = httpx_get(outer, path).content
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(1 + len(made), 0.5)
        assert outer.stats["captured"] == 1 and inner.stats["captured"] == len(made)
    finally:
        outer.close()
        inner.close()
    return answer
