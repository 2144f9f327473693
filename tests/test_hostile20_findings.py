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
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.credentials import MIN_SUBSTRING_KEY
from readme_metrics.masking import mask
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.hostile20_apps import REQUESTS
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import raw_answer, serve, server_env
from tests.test_har_credentials import _carrying, _strings, _without

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


def _posted(collector: Collector) -> bytes:
    return b"".join(r.body for r in collector.received if r.path == "/v1/request")


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
