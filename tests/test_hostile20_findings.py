"""hostile20's findings: the caller's own key where the last hunts did not look.

1. A key that is not ASCII, read from a header (``request.headers["X-Api-Key"]`` under
   every WSGI server, PEP 3333's latin-1 environ, and under every ASGI server, whose
   header bytes Starlette reads as latin-1): the grouping function gets the latin-1
   reading of the UTF-8 bytes the client sent (``"cl\\u00c3\\u00a9..."`` for
   ``cl\\u00e9...``). The log shows those bytes as the UTF-8 text they are, in that header,
   any other header, the url and query (percent-encoded), a form, JSON, text, multipart
   and base64 data; that text was sent in clear everywhere (only the credential header
   itself was masked): waitress, gunicorn, werkzeug's server, uvicorn and hypercorn,
   23 clear and 13 percent-encoded copies in 7 logs. Decided: the UTF-8 text is the value
   the request carried, so it is masked as the key, with the key's mask (as
   ``group.id``), as a key with lone surrogates already was (its other reading, an
   alias).
2. A request body declared a form that is JSON (jQuery's default type) holding a byte
   that is no UTF-8 (a Windows client's ``\x93hi\x94``) read as latin-1: the C1 controls
   U+0093/U+0094, where the same body as JSON or text/plain reads windows-1252's curly
   quotes (hostile19). It is read as a JSON body without a charset is, ``\u201chi\u201d``.
3. An ASGI scope whose header names are bytearrays (no valid ASGI, but Starlette's
   request, and so the app, reads them as bytes): the exchange went unlogged, with
   "could not start capturing" and its traceback at ERROR each request (a bytearray is no
   dict key), and under the plain ASGI middleware the grouping request failed the same
   way. Decided: such names are read as bytes, and the exchange is logged as with bytes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.credentials import MIN_SUBSTRING_KEY
from readme_metrics.har.redaction import Redactor
from readme_metrics.masking import mask
from tests.support.asgi import GROUP, http_scope, run
from tests.support.capture_wrap import wrapping
from tests.support.exchanges import post
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.hostile20_apps import REQUESTS
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import raw_answer, serve, server_env
from tests.test_har_credentials import _carrying, _strings, _without
from tests.test_hostile19_findings import _posted

#: A key beyond ASCII, as a client sends it (UTF-8) and as a header gives it to the app.
TEXT = "cl\u00e9\u20ac-\u00fcn\u00efcode-98765"
READ = TEXT.encode("utf-8").decode("latin-1")

# -- 1. A key read from a header as latin-1 -------------------------------------------

_PLACES = ["header", "credential-header", "cookie", "query", "path", "form", "multipart",
           "json", "text", "binary", "response-header", "location", "set-cookie", "basic",
           "json-escaped", "form-plus"]


def _exchange(place: str, text: str) -> Any:
    data = text.encode("utf-8")
    if place == "basic":  # under a name that is no credential header's (an upstream's echo)
        from tests.support.exchanges import make_exchange
        return make_exchange(request_headers=[
            ("X-Upstream", "Basic " + base64.b64encode(b"u:" + data).decode())])
    if place == "json-escaped":
        return _carrying("json", json.dumps(text)[1:-1].encode())
    if place == "form-plus":
        return _carrying("form", quote_plus(text).encode())
    return _carrying(place, data)


def _clear(text: str) -> set[str]:
    """How a log can show ``text`` in clear: as is, percent- or form-encoded, in base64
    (after a two-byte prefix: the Basic credential's ``u:``), JSON-escaped."""
    data = text.encode("utf-8")
    encoded = base64.b64encode(b"u:" + data).decode()
    return {text, quote(text, safe=""), quote_plus(text), json.dumps(text)[1:-1],
            encoded[3:3 + len(data) * 4 // 3 - 4]}


def _leaked(log: dict[str, Any], text: str, read: str) -> list[str]:
    masks = {mask(read), quote(mask(read), safe="")}
    return [string for string in _strings(log) for spelling in _clear(text)
            if spelling in _without(string, masks)]


@pytest.mark.parametrize("place", _PLACES)
def test_a_key_read_from_a_header_as_latin_1_is_masked_as_the_text_it_is(place: str) -> None:
    """Before: the UTF-8 text in clear in every place but the credential header."""
    exchange = _exchange(place, TEXT)
    exchange.group = Group(READ, "Owlbert")
    log = json.loads(json.dumps(build_log(exchange)))
    assert_valid_log(log)
    assert log["group"]["id"] == mask(READ)  # what the grouping function returned
    assert _leaked(log, TEXT, READ) == []


_NOT_ASCII = st.text(st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                                   exclude_categories=("Cs",)), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.text("abcXYZ019-_.~", max_size=12), odd=_NOT_ASCII,
       tail=st.text("abcXYZ019-_.~", max_size=12), place=st.sampled_from(_PLACES))
def test_any_key_beyond_ascii_read_as_latin_1_is_never_in_clear(
        head: str, odd: str, tail: str, place: str) -> None:
    """A key with characters beyond ASCII anywhere, as a header gives it (latin-1), in a
    random place of a request or its response: neither reading is in clear."""
    text = head + odd + tail
    read = text.encode("utf-8").decode("latin-1")
    exchange = _exchange(place, text)
    exchange.group = Group(read, "Owlbert")
    log = json.loads(json.dumps(build_log(exchange)))
    assert_valid_log(log)
    if len(read) >= MIN_SUBSTRING_KEY and len(text) >= MIN_SUBSTRING_KEY:
        assert _leaked(log, text, read) == []


def test_an_ascii_key_has_no_other_reading() -> None:
    """The alias is made for a key beyond ASCII only: an ASCII key's CallerKey is as
    before (no other reading to look for, nothing more to pay per log)."""
    from readme_metrics.har.credentials import CallerKey

    assert CallerKey("rdme_xn8s9h4f2k7q1w3e5r6t").aliases == ()
    assert [alias.key for alias in CallerKey(READ).aliases] == [TEXT]
    assert CallerKey(TEXT).aliases == ()  # its latin-1 bytes are no UTF-8: none


_SERVERS = {
    "waitress": WSGI_SERVERS["waitress"], "gunicorn-sync": WSGI_SERVERS["gunicorn-sync"],
    "uvicorn": ASGI_SERVERS["uvicorn"], "hypercorn": ASGI_SERVERS["hypercorn"],
}
_TARGETS = {"uvicorn": "tests.support.hostile20_apps:asgi_app",
            "hypercorn": "tests.support.hostile20_apps:asgi_app"}


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(_SERVERS))
def test_a_key_beyond_ascii_under_each_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """The hunt's requests (tests/support/hostile20_apps.py: the key in the path, the
    query three ways, cookies, a Token and a Bearer header, Basic under other names, a
    form, JSON, text, multipart names and file names), the app echoing the key in a
    header, a Location and a Set-Cookie: the posted bytes hold none of the key's
    spellings. Before: 23 clear copies, 13 percent-encoded, 3 in base64."""
    port = free_port()
    target = _TARGETS.get(server, "tests.support.hostile20_apps:app")
    requests = REQUESTS(TEXT)
    with serve(_SERVERS[server](port, target), server_env(collector), tmp_path, port):
        for request in requests:
            assert raw_answer(port, request).startswith(b"HTTP/1.1 200")
        logs = collector.wait_for_logs(len(requests))
    for log in logs:
        assert_valid_log(log)
        assert log["group"]["id"] == mask(READ)
    posted = _posted(collector).decode("utf-8")
    for masked in (mask(READ), quote(mask(READ), safe="")):
        posted = posted.replace(masked, "")
    assert [spelling for spelling in _clear(TEXT) if spelling in posted] == []
    assert READ not in posted


# -- 2. A form that is JSON, not UTF-8 -----------------------------------------------

DENY = Redactor(denylist=["password"])


def _text(content_type: str, body: bytes) -> str:
    log = json.loads(json.dumps(build_log(post(content_type, body), redactor=DENY)))
    assert_valid_log(log)
    return str(log["request"]["log"]["entries"][0]["request"]["postData"]["text"])


@pytest.mark.parametrize("charset", ["", "; charset=UTF-8", "; charset=windows-1252"])
def test_a_form_that_is_json_reads_windows_1252_as_json_does(charset: str) -> None:
    """Before: ``{"password":"[REDACTED 1]","note":"\x93hi\x94"}`` (C1 controls)."""
    body = b'{"password":"x","note":"\x93hi\x94"}'
    text = _text("application/x-www-form-urlencoded" + charset, body)
    assert text == '{"password":"[REDACTED 1]","note":"\u201chi\u201d"}'
    assert text == _text("application/json", body) == _text("text/plain", body)


@settings(max_examples=200, deadline=None)
@given(value=st.binary(max_size=30).map(lambda data: data.replace(b'"', b"").replace(
    b"\\", b"")), cut=st.booleans())
def test_a_form_that_is_json_reads_as_the_same_json(value: bytes, cut: bool) -> None:
    """Any bytes in a string of a JSON document declared a form read as the same
    document declared JSON does, redacted key by key (whole or cut short)."""
    body = b'{"password":"x","note":"' + value + b'"}'
    if cut:
        body = body[:-2]
    form, as_json = (build_log(post(content_type, body), redactor=DENY)[
        "request"]["log"]["entries"][0]["request"]["postData"]
        for content_type in ("application/x-www-form-urlencoded", "application/json"))
    if "params" not in form and "declared a form is JSON" in form.get("comment", ""):
        assert form["text"] == as_json["text"]


# -- 3. ASGI header names as bytearrays -----------------------------------------------

_PAIRS = [(b"host", b"api.example.com"), (b"x-api-key", b"abc"),
          (b"content-type", b"text/plain"), (b"content-length", b"2"),
          (b"user-agent", b"hostile20")]


def _middlewares() -> list[Any]:
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.starlette import ReadMeMetricsMiddleware
    return [pytest.param(MetricsMiddleware, id="asgi"),
            pytest.param(ReadMeMetricsMiddleware, id="starlette")]


@pytest.mark.parametrize("middleware", _middlewares())
def test_bytearray_header_names_are_logged_as_bytes_ones(
        middleware: Any, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """Before: no log, "could not start capturing" at ERROR each request (and, past it,
    "grouping failed" under the plain middleware)."""
    seen: list[Any] = []
    keys: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.extend(scope["headers"])
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def grouping(request: Any) -> dict[str, str]:
        keys.append(request.headers.get("X-Api-Key"))
        return dict(GROUP)

    headers = []
    with caplog.at_level(logging.DEBUG, logger="readme_metrics"), wrapping(
            collector, middleware) as make:
        wrapped = make(app, grouping_function=grouping)
        for shape in (bytes, bytearray):
            pairs = [(shape(name), shape(value)) for name, value in _PAIRS]
            done = asyncio.run(run(wrapped, {**http_scope(method="POST"), "headers": pairs},
                                   [{"type": "http.request", "body": b"hi"}]))
            assert done.error is None and done.body == b"ok"
            logs = collector.wait_for_logs(len(headers) + 1)
            headers.append(logs[-1]["request"]["log"]["entries"][0]["request"]["headers"])
    assert keys == ["abc", "abc"]
    assert [tuple(map(bytes, pair)) for pair in seen] == _PAIRS * 2
    assert headers[0] == headers[1]
    assert {"name": "User-Agent", "value": "hostile20"} in headers[1]
    assert [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING or "failed" in record.getMessage()] == []
