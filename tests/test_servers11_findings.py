"""servers11's findings: request and response bodies under the servers people run
(the leftovers of servers10 and hostile14), each under a real server and a raw socket.

1. The Django adapter's answer shorter than its own Content-Length (a view setting
   ``Content-Length: 20`` on 8 bytes) left the client a broken answer and the log said
   nothing; the WSGI and ASGI middlewares say so (servers10): the Django one does now,
   under WSGI servers and Django's ASGI handler alike.
2. Django's runserver gives the app a chunked body as an input of length 0 (Django's
   LimitedStream of no CONTENT_LENGTH): a body the app never read was logged as the
   13 bytes the client sent, one it read part of (getting nothing) with bodySize 0, as
   if the client had sent none. Both are logged as sent now, 13 bytes.
3. cheroot: a chunked body the app left unread was logged "incomplete: 0 of a body of
   unknown length" (servers10 recorded one with a length only): copied now out of its
   chunks, as under werkzeug's server.
4. werkzeug's ``LintMiddleware`` around the middleware (its input wrapper around the
   ``wsgi.input`` the middleware is given) hid the server's input: a body the app read
   5 bytes of was logged as those 5, "incomplete: 5 of 200 bytes", under waitress too,
   which holds it whole. The server's input is seen through it now, as through
   ``wsgiref.validate``'s.
5. cheroot over TLS: a body the app left unread (or read part of) was logged "incomplete:
   0 of 200" (5 of 200), on a kept-alive connection too, though cheroot had it,
   decrypted, in its reader with the head: what the reader holds is read now (never the
   socket), and a chunked one is copied from there.
6. daphne and granian (ASGI), not checked before: a client that declares more than it
   sends (granian: daphne calls no app before the whole body is in), a body never read,
   a chunked body unread or read in part: the same answer bare and wrapped, and the log
   has the bytes the client sent (with the comment when fewer than declared). (granian
   and a client that half-closes: see the report; not here.)
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from werkzeug.middleware.lint import LintMiddleware

from tests.support.fake_api import Collector, free_port
from tests.support.raw_requests import answer_to
from tests.support.tls import make_certificates
from tests.support.wsgi_servers import served
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import check_late_under_granian
from tests.test_e2e_servers import (
    CALLER,
    NO_CHEROOT,
    describe,
    django_env,
    entry_of,
    raw_answer,
    serve,
    server_env,
    serving_django,
)
from tests.test_hostile14_servers import SERVERS as HOSTILE14_SERVERS
from tests.test_hostile_servers import SERVERS as HOSTILE_SERVERS
from tests.test_hostile_servers import _answer, _normalized, _request, _trace_of

pytestmark = pytest.mark.e2e

# -- 1. the Django adapter: an answer shorter than its own Content-Length ------------------

DJANGO_SHORT = ("incomplete: the app's answer was shorter than its Content-Length: 8 of 20 "
                "bytes; the client's answer was cut short there")


def _django_short(port: int, collector: Collector, query: str = "") -> tuple[bytes, dict]:
    answer = raw_answer(port, f"GET /length-lie?n=20{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              f"X-Api-Key: {CALLER}\r\nConnection: close\r\n\r\n".encode())
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, describe(logs)
    with collector._cond:
        collector.received.clear()
    return answer, entry_of(logs[0])["response"]["content"]


@pytest.mark.parametrize("server", ["gunicorn-sync", "runserver", "waitress"])
def test_a_django_answer_shorter_than_its_content_length_is_logged_so(
        server: str, collector: Collector, tmp_path: Path) -> None:
    with serving_django(server, collector, tmp_path) as port:
        for query in ("", "&stream=1"):  # an HttpResponse, a StreamingHttpResponse
            answer, content = _django_short(port, collector, query)
            assert answer.partition(b"\r\n\r\n")[2] == "caf\u00e9 ok".encode(), query
            assert (content["size"], content["comment"]) == (8, DJANGO_SHORT), query


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_a_django_asgi_answer_shorter_than_its_content_length_is_logged_so(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    with serve(ASGI_SERVERS[server](port, "tests.support.e2e_apps:django_asgi_app"),
               django_env(collector), tmp_path, port):
        answer, content = _django_short(port, collector)
    assert answer.partition(b"\r\n\r\n")[2] == "caf\u00e9 ok".encode()
    assert (content["size"], content["comment"]) == (8, DJANGO_SHORT)


# -- the WSGI middleware under the servers of hostile14, bare vs wrapped -------------------

Make = Callable[[int, str, str], bytes]
CHUNKS = b"3;name=value\r\nabc\r\nA;x\r\n0123456789\r\n0\r\n\r\n"  # 13 bytes of data
LIMIT = 65536


def _chunked(path: str) -> Make:
    return _request("POST", path, CHUNKS, (b"Transfer-Encoding: chunked",
                                            b"Content-Type: text/plain"), length=False)


def _logged(argv: list[str], port: int, collector: Collector, tmp_path: Path,
            cases: dict[str, Make], half_close: bool = False) -> dict[str, dict[str, Any]]:
    """Each case played against the bare app and the wrapped one (a fresh connection
    each): the same answer, byte for byte (Date, Server and x-documentation-url aside);
    each case's log entry."""
    env = server_env(collector, README_MAX_BODY_BYTES=str(LIMIT),
                     DJANGO_SETTINGS_MODULE="tests.support.hostile_django")
    with serve(argv, env, tmp_path, port) as base:
        # The wrapped app is built at its first call: not in a case's answer.
        requests.get(f"{base}/wrap/noread", headers={"X-Trace": "warm-up"}, timeout=20)
        for name, make in cases.items():
            bare = _answer(port, make(port, "bare", "bare"), half_close)
            wrapped = _answer(port, make(port, "wrap", name), half_close)
            assert bare.startswith(b"HTTP/1.1 "), name
            assert _normalized(wrapped) == _normalized(bare), name
        logs = collector.wait_for_logs(len(cases) + 1)
    return {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


# -- 2. runserver: a chunked body, read or not, logged as the client sent it ---------------

@pytest.mark.parametrize("half_close", [False, True])
def test_runserver_logs_a_chunked_body_as_sent_read_or_not(
        collector: Collector, tmp_path: Path, half_close: bool) -> None:
    port = free_port()
    cases = {"unread": _chunked("/noread"), "read-some": _chunked("/read-some"),
             "read-past": _chunked("/read-past")}
    entries = _logged(HOSTILE14_SERVERS["runserver"](port), port, collector, tmp_path,
                      cases, half_close)
    for name in cases:
        request = entries[name]["request"]
        assert (request["bodySize"], request["postData"]) == (
            13, {"mimeType": "text/plain", "text": "abc0123456789"}), name
        # What the app got of it: nothing (runserver's input of a chunked body is empty).
        assert entries[name]["response"]["content"]["size"] in (0, 2), name


# -- 3. cheroot: a chunked body the app left unread ----------------------------------------

@NO_CHEROOT
@pytest.mark.parametrize("half_close", [False, True])
def test_cheroot_records_a_chunked_body_the_app_left_unread(
        collector: Collector, tmp_path: Path, half_close: bool) -> None:
    port = free_port()
    big = b"".join(b"1000\r\n" + b"c" * 4096 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    cases = {"unread": _chunked("/noread"),
             "over-the-limit": _request("POST", "/noread", big, (
                 b"Transfer-Encoding: chunked", b"Content-Type: text/plain"), length=False)}
    entries = _logged(HOSTILE_SERVERS["cheroot"](port), port, collector, tmp_path, cases,
                      half_close)
    request = entries["unread"]["request"]
    assert (request["bodySize"], request["postData"]) == (
        13, {"mimeType": "text/plain", "text": "abc0123456789"})
    post_data = entries["over-the-limit"]["request"]["postData"]
    assert post_data["text"] == "c" * LIMIT
    assert post_data["comment"].startswith(
        f"truncated to {LIMIT} bytes of a body of unknown length")


# -- 4. werkzeug's LintMiddleware around the middleware ------------------------------------

def _reads(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reads 5 bytes of the body (/read-some), or none, and answers with them."""
    got = environ["wsgi.input"].read(5) if environ["PATH_INFO"] == "/read-some" else b""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(got)))])
    return [got]


@pytest.mark.filterwarnings("ignore::werkzeug.middleware.lint.WSGIWarning")
@pytest.mark.parametrize("kind", ["werkzeug", "wsgiref", "waitress"])
def test_a_body_under_werkzeugs_lint_is_logged_as_sent(
        inline_wrap: Any, collector: Collector, kind: str) -> None:
    body = b"0123456789" * 20
    answers = {}
    for name, app in (("bare", LintMiddleware(_reads)),
                      ("wrapped", LintMiddleware(inline_wrap(_reads)))):
        with served(kind, app) as port:
            answers[name] = [_normalized(answer_to(port, (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body))
                for path in ("/noread", "/read-some")]
    assert answers["wrapped"] == answers["bare"]
    logs = collector.wait_for_logs(2)
    requests_logged = {log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]:
                       log["request"]["log"]["entries"][0]["request"] for log in logs}
    for path in ("noread", "read-some"):
        request = requests_logged[path]
        assert (request["bodySize"], request["postData"]) == (
            200, {"mimeType": "text/plain", "text": body.decode()}), path


# -- 5. cheroot over TLS -------------------------------------------------------------------

def _tls_answer(port: int, ca: Path, data: bytes) -> bytes:
    """What cheroot sends over TLS for ``data`` until it closes the connection."""
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as conn:
        conn.sendall(data)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except OSError:  # a TLS close without close_notify: the answer is in
            pass
        return answer


@NO_CHEROOT
def test_cheroot_over_tls_records_a_body_the_app_left_unread(
        inline_wrap: Any, collector: Collector, tmp_path: Path) -> None:
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    certificates = make_certificates(tmp_path)
    body = b"0123456789" * 20
    head = ("POST /{} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
            "Content-Length: 200\r\n{}\r\n")
    cases = {
        "noread": head.format("noread", "Connection: close\r\n").encode() + body,
        "read-some": head.format("read-some", "Connection: close\r\n").encode() + body,
        "kept-alive": head.format("noread", "").encode() + body
        + b"GET /noread HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "chunked": b"POST /noread HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain"
        b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + CHUNKS,
    }
    answers: dict[str, list[list[bytes]]] = {}
    for name, app in (("bare", _reads), ("wrapped", inline_wrap(_reads))):
        server = wsgi.Server(("127.0.0.1", 0), app)
        server.ssl_adapter = BuiltinSSLAdapter(str(certificates.cert), str(certificates.key))
        server.prepare()
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        try:
            answers[name] = [_normalized(_tls_answer(server.bind_addr[1], certificates.ca,
                                                     data)) for data in cases.values()]
        finally:
            server.stop()
            thread.join(10)
    assert answers["wrapped"] == answers["bare"]
    assert answers["bare"][2].count(b"HTTP/1.1 200 OK") == 2  # the next request answered
    logs = collector.wait_for_logs(5)
    logged = sorted(((entry["request"]["url"], entry["request"]["bodySize"],
                     entry["request"].get("postData"))
                    for entry in (log["request"]["log"]["entries"][0] for log in logs)),
                    key=repr)
    whole = {"mimeType": "text/plain", "text": body.decode()}
    assert logged == sorted([
        ("https://localhost/noread", 200, whole), ("https://localhost/read-some", 200, whole),
        ("https://localhost/noread", 200, whole), ("https://localhost/noread", 0, None),
        ("https://localhost/noread", 13, {"mimeType": "text/plain", "text": "abc0123456789"}),
    ], key=repr)


# -- 6. daphne and granian (ASGI) ----------------------------------------------------------

def _declaring(declared: int, sent: int) -> Make:
    """A POST to /noread declaring ``declared`` bytes and sending ``sent`` of them."""
    def make(port: int, prefix: str, trace: str) -> bytes:
        return (f"POST /{prefix}/noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"X-Trace: {trace}\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {declared}\r\n\r\n").encode() + b"a" * sent
    return make


@pytest.mark.parametrize("server", ["daphne", "granian"])
def test_daphne_and_granian_same_answers_truthful_bodies(
        server: str, collector: Collector, tmp_path: Path) -> None:
    pytest.importorskip(server)
    port = free_port()
    cases = {"unread": _request("POST", "/noread", b"x" * 2000, (b"Content-Type: text/plain",)),
             "chunked-unread": _chunked("/noread"), "chunked-read-some": _chunked("/read-some")}
    if server == "granian":  # daphne calls the app only once the whole body is in
        cases["declares-more"] = _declaring(24, 17)
    entries = _logged(ASGI_SERVERS[server](port, "tests.support.hostile_apps:asgi_root"),
                      port, collector, tmp_path, cases)
    text = {"unread": "x" * 2000, "chunked-unread": "abc0123456789",
            "chunked-read-some": "abc0123456789", "declares-more": "a" * 17}
    for name in cases:
        request = entries[name]["request"]
        expected: dict[str, Any] = {"mimeType": "text/plain", "text": text[name]}
        if name == "declares-more":
            expected["comment"] = "incomplete: 17 of 24 bytes could be read without waiting"
        got = (request["bodySize"], request["postData"])
        if server == "granian" and name != "declares-more" and got != (len(text[name]),
                                                                     expected):
            # granian hands the body over from its own threads: some of it can come after
            # the capture's grace (seen: the last chunk, 2 times in 10 runs at load 6; all
            # but the first, once at load 16). The log says what came.
            check_late_under_granian(request, text[name].encode(), "text/plain",
                                     None if name.startswith("chunked") else 2000)
        else:
            assert got == (len(text[name]), expected), name


# -- 7. granian and a client that half-closes (asgi9) --------------------------------------

# granian (2.8) may drop its answer to a client that shut its side once its request was
# sent (its hyper reads the end and gives the connection up): whether it does is granian's
# own race, between its look at the connection past the body's end and the app's answer,
# whenever the body is polled past its first message (and, for a body of a declared
# length, even unread). The client gets the answer or nothing, bare or wrapped alike
# (flaky41, 30 pairs a case at a load of ~20: /echo and the unread declared body nothing
# in 30 of 30 for both, CI74 once the bare one's answer; the chunked /echo answered
# 11 bare and 13 wrapped). A chunked body no one reads is the exception: no poll, no drop,
# the bare app's client gets its answer every time (60 of 60). The wrapped app's does
# only when granian's race goes its way (5 of 30 under that load; on a quiet machine most
# times, which XPASSed the xfail that said it never did): the capture reads the body
# ahead before the response starts, for the grouping function (SPEC 6: it may read the
# body; granian offers no sign of the client's end to read ahead only when it is safe),
# the same read a bare app reading its body makes. Not fixed: doing without that read
# would take the body from every grouping function under granian, for every client.
# hostile17 measured and weighed a lazy body (read only if the grouping function asks):
# with no read before the start this row passed (3 of 3 pairs the bare app's answer),
# but a plain grouping function cannot be made to wait at its ``req.body``: a lazy input
# read on the loop's thread can give only what granian has handed over already (most
# often not the chunks past the first: the previous fix's loss); waiting needs the
# function run on another thread (a loop turn before the start, which loses a
# half-closing client's answer under uvicorn: test_asgi_eager; and the user's function
# on a thread of ours for these exchanges only); stopping it at the read and calling it
# again once the body is in breaks "called once" (SPEC 6). Left as it is.
GRANIAN_HALF_CLOSED = {
    "unread": _request("POST", "/noread", b"x" * 2000, (b"Content-Type: text/plain",)),
    "echo": _request("POST", "/echo", b"x" * 20, (b"Content-Type: text/plain",)),
    "chunked-echo": _chunked("/echo"),
    "chunked-unread": _chunked("/noread"),
}


@pytest.fixture(scope="module")
def granian_port(module_collector: Collector, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[int]:
    """One granian serving hostile_apps' bare and wrapped apps for the cases below."""
    pytest.importorskip("granian")
    port = free_port()
    with serve(ASGI_SERVERS["granian"](port, "tests.support.hostile_apps:asgi_root"),
               server_env(module_collector), tmp_path_factory.mktemp("granian"), port):
        yield port


@pytest.mark.parametrize("case", list(GRANIAN_HALF_CLOSED))
def test_granian_a_half_closing_client_gets_the_bare_apps_answer_or_none(
        case: str, granian_port: int) -> None:
    """Each of the bare and the wrapped app's half-closing clients gets the answer a
    client that waits gets, or nothing (granian's drop, see above): never another
    answer. Where nothing polls the body (the bare app, a chunked body) always the
    answer. Before flaky41: the wrapped answer had to be the bare one's (played up to 3
    times), chunked-unread an xfail that passed on a quiet machine."""
    port, make = granian_port, GRANIAN_HALF_CLOSED[case]
    waited = _answer(port, make(port, "bare", "bare"))
    bare = _answer(port, make(port, "bare", "bare"), half_close=True)
    wrapped = _answer(port, make(port, "wrap", case), half_close=True)
    assert waited.startswith(b"HTTP/1.1 200 OK\r\n"), waited
    if case == "chunked-unread":
        assert _normalized(bare) == _normalized(waited), bare
    for answer in (bare, wrapped):
        assert answer == b"" or _normalized(answer) == _normalized(waited), (bare, wrapped)
