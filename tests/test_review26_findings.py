"""review26's items (an adversarial read of hostile7's, spec20's and review24's landings in
the capture, redaction and HAR core): each test failed on main at 56b32bc and passes with
its fix, under real parts (the collector on 127.0.0.1, the public middleware, a real
server where the bytes on the wire matter)."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any, Callable

import pytest
from werkzeug.wrappers import Request

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import SERVERS as E2E_SERVERS
from tests.test_e2e_servers import django_env, serve, server_env
from tests.test_hostile6_findings import LIMIT, _logged, _request_of
from tests.test_hostile_servers import SERVERS, _post

SECRET = "review26-denied-secret"
DOCUMENT = json.dumps({"password": SECRET, "name": "Zo\u00eb"}, ensure_ascii=False)


def _spelled(data: bytes) -> bool:
    """Whether ``data`` holds SECRET in any of the ways these bodies spell it."""
    return any(SECRET.encode(codec) in data
               for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def _read_json(environ: dict[str, Any]) -> Any:
    """The view's read of the body: ``json.loads(request.body)`` (a form-typed body, as
    jQuery sends JSON by default), or ``json.load(request.files["f"])`` (an upload)."""
    request = Request(environ)
    if request.mimetype == "multipart/form-data":
        return json.load(request.files["f"])
    return json.loads(request.get_data())


def _app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen["document"] = _read_json(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


# -- 1. JSON whose bytes json.loads reads by their mark or NULs, sent as a form ---------

FORM = "application/x-www-form-urlencoded"
# json.loads(bytes) (Django's json.loads(request.body), Flask's get_json) reads UTF-16/32
# by a byte order mark or by where the NULs are (RFC 4627); 0af5656 took a UTF-8 mark and
# a latin-1 byte, not a mark and a latin-1 byte together, nor UTF-16/32.
FORMS_OF_JSON = {
    "utf-16-with-mark": DOCUMENT.encode("utf-16"),
    "utf-16-be": DOCUMENT.encode("utf-16-be"),
    "utf-32-with-mark": DOCUMENT.encode("utf-32"),
    "utf-8-mark-and-latin-1": b"\xef\xbb\xbf" + DOCUMENT.encode("latin-1"),
}


@pytest.mark.parametrize("case", list(FORMS_OF_JSON))
def test_json_sent_as_a_form_in_utf16_or_with_a_mark_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    """A form-typed body that is JSON in UTF-16/32 (a mark, or the NUL pattern), or a
    UTF-8 mark before a latin-1 byte, was parsed as a form: one field named after the
    whole document, the denylisted password in clear (NUL-spaced) in its name. It is read
    as json.loads(bytes) reads it now, and redacted as JSON."""
    body = FORMS_OF_JSON[case]
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_app(seen), denylist=["password"])
    _, log, entry = exchange(middleware, collector, method="POST", body=body,
                             headers={"Content-Type": FORM})
    if case != "utf-8-mark-and-latin-1":  # (no JSON reader takes that one: not UTF-8)
        assert seen["document"]["password"] == SECRET  # what the view reads
    post = entry["request"]["postData"]
    assert not _spelled(json.dumps(post).replace("\\u0000", "").encode()), post
    assert json.loads(post["text"])["password"].startswith("[REDACTED ")


# -- 2. a JSON file uploaded with a byte order mark, or in UTF-16 -----------------------

MULTIPART = "multipart/form-data; boundary=B"
# Notepad's "UTF-8 with BOM", Windows PowerShell's Out-File (UTF-16 LE with a mark).
UPLOADS = {
    "utf-8-with-mark": b"\xef\xbb\xbf" + DOCUMENT.encode(),
    "utf-16-with-mark": DOCUMENT.encode("utf-16"),
    "utf-16-be": DOCUMENT.encode("utf-16-be"),
}


def _upload(data: bytes) -> bytes:
    return (b'--B\r\nContent-Disposition: form-data; name="f"; filename="config.json"\r\n'
            b"Content-Type: application/json\r\n\r\n" + data + b"\r\n--B--\r\n")


def _file_data(entry: dict[str, Any]) -> bytes:
    value: str = entry["request"]["postData"]["params"][0]["value"]
    return base64.b64decode(value.partition(";base64,")[2]) if ";base64," in value \
        else value.encode()


@pytest.mark.parametrize("case", list(UPLOADS))
def test_a_json_file_with_a_mark_or_in_utf16_is_redacted_key_by_key(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    """A JSON file part is redacted key by key (its data URL holds the document
    redacted), but only when its bytes were UTF-8 without a mark: one saved with a mark
    (Notepad) or in UTF-16 (PowerShell) went out whole, the password in clear in the
    base64, though ``json.load(request.files[...])`` reads it. Read as json.loads(bytes)
    reads it now."""
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_app(seen), denylist=["password"])
    _, _, entry = exchange(middleware, collector, method="POST", body=_upload(UPLOADS[case]),
                           headers={"Content-Type": MULTIPART})
    assert seen["document"]["password"] == SECRET
    data = _file_data(entry)
    assert not _spelled(data), data
    assert json.loads(data)["password"].startswith("[REDACTED ")


@pytest.mark.parametrize("case", list(UPLOADS))
def test_such_a_file_naming_no_listed_key_keeps_its_bytes(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    """Nothing to redact: the file's bytes as uploaded, mark and all (passes before)."""
    data = UPLOADS[case]
    middleware = inline_wrap(_app({}), denylist=["token"])
    _, _, entry = exchange(middleware, collector, method="POST", body=_upload(data),
                           headers={"Content-Type": MULTIPART})
    assert _file_data(entry) == data


def test_a_utf16_json_form_under_a_server(collector: Collector, tmp_path: Path) -> None:
    """The form case through waitress, raw socket: the answers are the bare app's, and
    no batch holds the password (the echoed response, form-typed UTF-16, is binary and
    mentions it: redacted whole, as before)."""
    cases = {"utf-16-form": _post("/echo", FORMS_OF_JSON["utf-16-with-mark"],
                                  f"Content-Type: {FORM}".encode())}
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"),
                     README_MAX_BODY_BYTES=str(LIMIT), README_DENYLIST="password")
    with serve(SERVERS["waitress"](port), env, tmp_path, port):
        logs = _logged(collector, port, "waitress", cases)
    post = _request_of(logs["utf-16-form"])["postData"]
    assert json.loads(post["text"])["password"] == f"[REDACTED {len(SECRET)}]"
    for batch in collector.received:
        assert not _spelled(batch.body)


# -- 3. Django under runserver: a chunked body not there when the view answers -----------


def test_django_logs_a_chunked_body_not_there_yet_as_incomplete_not_as_none(
        collector: Collector, tmp_path: Path) -> None:
    """runserver does not de-chunk, and Django under WSGI reads no body without a
    Content-Length: the middleware copies a chunked body from the connection, as far as
    it has arrived. One still on its way when the view has answered (curl's chunked
    upload, sent after the 100 Continue; here after the answer) was logged as no body at
    all: no postData, bodySize 0, the record not knowing a chunked body was there.
    Logged as the WSGI middleware logs it under wsgiref: incomplete, of unknown length."""
    port = free_port()
    ran = tmp_path / "view-ran"
    head = (f"POST /noread?ran={ran} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            "X-Api-Key: chunked-caller\r\nConnection: close\r\n\r\n").encode()
    with serve(E2E_SERVERS["runserver"](port, "tests.support.e2e_apps:django_app"),
               django_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head)
            answer = b""
            while chunk := client.recv(65536):  # the answer, then runserver closes
                answer += chunk
        logs = collector.wait_for_logs(1)
    assert answer.startswith(b"HTTP/1.1 200 ") and ran.exists(), answer[:80]
    request = logs[0]["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == -1
    assert request["postData"] == {
        "mimeType": "text/plain", "text": "",
        "comment": "incomplete: 0 of a body of unknown length could be read without waiting"}
