"""hostile18's findings: odd encodings and hostile clients where earlier hunts did not look.

1. Two Cookie headers. wsgiref (so Django's runserver), werkzeug's development server,
   gunicorn and waitress join a header sent twice with "," (waitress ", "): a client
   sending ``Cookie: a=1`` and ``Cookie: password=...`` gives the app
   ``HTTP_COOKIE="a=1,password=..."``, and so does one header written that way. webob,
   whose Request the grouping function gets, and ``http.cookies`` read a ``password``
   cookie there (werkzeug, Django and Starlette read one cookie ``a``); the log read one
   cookie ``a``, its value and the Cookie header masked with the denied value's last
   four characters at the end of each mask, where a cookie the denylist names after a
   ";" is ``[REDACTED n]`` before it is masked.
2. Binary data under a text type. SPEC 4 records a body "that decodes as text" exactly as
   received and binary data as base64. A body of a text type (JSON, text/*, XML) that is
   no UTF-8 and in no charset it declares or its bytes show was logged as ISO 8859-1,
   which decodes any bytes: a zip, an image or a protobuf sent as application/json went
   out as latin-1 text full of NULs and other controls, a dashboard showing other
   characters than were received, none saying the text was a guess. Decided: ISO 8859-1
   is kept as the last resort for text (a latin-1 JSON body without its charset reads
   right, and the lists find its keys), but not for bytes holding a C0 control no text
   holds (NUL, the controls before the tab, those after the carriage return but ESC:
   the test a body of a type that is not text already got): they are binary, recorded
   as base64 with ``comment: base64`` (``encoding: base64`` in a response).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har.cookies import request_cookies
from readme_metrics.har.headers import headers as har_headers
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import body_on, entry_of, make_exchange
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import entry_of as entry_of_log
from tests.test_e2e_servers import raw_answer, serve, server_env

# -- 1. A denied cookie after a "," -------------------------------------------------------

#: A denied cookie's value, its last four characters found nowhere else in a log.
SECRET = "s3cr3t-Qz9X"
TAIL = SECRET[-4:]
DENY = Redactor(denylist=["password"])


def _values(records: list[dict[str, str]]) -> str:
    return " ".join(record["value"] for record in records)


@pytest.mark.parametrize("cookie", [
    pytest.param(f"a=1,password={SECRET}", id="joined-by-comma"),
    pytest.param(f"a=1, password={SECRET}", id="joined-by-comma-space"),
    pytest.param(f"a=1,Password={SECRET}; b=2", id="other-case-then-more"),
    pytest.param(f"a=1; b=2,password={SECRET},c=3", id="between-others"),
    pytest.param(f"password={SECRET},a=1", id="first"),
])
def test_a_denied_cookie_after_a_comma_shows_none_of_its_value(cookie: str) -> None:
    records = request_cookies(cookie, DENY)
    header = har_headers([("Cookie", cookie)], DENY)[0]
    assert TAIL not in _values(records), records
    assert TAIL not in _values(header), header


def test_a_comma_in_a_cookie_the_denylist_does_not_name_is_left_as_it_was() -> None:
    """Only a denied name's value is redacted: the cookies are still read at ";" only,
    as werkzeug, Django and Starlette read them (a value may hold a ",")."""
    assert [r["name"] for r in request_cookies("a=1,b=2; c=3", DENY)] == ["a", "c"]
    assert request_cookies("a=1,b=2", DENY) == request_cookies("a=1,b=2", None)


@given(st.lists(st.sampled_from(["a=1", "b=x,y", "password=" + SECRET, "PASSWORD=" + SECRET,
                                 " c = 2 ", "d", "", "e=f=g"]), min_size=1, max_size=6),
       st.lists(st.sampled_from([";", ",", ", ", "; "]), min_size=5, max_size=5))
def test_no_separator_lets_a_denied_cookies_tail_out(pieces: list[str], glue: list[str]) -> None:
    cookie = pieces[0] + "".join(sep + piece for sep, piece in zip(glue, pieces[1:]))
    assert TAIL not in _values(request_cookies(cookie, DENY))
    assert TAIL not in _values(har_headers([("Cookie", cookie)], DENY)[0])


# The servers that join a Cookie header sent twice with ",", and two ASGI servers (which
# pass both headers on: the capture joins them with ";").
COOKIE_SERVERS: dict[str, tuple[Any, str]] = {
    **{name: (WSGI_SERVERS[name], "tests.support.e2e_apps:plain_app")
       for name in ("werkzeug", "wsgiref", "waitress", "gunicorn-sync")},
    **{name: (ASGI_SERVERS[name], "tests.support.asgi_apps:starlette_app")
       for name in ("uvicorn", "hypercorn")},
}


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(COOKIE_SERVERS))
def test_two_cookie_headers_show_none_of_a_denied_cookie_under_each_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector, README_DENYLIST="password",
                     DJANGO_SETTINGS_MODULE="tests.support.asgi_apps")
    argv, app = COOKIE_SERVERS[server]
    request = (f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"X-Api-Key: owlbert-cookie-caller\r\nCookie: a=1\r\n"
               f"Cookie: password={SECRET}\r\nConnection: close\r\n\r\n").encode()
    with serve(argv(port, app), env, tmp_path, port):
        assert raw_answer(port, request).split(b" ", 2)[1] == b"200"  # (wsgiref: HTTP/1.0)
        logs = collector.wait_for_logs(1)
    assert_valid_log(logs[0])
    posted = b"".join(r.body for r in collector.received if r.path == "/v1/request")
    assert SECRET[:6].encode() not in posted
    assert TAIL.encode() not in posted, entry_of_log(logs[0])["request"]["cookies"]


def test_an_unlisted_cookie_after_a_comma_in_a_listed_one_shows_none_of_its_value() -> None:
    """With an allowlist, a cookie it does not list is redacted: after a "," too."""
    records = request_cookies(f"a=1,password={SECRET}", Redactor(allowlist=["a"]))
    assert TAIL not in _values(records), records


# -- 2. Binary data under a text type -----------------------------------------------------

#: Bytes that are no UTF-8 and hold controls no text holds, as sent under a text type.
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xe9\x8b\x84Y" + bytes(range(256))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
PROTOBUF = b"\x08\x96\x01\x12\x07testing\x1a\x03\xff\xfe\xfd"


def _recorded(side: str, content_type: str, body: bytes, **options: Any) -> dict[str, Any]:
    """The HAR postData (``side`` "request") or content ("response") of ``body``."""
    entry = entry_of(body_on(side, [("Content-Type", content_type)], body), **options)
    return entry["request"]["postData"] if side == "request" else entry["response"]["content"]


def _is_base64_of(record: dict[str, Any], side: str, body: bytes) -> bool:
    said = record.get("comment") if side == "request" else record.get("encoding")
    return said == "base64" and base64.b64decode(record["text"]) == body


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize(("content_type", "body"), [
    pytest.param("application/json", ZIP, id="zip-as-json"),
    pytest.param("text/plain", PNG, id="png-as-text"),
    pytest.param("application/json; charset=utf-8", PROTOBUF, id="protobuf-as-utf-8-json"),
    pytest.param("application/xml", b"<a>\x00\xff</a>", id="nul-in-xml"),
    pytest.param("application/vnd.api+json", b'{"a":"\x01\x80"}', id="controls-in-json"),
])
def test_binary_data_under_a_text_type_is_recorded_as_base64(
        side: str, content_type: str, body: bytes) -> None:
    record = _recorded(side, content_type, body)
    assert _is_base64_of(record, side, body), record


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize(("content_type", "body", "text"), [
    pytest.param("application/json", b'{"n":"caf\xe9"}', '{"n":"caf\u00e9"}',
                 id="latin-1-json-without-its-charset"),
    pytest.param("text/plain", b"tab\tline\r\n\x1b[1mbold\xb0", "tab\tline\r\n\x1b[1mbold\u00b0",
                 id="whitespace-and-esc-are-text"),
    pytest.param("text/plain; charset=latin-1", b"\x00caf\xe9", "\x00caf\u00e9",
                 id="declared-latin-1-is-read-in-it"),
    pytest.param("application/json", b'{"n":"\x00"}', '{"n":"\x00"}', id="utf-8-with-a-nul"),
])
def test_text_that_only_latin_1_or_its_charset_reads_is_still_text(
        side: str, content_type: str, body: bytes, text: str) -> None:
    record = _recorded(side, content_type, body)
    assert record["text"] == text
    assert "base64" not in (record.get("comment"), record.get("encoding"))


def test_binary_data_under_json_that_spells_a_denied_key_is_redacted_whole() -> None:
    """As base64 it may not carry a denied value out: redacted whole, as other binary
    data is (and as such JSON was, when it could not be parsed)."""
    body = b'{"password":"hunter2","pad":"\x00\xff"}'
    record = _recorded("request", "application/json", body, redactor=DENY)
    assert record["text"].startswith("[REDACTED"), record
    assert "redacted whole" in record["comment"]


def test_the_callers_key_in_binary_data_under_json_is_masked() -> None:
    key = "owlbert-binary-key-4321"
    exchange = body_on("request", [("Content-Type", "application/json")],
                       b"\x00\xff" + key.encode() + b"\x01")
    exchange.group = Group(key)
    record = entry_of(exchange)["request"]["postData"]
    assert record["comment"] == "base64"
    assert key.encode() not in base64.b64decode(record["text"])


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize("spelled", [
    pytest.param(b'{"k":"owlbert\\u002dbinary-key-4321"}', id="json-escaped"),
    pytest.param(b"k=owlbert%2Dbinary-key-4321", id="percent-encoded"),
    pytest.param(base64.b64encode(b"owlbert-binary-key-4321"), id="base64"),
    pytest.param(b"owlbert-binary-key-4321", id="as-is"),
])
def test_the_callers_key_spelled_otherwise_in_binary_data_under_json_is_masked(
        side: str, spelled: bytes) -> None:
    """The spellings the key's text reading masked (a JSON escape, percent-encoding, its
    base64) while such a body was recorded as latin-1 text stay masked as base64."""
    key = "owlbert-binary-key-4321"
    exchange = body_on(side, [("Content-Type", "application/json")],
                       b"\x00\xff" + spelled + b"\x01")
    exchange.group = Group(key)
    entry = entry_of(exchange)
    record = entry["request"]["postData"] if side == "request" else entry["response"]["content"]
    data = base64.b64decode(record["text"])
    assert data.startswith(b"\x00\xff") and data.endswith(b"\x01")
    assert data[2:-1] != spelled, data


@given(st.binary(min_size=1, max_size=64), st.sampled_from(
    ["\x00", "\x01", "\x07", "\x08", "\x0e", "\x1a", "\x1c", "\x1f"]),
       st.sampled_from(["application/json", "text/plain", "text/csv", "application/xml"]))
def test_no_utf_8_with_a_control_under_a_text_type_is_base64_of_the_bytes(
        data: bytes, control: str, content_type: str) -> None:
    # A byte no UTF-8 has, and a control: (a first byte other than a mark or NUL pattern.)
    body = b"x" + data + control.encode() + b"\xff"
    record = entry_of(make_exchange(
        method="POST", request_headers=[("Content-Type", content_type)],
        request_body=body, request_body_size=len(body)))["request"]["postData"]
    assert _is_base64_of(record, "request", body), (body, record)
