"""What the WSGI capture logs and for whom (SPEC sections 5 and 6): the skip rules, and
the grouping function.

Skipped methods and hosts, a grouping function that returns None, raises or returns the
wrong type; a webob.Request whose body the grouping function can read whether or not the
app read it first, larger than max_body_bytes too; one call per exchange.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import webob

from readme_metrics.masking import mask
from tests.support.capture_wrap import (
    only_log,
    wrap_fixture,  # noqa: F401 - the ``wrap`` fixture
)
from tests.support.contract import DOCS, exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.minimal_server import call, environ_for

# -- what is not logged ------------------------------------------------------------------


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.mark.parametrize("options, method, host, logged", [
    pytest.param({}, "OPTIONS", "api.example.com", False, id="options-skipped-by-default"),
    pytest.param({}, "GET", "api.example.com", True, id="get-logged"),
    pytest.param({"skip_methods": ["HEAD"]}, "OPTIONS", "api.example.com", True,
                 id="given-list-replaces-default"),
    pytest.param({"skip_methods": ["head"]}, "HEAD", "api.example.com", False,
                 id="skip-case-insensitive"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "other.example.com",
                 False, id="host-not-allowed"),
    pytest.param({"allowed_http_hosts": ["API.example.com"]}, "GET", "api.example.com:8080",
                 True, id="host-allowed-with-port"),
    # A fully qualified name's root dot names the same host (as Django's ALLOWED_HOSTS).
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "api.example.com.",
                 True, id="host-allowed-root-dot"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET",
                 "api.example.com.:8080", True, id="host-allowed-root-dot-with-port"),
    pytest.param({"allowed_http_hosts": ["api.example.com."]}, "GET", "api.example.com",
                 True, id="host-allowed-entry-root-dot"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "api.example.co.",
                 False, id="host-not-allowed-root-dot"),
    # Behind a trusted proxy the Host that counts is the one it forwarded, as in the url.
    pytest.param({"allowed_http_hosts": ["api.example.com"], "trusted_proxies": 1}, "GET",
                 "internal:8000|api.example.com", True, id="forwarded-host-allowed"),
    pytest.param({"allowed_http_hosts": ["internal"], "trusted_proxies": 1}, "GET",
                 "internal:8000|api.example.com", False, id="forwarded-host-not-allowed"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET",
                 "internal:8000|api.example.com", False, id="untrusted-forwarded-host"),
    pytest.param({"grouping_function": lambda req: None}, "GET", "api.example.com", False,
                 id="grouping-none"),
    pytest.param({"grouping_function": lambda req: 1 / 0}, "GET", "api.example.com", False,
                 id="grouping-raises"),
    pytest.param({"grouping_function": lambda req: "nope"}, "GET", "api.example.com", False,
                 id="grouping-wrong-type"),
])
def test_skip_rules(wrap, collector, options, method, host, logged) -> None:
    options.setdefault("base_log_url", "https://docs.example.com")
    middleware = wrap(hello, **options)
    host, _, forwarded_host = host.partition("|")
    extra = {"HTTP_X_FORWARDED_HOST": forwarded_host} if forwarded_host else {}
    result = call(middleware, environ_for(method, HTTP_HOST=host, **extra))
    assert result.body == b"hello"
    assert middleware.flush(5)
    assert len(collector.logs) == (1 if logged else 0)
    url = result.header("x-documentation-url")
    if logged:
        assert url == f"https://docs.example.com/logs/{collector.logs[0]['_id']}"
    else:
        assert url is None
    stats = middleware.stats
    assert stats["captured"] == 1
    assert stats["skipped"] == (0 if logged else 1)


def test_grouping_error_is_logged_once_per_message(wrap, collector, caplog) -> None:
    def grouping(req):
        raise RuntimeError("no user table")

    middleware = wrap(hello, grouping_function=grouping)
    with caplog.at_level("ERROR", logger="readme_metrics"):
        for _ in range(5):
            assert call(middleware, environ_for()).body == b"hello"
    messages = [r.getMessage() for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert len(messages) == 1 and "no user table" not in messages[0]


# -- the grouping function -----------------------------------------------------------------


@pytest.mark.parametrize("app_reads", [True, False], ids=["app-reads-first", "app-ignores"])
@pytest.mark.parametrize("access", [
    pytest.param(lambda req: req.body.decode(), id="req.body"),
    pytest.param(lambda req: req.json["user"], id="req.json"),
])
def test_grouping_function_can_read_the_body(wrap, collector, app_reads, access) -> None:
    seen: list[Any] = []
    app_saw: list[bytes] = []

    def grouping(req):
        assert isinstance(req, webob.Request)
        seen.append(access(req))
        return {"api_key": "k-" + req.headers["X-User"], "label": "L"}

    def app(environ, start_response):
        if app_reads:
            app_saw.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        if not app_reads:
            app_saw.append(environ["wsgi.input"].read())  # reading after start_response
        return [b"ok"]

    body = b'{"user": "ada"}'
    call(wrap(app, grouping_function=grouping),
         environ_for("POST", body=body, content_type="application/json", HTTP_X_USER="ada"))
    assert app_saw == [body]
    assert seen[0] in ("ada", body.decode())
    log = only_log(collector)
    assert log["group"]["id"] == mask("k-ada")
    assert log["group"]["label"] == "L"


# -- through the public API, expected values from the SPEC words (SPEC 5 and 6, black box) ---


FORM = ("application/x-www-form-urlencoded", b"user=ana&x=1")


JSON = ("application/json", b'{"user": "ana"}')


@pytest.mark.parametrize("read, request_body, key", [
    pytest.param(lambda req: req.body.decode(), JSON, '{"user": "ana"}', id="req.body"),
    pytest.param(lambda req: req.json["user"], JSON, "ana", id="req.json"),
    pytest.param(lambda req: req.POST["user"], FORM, "ana", id="req.POST"),
])
@pytest.mark.parametrize("app_reads", [True, False], ids=["app-read-first", "app-ignores"])
def test_grouping_function_gets_a_webob_request_with_a_readable_body(
        inline_wrap: Any, collector: Collector, read: Callable[[Any], Any],
        request_body: tuple[str, bytes], key: str, app_reads: bool) -> None:
    content_type, body = request_body
    calls: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        calls.append(req)
        return {"api_key": str(read(req))}

    def ignoring(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("202 Accepted", [("Content-Type", "text/plain")])
        return [b"ok"]

    app: Any = reading_app() if app_reads else ignoring
    _, log, entry = exchange(inline_wrap(app, grouping_function=grouping), collector, method="POST",
                             body=body, headers={"Content-Type": content_type})
    assert len(calls) == 1 and isinstance(calls[0], webob.Request)
    if app_reads:
        assert app.seen["body"] == body
    assert log["group"]["id"] == spec_mask(key)
    post = entry["request"]["postData"]
    # SPEC 6: the key the grouping function returned is masked where the request has it.
    if content_type == FORM[0]:
        assert post["params"] == [{"name": "user", "value": spec_mask("ana")},
                                  {"name": "x", "value": "1"}]
    elif key == "ana":
        assert json.loads(post["text"]) == {"user": spec_mask("ana")}
    else:  # the whole JSON body is the key: its mask, as a JSON string (the body stays JSON)
        assert json.loads(post["text"]) == spec_mask(key)


def test_grouping_function_reading_the_body_before_the_app(inline_wrap: Any,
                                                           collector: Collector) -> None:
    """A webob.Request read ahead (e.g. the app starts its response before reading):
    the app still gets every byte."""
    body = b'{"user": "bo"}'
    got: dict[str, bytes] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        got["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        yield b"ok"

    grouping = lambda req: {"api_key": req.json["user"]}  # noqa: E731
    _, log, _ = exchange(inline_wrap(app, grouping_function=grouping), collector,
                         method="POST", body=body, headers={"Content-Type": "application/json"})
    assert got["body"] == body
    assert log["group"]["id"] == spec_mask("bo")


@pytest.mark.parametrize("read", [
    pytest.param(lambda req: req.POST["key"], id="req.POST"),
    pytest.param(lambda req: req.body[4:7].decode(), id="req.body"),
])
def test_grouping_function_reading_a_body_larger_than_max_body_bytes(
        inline_wrap: Any, collector: Collector, read: Callable[[Any], str]) -> None:
    """The app streamed a large body through; the grouping function still gets a request
    (the kept part) rather than an error that would lose the exchange."""
    body = b"key=abc&data=" + b"x" * 5000
    app = reading_app()
    result, log, entry = exchange(
        inline_wrap(app, max_body_bytes=100, grouping_function=lambda req: {"api_key": read(req)}),
        collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert app.seen["body"] == body
    assert log["group"]["id"] == spec_mask("abc")
    assert entry["request"]["bodySize"] == len(body)
    assert result.header("x-documentation-url") == [f"{DOCS}/logs/{log['_id']}"]


def test_grouping_function_called_once_per_exchange(inline_wrap: Any, collector: Collector) -> None:
    calls: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        calls.append(req)
        return {"api_key": "once"}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"a")
        yield b"b"
        yield b"c"

    exchange(inline_wrap(app, grouping_function=grouping), collector)
    assert len(calls) == 1


# -- the webob.Request made without its __init__ (capture/webob_request.py) --------------


def test_webob_request_made_bare_is_the_constructors() -> None:
    from readme_metrics.capture import webob_request as made

    environ = environ_for("GET", "/items", query="a=1", HTTP_X_API_KEY="k1")
    bare, built = made.webob_request(dict(environ)), webob.Request(dict(environ))
    assert made.BARE  # the installed webob's __init__ only stores the environ
    assert type(bare) is type(built) is webob.Request
    assert bare.__dict__ == built.__dict__
    assert (bare.headers["X-Api-Key"], bare.GET["a"], bare.path) == ("k1", "1", "/items")
    bare.user = "ana"  # an ad-hoc attribute goes into the environ, as webob's does
    assert bare.environ["webob.adhoc_attrs"] == {"user": "ana"}


def test_webob_request_made_by_the_constructor_when_bare_differs(
        monkeypatch: pytest.MonkeyPatch, wrap: Any, collector: Collector) -> None:
    from readme_metrics.capture import webob_request as made

    class Checked(webob.Request):
        def __init__(self, environ: dict[str, Any], **kw: Any) -> None:
            super().__init__(environ, **kw)
            self.__dict__["checked"] = True

    # A webob whose __init__ leaves more than the environ: the probe refuses the bare
    # way, and the request is the constructor's (with what its __init__ left).
    monkeypatch.setattr(made, "Request", Checked)
    assert made._bare_matches() is False
    monkeypatch.setattr(made, "BARE", False)
    assert made.webob_request({"REQUEST_METHOD": "GET"}).__dict__["checked"] is True
    from readme_metrics.capture import wsgi

    monkeypatch.setattr(wsgi, "BARE", False)
    monkeypatch.setattr(wsgi, "Request", Checked)
    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request)
        return {"api_key": request.headers["X-Api-Key"]}

    result = call(wrap(hello, grouping_function=grouping),
                  environ_for("GET", "/", HTTP_X_API_KEY="k2"))
    assert result.status.startswith("200")
    assert type(seen[0]) is Checked and seen[0].__dict__["checked"] is True
    assert only_log(collector)["group"]["id"] == spec_mask("k2")
