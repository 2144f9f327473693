"""A status no HTTP status line can carry still gives one valid log (SPEC sections 4, 5).

The Metrics API (and the local collector, whose validator is used here) refuses a whole
batch when one log in it is invalid, so an app answering ``"2000 OK"``, ``"abc"`` or ``""``
must not produce a log with such a status. The app's answer passes unchanged; the log
says 500 (the client got no valid HTTP answer) and its comment quotes what the app gave.
A status the server refuses (start_response or send raises) is logged as the 500 the
server answers instead, never as the status it refused.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware
from readme_metrics.cli.collector.validation import validate_log
from readme_metrics.exchange import INVALID_STATUS
from readme_metrics.har import build_log
from tests.support.asgi import http_scope, run
from tests.support.capture_wrap import owlbert, wrap_fixture  # noqa: F401 - the fixture
from tests.support.exchanges import make_exchange
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.minimal_server import call, environ_for

BAD_STATUSES = [
    pytest.param("1 X", id="one-digit"),
    pytest.param("abc", id="letters"),
    pytest.param("2000 OK", id="four-digits"),
    pytest.param("", id="empty"),
    pytest.param(" 200 OK", id="leading-space"),
    pytest.param("2_00 OK", id="underscore"),  # int() reads it as 200
    pytest.param("+200 OK", id="plus-sign"),  # int() reads it as 200
    pytest.param("\u0662\u0660\u0660 OK", id="arabic-indic-digits"),  # int(): 200 too
    pytest.param("099 Low", id="below-100"),
    pytest.param("200\tOK", id="tab-not-space"),
    pytest.param("200 OK\r\nX-Injected: 1", id="line-break"),
]


def _only_log(collector: Collector) -> dict[str, Any]:
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1
    assert validate_log(logs[0]) == []
    return logs[0]


def _response(log: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = log["request"]["log"]["entries"][0]["response"]
    return response


def _status_app(status: Any) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain")])
        return [b"body"]

    return app


@pytest.mark.parametrize("status", BAD_STATUSES)
def test_wsgi_status_no_status_line_can_carry(wrap: Any, collector: Collector,
                                              status: str) -> None:
    bare = call(_status_app(status), environ_for())
    wrapped = call(wrap(_status_app(status)), environ_for())
    assert (wrapped.status, wrapped.body) == (bare.status, bare.body) == (status, b"body")
    response = _response(_only_log(collector))
    assert (response["status"], response["statusText"]) == (500, "Internal Server Error")
    assert repr(status) in response["comment"]
    assert response["content"]["text"] == "body"


class _Status(str):
    """A str subclass, as some frameworks hand over."""


@pytest.mark.parametrize(("status", "code", "text"), [
    pytest.param("200 OK", 200, "OK", id="plain"),
    pytest.param(_Status("201 Made"), 201, "Made", id="str-subclass"),
    pytest.param("200", 200, "OK", id="no-reason"),  # gunicorn accepts it: standard phrase
    pytest.param("404 Not  Found ", 404, "Not  Found ", id="reason-as-sent"),
    pytest.param("999 Custom", 999, "Custom", id="highest"),
    pytest.param("200 caf\xe9", 200, "caf\xe9", id="obs-text-reason"),
])
def test_wsgi_valid_status_is_logged_as_sent(wrap: Any, collector: Collector, status: str,
                                             code: int, text: str) -> None:
    call(wrap(_status_app(status)), environ_for())
    response = _response(_only_log(collector))
    assert (response["status"], response["statusText"]) == (code, text)
    assert "comment" not in response


def test_wsgi_status_not_a_string_reaches_the_server_unchanged(wrap: Any,
                                                               collector: Collector) -> None:
    """werkzeug's server accepts b"200 OK"; the middleware must not raise before it."""
    wrapped = call(wrap(_status_app(b"200 OK")), environ_for())
    assert wrapped.status == b"200 OK"
    response = _response(_only_log(collector))
    assert response["status"] == 500 and "b'200 OK'" in response["comment"]


def test_wsgi_status_the_server_refuses_is_logged_as_its_500(wrap: Any,
                                                             collector: Collector) -> None:
    """gunicorn's start_response raises for "2000 OK"; the app's error propagates and the
    server answers 500: the log says 500, not 2000."""
    def refusing_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        raise ValueError(f"Invalid status {status!r}")

    with pytest.raises(ValueError, match="Invalid status"):
        wrap(_status_app("2000 OK"))(environ_for(), refusing_start_response)
    response = _response(_only_log(collector))
    assert (response["status"], response["statusText"]) == (500, "Internal Server Error")
    assert "comment" not in response


@pytest.mark.parametrize("status", [
    pytest.param(2000, id="four-digits"), pytest.param(1, id="one-digit"),
    pytest.param(0, id="zero"), pytest.param(-200, id="negative"),
    pytest.param("abc", id="letters"), pytest.param("2000", id="string-four-digits"),
    pytest.param(None, id="none"), pytest.param(True, id="bool"),
    pytest.param(20.0, id="float-two-digits"), pytest.param([200], id="unhashable"),
    pytest.param(b"", id="bytes-empty"),
])
def test_asgi_status_no_status_line_can_carry(collector: Collector, status: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"body"})

    middleware = AsgiMiddleware(app, MetricsApiConfig(
        api_key="rdme_status_key", metrics_api=collector.url, grouping_function=owlbert,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
    try:
        result = asyncio.run(run(middleware, http_scope()))
    finally:
        middleware.close()
    assert result.error is None
    assert result.start["status"] is status and result.body == b"body"
    response = _response(_only_log(collector))
    assert (response["status"], response["statusText"]) == (500, "Internal Server Error")
    assert repr(status) in response["comment"]


@pytest.mark.parametrize(("status", "code"), [
    pytest.param("200", 200, id="string"), pytest.param(200.0, 200, id="float"),
    pytest.param(" 404 ", 404, id="string-spaces"),
])
@pytest.mark.parametrize("refused_at", [None, "first-body"])
def test_asgi_status_no_int_the_server_takes_is_logged_as_sent(
        collector: Collector, status: Any, code: int, refused_at: Any) -> None:
    """A status that is no int, which the server takes: hypercorn sends ``int(status)``
    ("200" as 200; it was logged 500). daphne takes the start and refuses it with the
    first body message (writing nothing): logged 500, with the comment, as before."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"body"})

    async def server_send(message: Any) -> None:
        if refused_at and message["type"] == "http.response.body":
            raise TypeError("%d format: a real number is required, not str")

    middleware = AsgiMiddleware(app, MetricsApiConfig(
        api_key="rdme_status_key", metrics_api=collector.url, grouping_function=owlbert,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))

    async def call() -> None:
        try:
            await middleware(http_scope(), _no_body, server_send)
        except TypeError:
            assert refused_at
        else:
            assert not refused_at

    try:
        asyncio.run(call())
    finally:
        middleware.close()
    response = _response(_only_log(collector))
    if refused_at:
        assert (response["status"], response["content"]["size"]) == (500, 0)
        assert repr(status) in response["comment"]
    else:
        assert (response["status"], response["statusText"]) == (code, HTTPStatus(code).phrase)
        assert response["content"]["text"] == "body" and "comment" not in response


async def _no_body() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


@pytest.mark.parametrize(("status", "code", "text"), [
    pytest.param(200, 200, "OK", id="int"),
    pytest.param(HTTPStatus.CREATED, 201, "Created", id="http-status-enum"),
    pytest.param(999, 999, "", id="highest"),
])
def test_asgi_valid_status_is_logged(collector: Collector, status: Any, code: int,
                                     text: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = AsgiMiddleware(app, MetricsApiConfig(
        api_key="rdme_status_key", metrics_api=collector.url, grouping_function=owlbert,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
    try:
        asyncio.run(run(middleware, http_scope()))
    finally:
        middleware.close()
    response = _response(_only_log(collector))
    assert (response["status"], response["statusText"]) == (code, text)
    assert "comment" not in response


def test_asgi_start_the_server_refuses_is_logged_as_500(collector: Collector) -> None:
    """uvicorn raises from send() for a start it cannot write: not logged as that start."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def refusing_send(message: Any) -> None:
        raise RuntimeError("invalid header")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    middleware = AsgiMiddleware(app, MetricsApiConfig(
        api_key="rdme_status_key", metrics_api=collector.url, grouping_function=owlbert,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
    try:
        with pytest.raises(RuntimeError, match="invalid header"):
            asyncio.run(middleware(http_scope(), receive, refusing_send))
    finally:
        middleware.close()
    assert _response(_only_log(collector))["status"] == 500


def test_har_builder_logs_an_int_enum_status_as_its_number() -> None:
    """A Django view may set ``response.status_code = HTTPStatus.CREATED``."""
    log = build_log(make_exchange(status=HTTPStatus.CREATED, status_text="Created"))
    assert validate_log(log) == []
    assert _response(log)["status"] == 201 and "comment" not in _response(log)


@pytest.mark.parametrize(("status", "text", "quoted"), [
    pytest.param(2000, "OK", "'2000 OK'", id="too-large"),
    pytest.param(99, "", "'99'", id="too-small"),
    pytest.param(INVALID_STATUS, "abc", "'abc'", id="unreadable"),
])
def test_har_builder_never_logs_an_impossible_status(status: int, text: str,
                                                     quoted: str) -> None:
    """Whatever adapter made the exchange (a Django view can set status_code = 2000)."""
    log = build_log(make_exchange(status=status, status_text=text))
    assert validate_log(log) == []
    response = _response(log)
    assert response["status"] == 500 and quoted in response["comment"]


class _Text(str):
    """A reason phrase that is a str subclass (an app's own type)."""


@pytest.mark.parametrize(("status", "text"), [
    pytest.param(200, "OK", id="usual"),
    pytest.param(100, "Continue", id="lowest"),
    pytest.param(999, "Mine", id="highest"),
    pytest.param(99, "Low", id="below"),
    pytest.param(1000, "High", id="above"),
    pytest.param(HTTPStatus.CREATED, "Created", id="int-enum"),
    pytest.param(True, "Yes", id="bool"),
    pytest.param(200, _Text("OK"), id="text-subclass"),
    pytest.param(404, 404, id="text-not-str"),
    pytest.param(INVALID_STATUS, "abc", id="unreadable"),
])
def test_the_response_status_is_what_status_makes_of_it(status: Any, text: Any) -> None:
    """build_log tests the usual status (an int of 3 digits, a str reason) without
    calling _status; whatever it gets, the log's status, text and comment are _status's."""
    from readme_metrics.har.build import _status

    response = _response(build_log(make_exchange(status=status, status_text=text)))
    expected_status, expected_text, comment = _status(status, text)
    assert response["status"] == expected_status
    assert response["status"].__class__ is int
    assert response["statusText"] == expected_text
    assert response["statusText"].__class__ is str
    assert response.get("comment") == comment


def test_a_status_seen_before_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request thread stays a few microseconds: the status line's pattern runs once
    per distinct status (an app answers with a handful), not on every request."""
    from readme_metrics.capture import recorder

    pattern = recorder._STATUS_LINE
    matched: list[str] = []

    class Counting:
        def fullmatch(self, text: str) -> Any:
            matched.append(text)
            return pattern.fullmatch(text)

    monkeypatch.setattr(recorder, "_STATUS_LINE", Counting())
    # An empty cache: one filled to its bound by the test below, run before this one in
    # the same process, would have every status parsed again (as it should).
    monkeypatch.setattr(recorder, "_known", {})
    status = "203 Seen Before Here"
    assert [recorder.status_parts(status) for _ in range(5)] == [(203, "Seen Before Here")] * 5
    assert matched == [status]
    bad = "2000 Seen Before"
    assert [recorder.status_parts(bad) for _ in range(2)] == [(INVALID_STATUS, bad)] * 2


def test_the_known_statuses_stay_bounded() -> None:
    """An app making up a reason per request cannot grow the request thread's memory."""
    from readme_metrics.capture import recorder

    for n in range(3 * recorder.KNOWN_STATUSES):
        assert recorder.status_parts(f"200 reason {n}") == (200, f"reason {n}")
    assert len(recorder._known) <= recorder.KNOWN_STATUSES
