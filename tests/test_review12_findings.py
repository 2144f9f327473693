"""review12's findings: each test failed on main at 7d9cc46 and passes with its fix."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from readme_metrics.masking import mask
from tests.support.command import app_environment
from tests.support.contract import exchange
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply, basic_auth, free_port
from tests.support.leaks import strings
from tests.support.polling import wait_until
from tests.support.processes import start_server, stop_server
from tests.support.unread_gunicorn import _reads_unread_bodies
from tests.test_docs_url import Records, make_config, records  # noqa: F401 - a fixture


def test_docs_lookup_redirect_check_reads_the_location_as_requests_does(
        collector: Collector, records: Records) -> None:  # noqa: F811
    """docs_url._redirect_refused read the redirect target with urllib.parse, requests
    connects where urllib3 reads it: ``http://localhost:<b>\\@127.0.0.1:<a>/v1`` is
    127.0.0.1:<a> to urlsplit (all before the "@" is userinfo) and localhost:<b> to
    urllib3 (a backslash ends the authority), so the lookup sent the API key to the
    other host, which the same-host rule (def4b0c) is there to prevent."""
    from readme_metrics.docs_url import DocsUrl

    elsewhere = Collector().start()
    try:
        elsewhere.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://x.test/"}')
        target = f"http://localhost:{elsewhere.port}\\@127.0.0.1:{collector.port}/v1"
        collector.get_v1 = lambda received: Reply(302, headers={"Location": target})
        config = make_config(collector.url, records)
        docs = DocsUrl(config)
        docs.base()
        wait_until(lambda: bool(records.records or elsewhere.gets), timeout=10.0)
        sent = [g.headers.get("Authorization") for g in elsewhere.gets]
    finally:
        elsewhere.stop()
    assert basic_auth(config.api_key) not in sent, "the API key went to another host"
    assert elsewhere.gets == [] and docs.base() is None
    assert "redirected to another host (http://localhost)" in records.text()
    assert config.api_key not in records.text()


# -- the caller's key in a body declared in a charset whose ASCII is no ASCII ------------

CALLER_KEY = "owlbert-caller-key-7731"


def _spells(log: dict[str, Any], secret: str) -> list[str]:
    """The strings of ``log`` that hold ``secret`` as is, or its bytes in UTF-8 read in a
    codec where ASCII is no ASCII (what a UTF-16 or EBCDIC reading of UTF-8 makes)."""
    needle = secret.encode()
    hits = []
    for text in strings(log):
        views = [text.encode(codec, "ignore") for codec in
                 ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp500")]
        if any(needle in view for view in views):
            hits.append(text[:80])
    return hits


def _whole_units(text: str) -> str:
    """``text`` padded to a multiple of 4 bytes in UTF-8: read as UTF-16 or UTF-32 it
    decodes (an odd length would fail and fall back to UTF-8, hiding the reading)."""
    return text + "." * (-len(text.encode()) % 4)


def _flask_reader(seen: dict[str, str]) -> Any:
    from flask import Flask, request

    app = Flask(__name__)

    @app.route("/p", methods=["POST"])
    def read() -> str:
        seen.update(request.form.items())
        seen["body"] = request.get_data(as_text=True)
        return "ok"

    return app.wsgi_app


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-be", "cp500", "utf-32"])
def test_a_multipart_field_declared_utf_16_is_read_as_flask_reads_it(
        inline_wrap: Any, collector: Collector, charset: str) -> None:
    """A field part declaring ``charset=utf-16`` (or EBCDIC) over UTF-8 bytes: werkzeug
    (Flask), Django and Starlette read form fields in UTF-8 (the request's charset), not
    in the part's, so the app read the caller's key in clear; the log read the part in
    the declared charset, CJK (or EBCDIC) text that spells the key's bytes, so the key
    was not masked and can be read back (``text.encode('utf-16-le')``)."""
    note = _whole_units(f"my key is {CALLER_KEY}, caf\u00e9")
    body = ("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + (
        note.encode() + b"\r\n--XyZ--\r\n")
    seen: dict[str, str] = {}
    middleware = inline_wrap(_flask_reader(seen),
                             grouping_function=lambda request: {"api_key": CALLER_KEY})
    _, log, entry = exchange(middleware, collector, method="POST", path="/p", body=body,
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert seen["note"] == note  # what Flask read
    assert _spells(log, CALLER_KEY) == []
    (param,) = entry["request"]["postData"]["params"]
    assert param == {"name": "note", "value": note.replace(CALLER_KEY, mask(CALLER_KEY))}


@pytest.mark.parametrize("charset", ["utf-16", "cp500"])
@pytest.mark.parametrize("essence", ["text/plain", "application/xml"])
def test_a_text_body_declared_utf_16_is_read_by_its_bytes(
        inline_wrap: Any, collector: Collector, essence: str, charset: str) -> None:
    """e10321a's rule for JSON, for every text body: a UTF-8 body declared in a charset
    where ASCII is no ASCII was logged as CJK (EBCDIC) text spelling its bytes, the
    caller's key among them; Flask's get_data(as_text=True) reads it as UTF-8."""
    text = _whole_units(f"<note>my key is {CALLER_KEY}, caf\u00e9</note>")
    seen: dict[str, str] = {}
    middleware = inline_wrap(_flask_reader(seen),
                             grouping_function=lambda request: {"api_key": CALLER_KEY})
    _, log, entry = exchange(middleware, collector, method="POST", path="/p",
                             body=text.encode(),
                             headers={"Content-Type": f"{essence}; charset={charset}"})
    assert seen["body"] == text
    assert _spells(log, CALLER_KEY) == []
    assert entry["request"]["postData"]["text"] == text.replace(CALLER_KEY, mask(CALLER_KEY))


# -- over TLS: werkzeug's development server (ssl_context) and gunicorn (--certfile) ----

_TLS_APP = '''
import hashlib, json, os, sys
from readme_metrics import MetricsApiConfig, MetricsMiddleware

def streamed(environ, start_response):  # reads its body once the answer has started
    start_response("200 OK", [("Content-Type", "text/plain")])
    def chunks():
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        yield f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
    return chunks()

def noread(environ, start_response):  # never reads its body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

def grouping(request):  # the caller's key is in the JSON body
    try:
        return {"api_key": request.json["key"]}
    except Exception:
        return {"api_key": "no-key-in-the-body"}

config = MetricsApiConfig(grouping_function=grouping)
header_config = MetricsApiConfig(grouping_function=lambda request: {"api_key": "by-header"})
wrapped = {"streamed": MetricsMiddleware(streamed, config),
           "noread": MetricsMiddleware(noread, config),
           "noread-unlooked": MetricsMiddleware(noread, header_config)}

def root(environ, start_response):
    prefix, _, mode = environ["PATH_INFO"].strip("/").partition("/")
    app = wrapped[mode] if prefix == "wrap" else {"streamed": streamed, "noread": noread}[mode]
    return app(environ, start_response)

if __name__ == "__main__":
    from werkzeug.serving import run_simple
    run_simple("127.0.0.1", int(sys.argv[1]), root, threaded=True,
               ssl_context=(sys.argv[2], sys.argv[3]))
'''


@contextmanager
def _tls_server(kind: str, tmp_path: Path, collector: Collector) -> Iterator[Any]:
    """A TLS server (werkzeug's development server, gunicorn sync or gunicorn-gthread)
    serving _TLS_APP;
    yields a function opening a TLS connection to it."""
    import ssl

    from tests.support.tls import make_certificates

    certificates = make_certificates(tmp_path)
    (tmp_path / "tls_app.py").write_text(_TLS_APP)
    port = free_port()
    env = app_environment(collector.url, tmp_path, README_API_URL=collector.url,
                          README_BACKGROUND_WORKER_MODE="false", README_BUFFER_LENGTH="1",
                          README_MAX_BODY_BYTES="1000000", README_TIMEOUT=str(INLINE_TIMEOUT))
    cert, key = str(certificates.cert), str(certificates.key)
    argv = ([sys.executable, "tls_app.py", str(port), cert, key] if kind == "werkzeug" else
            [sys.executable, "-m", "gunicorn", "-k", kind.partition("-")[2] or "sync",
             "-b", f"127.0.0.1:{port}", "--certfile", cert, "--keyfile", key,
             "tls_app:root"])
    context = ssl.create_default_context(cafile=str(certificates.ca))

    def connect() -> Any:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        return context.wrap_socket(sock, server_hostname="localhost")

    with (tmp_path / "server.log").open("wb") as output:
        process = start_server(argv, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    connect().close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.1)
            yield connect
        finally:
            stop_server(process)


def _tls_exchange(connect: Any, path: str, body: bytes, split: int, gap: float
                  ) -> tuple[bytes, float]:
    """POST ``body`` in two writes ``gap`` seconds apart; (the answer, seconds it took).
    The answer is read to its end (Content-Length, or the last chunk), then the client
    closes (werkzeug reads on to the client's end before it closes)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    started = time.monotonic()
    with connect() as sock:
        sock.sendall(head + body[:split])
        time.sleep(gap)
        try:
            sock.sendall(body[split:])
        except OSError:  # the server closed already (werkzeug: after 10 ms of quiet)
            pass
        answer = b""
        while not (answer.endswith(b"\r\n0\r\n\r\n") or answer.endswith(b"\r\n\r\nok")):
            try:
                chunk = sock.recv(65536)
            except OSError:  # the read timed out: no answer
                break
            if not chunk:
                break
            answer += chunk
    return answer.partition(b"\r\n\r\n")[2], time.monotonic() - started


def _tls_body() -> bytes:
    return json.dumps({"pad": "x" * 40_000, "key": "caller-key-in-the-body"}).encode()


@pytest.mark.e2e
def test_werkzeug_over_tls_the_grouping_read_ahead_loses_no_byte_of_the_app(
        collector: Collector, tmp_path: Path) -> None:
    """werkzeug's development server with ssl_context (flask run --cert): the grouping
    function reads the body before the app, which reads it once its answer started. The
    read-ahead of what had arrived (rest._read_nonblocking) met ssl.SSLWantReadError (a
    TLS socket's "would block", no BlockingIOError) after a first read, and the bytes it
    had taken were dropped: the app then waited for bytes that never came (bare: 0.2 s;
    wrapped: no answer, the client gave up)."""
    body = _tls_body()
    answers = {}
    with _tls_server("werkzeug", tmp_path, collector) as connect:
        for prefix in ("bare", "wrap"):
            answers[prefix] = _tls_exchange(connect, f"/{prefix}/streamed", body, 20_000, 0.2)
    (bare, _), (wrapped, took) = answers["bare"], answers["wrap"]
    assert bare.split(b"\r\n")[1] == f"{len(body)} ".encode() + hashlib.sha256(
        body).hexdigest().encode()
    assert wrapped == bare and took < 2.0, (wrapped, took)


@pytest.mark.e2e
def test_werkzeug_over_tls_an_unread_body_is_logged_from_its_start(
        collector: Collector, tmp_path: Path) -> None:
    """The same dropped read for a body the app leaves unread: the part read before the
    SSLWantReadError was lost, werkzeug's discard (recorded by discard_tap) gave the rest,
    and the log's body was the body's second half posing as the whole's start."""
    body = _tls_body()
    with _tls_server("werkzeug", tmp_path, collector) as connect:
        for gap in (0.005, 0.03):  # the rest within werkzeug's 10 ms of quiet, or after
            answer, _ = _tls_exchange(connect, "/wrap/noread-unlooked", body, 20_000, gap)
            assert answer == b"ok"
        logs = collector.wait_for_logs(2, timeout=15)
    texts = [log["request"]["log"]["entries"][0]["request"]["postData"]["text"]
             for log in logs]
    # the 20,000 bytes sent first had arrived before the app answered
    assert all(body.decode().startswith(text) and len(text) >= 20_000 for text in texts), [
        (text[:20], len(text)) for text in texts]


@pytest.mark.e2e
def test_gunicorn_over_tls_the_body_gunicorn_holds_is_logged_and_grouped(
        collector: Collector, tmp_path: Path) -> None:
    """gunicorn --certfile: the copy of an unread body (MSG_PEEK) raised ValueError on its
    SSLSocket (no flags allowed there; and a peek would copy ciphertext), so nothing was
    logged ("incomplete: 0 of N") and the grouping function reading the body found none,
    even of a body that had all arrived and been read by gunicorn with the request head."""
    body = _tls_body()  # more than one TLS record (16 KiB): not all read with the head
    if not _reads_unread_bodies():  # gunicorn 23: only what gunicorn holds is copied
        body = json.dumps({"pad": "x" * 3000, "key": "caller-key-in-the-body"}).encode()
    with _tls_server("gunicorn", tmp_path, collector) as connect:
        answer, _ = _tls_exchange(connect, "/wrap/noread", body, len(body), 0.0)
        assert answer == b"ok"
        (log,) = collector.wait_for_logs(1, timeout=15)
    assert log["group"]["id"] == mask("caller-key-in-the-body")
    text = log["request"]["log"]["entries"][0]["request"]["postData"]["text"]
    key = "caller-key-in-the-body"
    assert text == body.decode().replace(key, mask(key)), text[:40]


@pytest.mark.e2e
def test_gunicorn_gthread_over_tls_keeps_a_connection_as_bare(
        collector: Collector, tmp_path: Path) -> None:
    """The bytes decrypted into gunicorn's buffer are read as gunicorn's own reads would
    (8 KiB at least): read only to the body's end, a request pipelined behind an unread
    body stayed in the TLS layer, which gthread's keep-alive poll of the socket never
    sees; the wrapped app then left the second request unanswered where bare answered it
    (50,000 bytes), or the other way round had the reads gone further."""
    answers: dict[str, list[int]] = {"bare": [], "wrap": []}
    with _tls_server("gunicorn-gthread", tmp_path, collector) as connect:
        for size in (30_000, 50_000):
            for prefix, mode in (("bare", "noread"), ("wrap", "noread-unlooked")):
                data = (f"POST /{prefix}/{mode} HTTP/1.1\r\nHost: localhost\r\n"
                        f"Content-Length: {size}\r\n\r\n").encode() + b"y" * size + (
                    f"POST /{prefix}/{mode} HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()
                with connect() as sock:
                    sock.settimeout(5)
                    sock.sendall(data)
                    answer = b""
                    while True:
                        try:
                            chunk = sock.recv(65536)
                        except OSError:
                            break
                        if not chunk:
                            break
                        answer += chunk
                answers[prefix].append(answer.count(b" 200 OK\r\n"))
    assert answers["wrap"] == answers["bare"], answers
