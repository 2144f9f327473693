"""hostile7's items: hostile clients and odd encodings under real servers (raw sockets,
the collector on 127.0.0.1, tests/support/hostile_apps.py served bare and wrapped side by
side), and the pure functions behind what they found. Each test failed without its fix
(on main at ed38dd6, or 999e13b for the last) and passes with it."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.exchange import Group
from readme_metrics.har.redaction import Redactor
from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401
from tests.support.exchanges import entry_of, post
from tests.support.fake_api import Collector, free_port
from tests.support.wsgi_servers import served
from tests.test_asgi_servers import HAVE_GRANIAN
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile6_findings import LIMIT, _logged, _request_of
from tests.test_hostile_servers import SERVERS, _answer, _normalized, _post, _request

pytestmark = pytest.mark.e2e

# -- 1. a JSON member named twice, a denied key under the first ------------------------

SECRET = "hostile7-denied-secret"
REPEATED = json.dumps({"a": {"password": SECRET}})[:-1] + ', "a": 1}'


@pytest.mark.parametrize("server", ["waitress", "uvicorn"])
def test_a_denied_key_under_a_repeated_member_is_not_sent(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """``{"a": {"password": "..."}, "a": 1}``: json.loads keeps the last ``a``, so the
    denylist found nothing to redact in the document it read, and the body was logged
    byte for byte as received, the password under the first ``a`` in clear. A document
    naming a member twice is written back as read (each name's last value, as
    json.loads, Flask, Django and Starlette read it) whenever it could hide a listed
    key, so what is sent is what was checked."""
    cases = {"repeated": _post("/echo", REPEATED.encode(), b"Content-Type: application/json")}
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT), README_DENYLIST="password")
    with serve(SERVERS[server](port), env, tmp_path, port):
        logs = _logged(collector, port, server, cases)

    assert _request_of(logs["repeated"])["postData"] == {
        "mimeType": "application/json", "text": '{"a":1}'}
    for batch in collector.received:
        assert SECRET.encode() not in batch.body


def _json_post(body: str, content_type: str = "application/json") -> Any:
    return post(content_type, body.encode(), group=Group("caller-key-7", "l", "e"))


def _posted(entry: dict[str, Any]) -> str:
    return json.dumps(entry["request"].get("postData"))


# (body, Content-Type, denylist, allowlist)
REPEATS = {
    "denied-under-first": (REPEATED, "application/json", ["password"], []),
    "in-an-array": (f"[{REPEATED}]", "application/json", ["password"], []),
    "deeper": ('{"x": ' + REPEATED + "}", "application/json", ["password"], []),
    "dotted-path": (REPEATED.replace('"a"', '"user"'), "application/json",
                    ["user.password"], []),
    "allowlist-hides-first": (REPEATED, "application/json", [], ["a"]),
    "allowlist-first-a-string": ('{"b": "' + SECRET + '", "b": {"c": 1}}', "application/json",
                                 [], ["c"]),
    "form-field-of-json": ("f=" + REPEATED.replace(" ", ""),
                           "application/x-www-form-urlencoded", ["password"], []),
    "json-in-a-json-string": (json.dumps({"m": REPEATED}), "application/json", ["password"], []),
}


@pytest.mark.parametrize("case", list(REPEATS))
def test_repeated_members_hide_nothing(case: str) -> None:
    """The same, wherever a JSON document is redacted: with the allowlist (an earlier
    value of an allowed name), a dotted path, a form field holding JSON, a JSON document
    in a JSON string."""
    body, content_type, deny, allow = REPEATS[case]
    entry = entry_of(_json_post(body, content_type), redactor=Redactor(deny, allow))
    assert SECRET not in _posted(entry), _posted(entry)


def test_repeated_members_that_name_no_denied_key_keep_the_body_as_sent() -> None:
    """A document that names no denied key is kept as it came, members named twice
    and all (the denylist cannot apply to it)."""
    body = '{"a": {"b": 1}, "a": 2}'
    entry = entry_of(_json_post(body), redactor=Redactor(["password"]))
    assert entry["request"]["postData"]["text"] == body


# -- 2. response headers as a tuple under wsgiref (and runserver) ----------------------


class _HeaderList(list):  # type: ignore[type-arg]
    """A list of headers that is not exactly a list (wsgiref refuses it, as a tuple)."""


HEADER_SHAPES = {"tuple": tuple, "list-subclass": _HeaderList}


def _shaped_headers(shape: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", HEADER_SHAPES[shape]([("Content-Type", "text/plain")]))
        return [b"ok"]
    return app


def _raw_get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /h HTTP/1.0\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_headers_the_server_refuses_are_refused_wrapped_too(
        wrap: Any, collector: Collector, shape: str) -> None:
    """PEP 3333 asks for a list of headers, and wsgiref's start_response (behind
    ``python app.py`` and Django's runserver) refuses anything else: a tuple gets the
    client a 500. Wrapped, the headers went to the server as a new list (with
    x-documentation-url added), so the same app answered 200. The server now gets the
    app's container type (a tuple stays a tuple; a list of another class is passed as it
    is, without the docs URL), and refuses it as bare; the log says 500."""
    app = _shaped_headers(shape)
    with served("wsgiref", app) as port:
        bare = _normalized(_raw_get(port))
    with served("wsgiref", wrap(app, base_log_url="https://docs.example.test")) as port:
        wrapped = _normalized(_raw_get(port))
    assert bare[0].startswith(b"HTTP/1.0 500 ")
    assert wrapped == bare
    assert only_log(collector)["request"]["log"]["entries"][0]["response"]["status"] == 500


def test_a_tuple_the_server_takes_still_gets_the_docs_url(
        wrap: Any, collector: Collector) -> None:
    """werkzeug's server takes a tuple of headers: x-documentation-url is added to it."""
    app = wrap(_shaped_headers("tuple"), base_log_url="https://docs.example.test")
    with served("werkzeug", app) as port:
        answer = _raw_get(port)
    assert answer.startswith(b"HTTP/1.1 200 ") or answer.startswith(b"HTTP/1.0 200 ")
    assert b"\r\nx-documentation-url: https://docs.example.test/logs/" in answer
    assert only_log(collector)["request"]["log"]["entries"][0]["response"]["status"] == 200


# -- 3. JSON sent as a form, with a byte order mark or not in UTF-8 --------------------

FORM = "application/x-www-form-urlencoded"
FORMS_OF_JSON = {
    "utf-8-bom": (b"\xef\xbb\xbf" + json.dumps({"password": SECRET}).encode(), FORM),
    "latin-1": (json.dumps({"password": SECRET + "\xe9"}, ensure_ascii=False)
                .encode("latin-1"), FORM),
    "latin-1-declared-utf-8": (json.dumps({"password": SECRET + "\xe9"}, ensure_ascii=False)
                               .encode("latin-1"), FORM + "; charset=utf-8"),
    "utf-8-bom-declared-latin-1": (b"\xef\xbb\xbf" + json.dumps({"password": SECRET}).encode(),
                                   FORM + "; charset=latin-1"),
}


@pytest.mark.parametrize("case", list(FORMS_OF_JSON))
def test_json_sent_as_a_form_is_redacted_whatever_its_bytes(case: str) -> None:
    """A JSON body under a form's Content-Type (jQuery's default) is redacted key by key
    as JSON, since a view reading ``json.loads(request.body)`` reads it so; json.loads
    reads a UTF-8 byte order mark too. Only a body that was UTF-8 and started with a
    bracket was: with the mark, or a latin-1 byte in it (a client's lying charset), the
    document was read as a form, one field named after the whole document, the password
    in clear in the field's name."""
    body, content_type = FORMS_OF_JSON[case]
    entry = entry_of(post(content_type, body), redactor=Redactor(["password"]))
    post_data = entry["request"]["postData"]
    assert SECRET not in json.dumps(post_data), post_data
    assert json.loads(post_data["text"])["password"].startswith("[REDACTED ")


@pytest.mark.parametrize("server", ["waitress"])
def test_json_with_a_byte_order_mark_sent_as_a_form_under_a_server(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The same through a real server, raw socket: the answers are the bare app's."""
    body, content_type = FORMS_OF_JSON["utf-8-bom"]
    cases = {"bom-form": _post("/echo", body, f"Content-Type: {content_type}".encode())}
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT), README_DENYLIST="password")
    with serve(SERVERS[server](port), env, tmp_path, port):
        logs = _logged(collector, port, server, cases)
    assert SECRET not in json.dumps(_request_of(logs["bom-form"])["postData"])
    for batch in collector.received:
        assert SECRET.encode() not in batch.body


# -- 4. a client that leaves mid-body while the app reads it --------------------------

DECLARED = 100000


def _left_mid_body(port: int, prefix: str, trace: str) -> bytes:
    """POST /echo declaring DECLARED bytes, sending ten, then shutting its side."""
    return (f"POST /{prefix}/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Trace: {trace}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {DECLARED}\r\n"
            "Connection: close\r\n\r\n0123456789").encode()


@pytest.mark.parametrize("server", ["gunicorn-sync", "werkzeug"])
def test_a_body_cut_short_by_the_client_is_logged_incomplete(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The client declares 100,000 bytes, sends ten and shuts its side; the app reads
    the body and gets the ten, then the end of the stream. Under werkzeug's server the
    log said ``incomplete: 10 of 100000 bytes``; under gunicorn (and granian, whose read
    gives nothing then) it said a complete body of 10 bytes (or none at all) beside a
    Content-Length of 100,000. The end of the stream short of the declared length is
    the client leaving: the log says the body is incomplete, of its declared size."""
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT))
    with serve(SERVERS[server](port), env, tmp_path, port):
        bare = _normalized(_answer(port, _left_mid_body(port, "bare", "bare"), True))
        wrapped = _normalized(_answer(port, _left_mid_body(port, "wrap", "cut"), True))
        logs = collector.wait_for_logs(1)
    assert wrapped == bare
    request = _request_of(logs[0])
    assert request["bodySize"] == 10  # SPEC 4: the bytes received
    assert request["postData"]["text"] == "0123456789"
    assert request["postData"]["comment"].startswith(f"incomplete: 10 of {DECLARED} bytes")


# -- 5. Transfer-Encoding and Content-Length both, under a server that does not dechunk -

NEXT_TOKEN = "hostile7-next-request-token"


def _noread(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize("length", [b"40", b"3"])
def test_a_length_sent_with_chunked_does_not_frame_an_unread_body(
        wrap: Any, collector: Collector, length: bytes) -> None:
    """wsgiref (``python app.py``; runserver is built on it) does not dechunk: it passes
    a chunked body on framed, with the CONTENT_LENGTH a client sent beside it. The unread
    rest was read by that length, which means nothing with Transfer-Encoding (RFC 9112
    6.3, as the capture reads it under werkzeug and the ASGI servers): 40 took the chunk
    framing and the start of the request pipelined after it (its request line and, with
    a longer length, its Authorization value in clear) as the body; 3 took ``5\\r\\nh``.
    The chunks are copied and read out of their framing now, as with no length: hello."""
    body = b"5\r\nhello\r\n0\r\n\r\n"
    following = (f"GET /next HTTP/1.1\r\nHost: api.example.com\r\n"
                 f"Authorization: Bearer {NEXT_TOKEN}\r\n\r\n").encode()
    with served("wsgiref", wrap(_noread)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: api.example.com\r\n"
                         b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Length: " + length + b"\r\n\r\n" + body + following)
            while sock.recv(65536):
                pass
        request = _request_of(only_log(collector))
    assert request["postData"] == {"mimeType": "text/plain", "text": "hello"}
    assert request["bodySize"] == 5
    for batch in collector.received:
        assert NEXT_TOKEN.encode() not in batch.body and b"/next" not in batch.body


# -- 6. granian (ASGI) cuts a streamed body at the Content-Length the app declared -----


@pytest.mark.skipif(not HAVE_GRANIAN, reason="granian is not installed")
def test_what_granian_cuts_off_a_streamed_body_is_not_logged_as_sent(
        collector: Collector, tmp_path: Path) -> None:
    """An app declares Content-Length 1 and streams 5 bytes (``more_body``): granian
    sends the client one byte (a body given in one message it sends whole), as waitress
    and gunicorn do under WSGI, where the log said what the client got; under ASGI the
    log said ``abcde``, size 5. Now the one byte granian sent."""
    port = free_port()
    argv = ASGI_SERVERS["granian"](port, "tests.support.hostile_apps:asgi_root")
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT))
    cases = {"length-long": _request("GET", "/length-long")}
    with serve(argv, env, tmp_path, port):
        logs = _logged(collector, port, "granian", cases)
        bare = _answer(port, cases["length-long"](port, "bare", "again"))
    assert bare.partition(b"\r\n\r\n")[2] == b"a"
    content = logs["length-long"]["request"]["log"]["entries"][0]["response"]["content"]
    assert (content["size"], content["text"]) == (1, "a")
