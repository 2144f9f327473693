"""One capture core (SPEC 3), blackbox20: the exchanges tests/test_twins19_wsgi_asgi.py and
test_twins21_bodies.py do not send give the same log under WSGI and ASGI.

tests/support/blackbox20_apps.py serves one API as a plain PEP 3333 app and as a plain
ASGI 3 app, each wrapped as README stacks the kit: ``RequestIdMiddleware(CORSMiddleware(
MetricsMiddleware(app)))`` (SPEC 8), with a denylist and base_log_url. Each row of
:data:`CASES` goes, over its own connection and with ``X-Request-Id: rid-<case>`` (the
id the log carries: how a log is found even where no ``x-documentation-url`` is added),
to the WSGI app under waitress and gunicorn (gthread) and to the ASGI app under uvicorn
and hypercorn, logging into one real collector on 127.0.0.1; the logs are compared
field by field after :func:`normalised`.

What :func:`normalised` forgives, and why each is the server's doing, not the capture's
(the log says what the app saw and the client got):

- the port, timings, ``startedDateTime``, ``_id`` and ``httpVersion`` (as the server
  says; uvicorn answers an HTTP/1.0 request in HTTP/1.1: docs/SERVERS.md), as in twins19;
- the order of request headers: a WSGI environ keeps none between CONTENT_TYPE,
  CONTENT_LENGTH and HTTP_*;
- a request header sent twice: PEP 3333's environ has one ``HTTP_X`` key, so waitress
  joins the values with ", " and gunicorn with ","; ASGI hands each over. The ASGI side's
  repeated headers are joined here the server's way. A Cookie header sent twice (which
  RFC 6265 5.4 forbids a user agent) is the same join: a WSGI app's framework then parses
  ``theme=dark, password=pw`` as one cookie, as the log does; checked on its own in
  the ``cookie-twice`` row (the password cookie's value is out of the log either way);
- a chunked request under waitress, which reads the body whole and hands the app a
  Content-Length instead of Transfer-Encoding (twins19);
- a HEAD answer's body, which waitress sends and the others drop (docs/BODIES.md);
- the reason phrase of a status code with none registered (299, 599): a WSGI app names
  one in its status line, an ASGI app cannot, and uvicorn and hypercorn send none;
- the X-Request-Id the kit made for a request that sent none (a uuid4 each).

Not sent here: X-Forwarded-* with ``trusted_proxies=0``. waitress drops untrusted proxy
headers from the environ and uvicorn applies them itself (``--proxy-headers``, on by
default for a proxy on 127.0.0.1), both documented in docs/TROUBLESHOOTING.md.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.support.blackbox20_apps import DOCS
from tests.support.fake_api import Collector, LogsMissing, free_port
from tests.support.polling import PATIENCE
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import CALLER, GUNICORN, serve, server_env
from tests.test_twins19_wsgi_asgi import (
    BOUNDARY,
    MULTIPART,
    differences,
    once_per_server,
    stripped,
)

pytestmark = pytest.mark.e2e

WSGI_TARGET = "tests.support.blackbox20_apps:wsgi_app"
ASGI_TARGET = "tests.support.blackbox20_apps:asgi_app"
ORIGIN = "https://ok.example"
NESTED = json.dumps({"user": {"name": "z", "password": "p",
                              "list": [{"secret": "s", "k": CALLER}]}}).encode()
RAW_HEAD = b"\r\nHost: HOST\r\nX-Api-Key: " + CALLER.encode() + b"\r\nX-Request-Id: RID\r\n"

#: id -> (method, target, extra headers, body, chunk size for Transfer-Encoding: chunked).
#: Method ``RAW``: the target is the request's bytes as sent (HOST and RID filled in).
CASES: dict[str, tuple[str, Any, list[tuple[str, Any]], Optional[bytes], Optional[int]]] = {
    "non-utf8-query": ("GET", "/query?name=%E9t%E9&x=%FF%FE&a=1&a=2&sp=a+b&empty=&flag",
                       [], None, None),
    "repeated-headers": ("GET", "/query", [("X-Rep", "a"), ("X-Rep", "b"),
                                           ("Accept", "text/plain"),
                                           ("Accept", "application/json")], None, None),
    "cookies": ("GET", "/query", [("Cookie", "session=abc; theme=dark; password=pw")],
                None, None),
    "repeated-response-headers": ("GET", "/multi", [], None, None),
    "multipart": ("POST", "/echo", [
        ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")], MULTIPART, None),
    "one-byte-chunks": ("POST", "/echo", [("Content-Type", "application/json")], NESTED, 1),
    "chunked-put": ("PUT", "/echo", [("Content-Type", "text/plain")], b"z" * 300, 8),
    "chunked-over-max": ("POST", "/echo", [("Content-Type", "text/plain")], b"q" * 10000, 100),
    "over-max": ("POST", "/echo", [("Content-Type", "application/json")],
                 b'{"a": "' + b"w" * 10000 + b'"}', None),
    "delete-body": ("DELETE", "/echo", [("Content-Type", "application/json")], NESTED, None),
    "patch-binary": ("PATCH", "/echo", [("Content-Type", "application/octet-stream")],
                     bytes(range(256)), None),
    "get-with-body": ("GET", "/echo", [("Content-Type", "text/plain")], b"get body", None),
    "form-non-utf8": ("POST", "/echo", [("Content-Type", "application/x-www-form-urlencoded")],
                      b"a=%FF&password=p&b=%E9t%E9&c=caf\xe9", None),
    "latin1-text": ("POST", "/echo", [("Content-Type", "text/plain; charset=latin-1")],
                    "caf\u00e9 cr\u00e8me".encode("latin-1"), None),
    "json-suffix": ("POST", "/echo", [("Content-Type", "application/vnd.api+json; charset=utf-8")],
                    b'{"password": "x", "n": [1, 2]}', None),
    "expect-continue": ("POST", "/echo", [("Content-Type", "text/plain"),
                                          ("Expect", "100-continue")], b"expect me", None),
    "key-in-query": ("GET", f"/query?key={CALLER}&secret=x",
                     [("Authorization", "Basic Zm9vOmJhcg==")], None, None),
    "latin1-header": ("GET", "/query", [("X-Name", "caf\u00e9".encode("latin-1"))], None, None),
    "odd-path": ("GET", "/query/a%2Fb/caf%C3%A9/%FF?q=%3B;x=1", [], None, None),
    "upper-host": ("GET", "/query", [("Host", "API.Example.COM:80")], None, None),
    "huge-stream": ("GET", "/huge", [], None, None),
    "head": ("HEAD", "/query", [], None, None),
    "no-content": ("GET", "/nocontent", [], None, None),
    "teapot": ("GET", "/status/418", [], None, None),
    "unregistered-299": ("GET", "/status/299", [], None, None),
    "unregistered-599": ("GET", "/status/599", [], None, None),
    "created": ("POST", "/status/201", [("Content-Type", "application/json")], b"{}", None),
    "latin1-answer": ("GET", "/latin1", [], None, None),
    "raises": ("GET", "/boom", [], None, None),
    "raises-while-streaming": ("GET", "/late-boom", [], None, None),
    "cors": ("GET", "/query", [("Origin", ORIGIN)], None, None),
    "http10": ("RAW", b"POST /echo HTTP/1.0" + RAW_HEAD
               + b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", [], None, None),
    "absolute-form": ("RAW", b"GET http://HOST/query?abs=1 HTTP/1.1" + RAW_HEAD
                      + b"Connection: close\r\n\r\n", [], None, None),
    "double-slash": ("RAW", b"GET //query//x?a=%2F HTTP/1.1" + RAW_HEAD
                     + b"Connection: close\r\n\r\n", [], None, None),
    "cookie-twice": ("GET", "/query", [("Cookie", "session=abc; theme=dark"),
                                       ("Cookie", "password=hunter22")], None, None),
    "no-request-id": ("GET", "/query?rid=none", [], None, None),
    # Not logged, on either side (SPEC 5 and 8): no x-documentation-url either.
    "preflight": ("OPTIONS", "/echo", [("Origin", ORIGIN),
                                       ("Access-Control-Request-Method", "POST")], None, None),
    "no-group": ("GET", "/query?nogroup", [], None, None),
}
NOT_LOGGED = ("preflight", "no-group")
#: Logged, and compared only for what must hold on both sides (the module's docstring).
APART = ("cookie-twice",)
PAIRS = [("waitress", "uvicorn"), ("gunicorn", "hypercorn")]


def argv(server: str, port: int) -> list[str]:
    if server == "waitress":
        return [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4",
                WSGI_TARGET]
    if server == "gunicorn":
        return [sys.executable, *GUNICORN, "--worker-class=gthread", "--threads=4",
                f"--bind=127.0.0.1:{port}", WSGI_TARGET]
    return ASGI_SERVERS[server](port, ASGI_TARGET)


def send(port: int, case: str) -> tuple[Any, dict[str, str]]:
    """``case`` sent on a connection of its own: the status and the answer's headers."""
    method, target, headers, body, chunk = CASES[case]
    if method == "RAW":
        with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
            sock.sendall(target.replace(b"HOST", b"127.0.0.1:%d" % port)
                         .replace(b"RID", f"rid-{case}".encode()))
            data = b""
            while got := sock.recv(65536):
                data += got
        head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        return int(head[0].split()[1]), dict(
            (name.lower(), value.strip()) for name, _, value in
            (line.partition(":") for line in head[1:]))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
    connection.putrequest(method, target, skip_accept_encoding=True,
                          skip_host=any(name == "Host" for name, _ in headers))
    if case != "no-group":
        connection.putheader("X-Api-Key", CALLER)
    if case != "no-request-id":
        connection.putheader("X-Request-Id", f"rid-{case}")
    for name, value in headers:
        connection.putheader(name, value)
    if body is not None and chunk:
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for start in range(0, len(body), chunk):
            part = body[start:start + chunk]
            connection.send(b"%x\r\n%s\r\n" % (len(part), part))
        connection.send(b"0\r\n\r\n")
    else:
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
    try:
        response = connection.getresponse()
        answered = response.status, {k.lower(): v for k, v in response.getheaders()}
        try:
            response.read()
        except http.client.IncompleteRead:  # raises-while-streaming: cut short, as bare
            pass
        return answered
    finally:
        connection.close()


def request_id(log: dict[str, Any]) -> str:
    headers = log["request"]["log"]["entries"][0]["request"]["headers"]
    return next(h["value"] for h in headers if h["name"].lower() == "x-request-id")


def logs_under(server: str, collector: Collector, tmp: Path) -> dict[str, Any]:
    """case -> (the answer, the one log of it, or None where none is expected)."""
    port = free_port()
    env = server_env(collector, CORS_ALLOWED=ORIGIN)
    before = {id(log) for log in collector.logs}
    with serve(argv(server, port), env, tmp, port):
        answers = {case: send(port, case) for case in CASES}
        expected = len(CASES) - len(NOT_LOGGED)
        deadline = time.monotonic() + PATIENCE
        while len(mine := [log for log in collector.logs if id(log) not in before]) < expected:
            if time.monotonic() > deadline:
                raise LogsMissing(f"{len(mine)} of {expected} logs under {server}", collector)
            time.sleep(0.02)
        time.sleep(0.2)  # a log too many (a case logged that must not be) arrives too
        mine = [log for log in collector.logs if id(log) not in before]
    by_id: dict[str, list[Any]] = {}
    for log in mine:
        rid = request_id(log)
        by_id.setdefault(rid if rid.startswith("rid-") else "rid-no-request-id", []).append(log)
    assert all(len(logs) == 1 for logs in by_id.values()), sorted(by_id)
    return {case: (answers[case], by_id.get(f"rid-{case}", [None])[0]) for case in CASES}


def normalised(log: dict[str, Any], server: str, case: str) -> dict[str, Any]:
    """``log`` of ``case`` under ``server`` without what servers differ in (the module's
    docstring names each)."""
    log, log_id = stripped(log)
    entry = log["request"]["log"]["entries"][0]
    request, response = entry["request"], entry["response"]
    headers = request["headers"]
    if server in ASGI_SERVERS:  # one environ key per header name under WSGI
        joined: dict[str, dict[str, str]] = {}
        for header in headers:
            name = header["name"].lower()
            if name in joined:
                joined[name]["value"] += "," + header["value"]
            else:
                joined[name] = header
        headers[:] = list(joined.values())
    for header in headers:
        if header["name"].lower() == "x-request-id" and case == "no-request-id":
            header["value"] = "MADE"
    if server == "waitress" and CASES[case][4]:
        for header in headers:
            if header["name"] == "Content-Length":
                header.update(name="Transfer-Encoding", value="chunked")
    for header in headers:  # waitress joins with ", ", gunicorn with ","
        header["value"] = header["value"].replace(", ", ",")
    if server == "waitress" and request["method"] == "HEAD":
        assert response["content"]["size"] == response["bodySize"] > 0
        response["content"].update(size=0, text="")
        response["bodySize"] = 0
    if case.startswith("unregistered-"):
        response["statusText"] = "REASON"
    headers.sort(key=lambda header: header["name"].lower())
    for header in response["headers"]:
        if header["name"].lower() == "x-documentation-url":
            header["value"] = header["value"].replace(log_id, "ID")
    return log


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    for made in once_per_server(tmp_path_factory.mktemp("blackbox20"), logs_under):
        yield made["under"]


@pytest.mark.parametrize(("wsgi", "asgi"), PAIRS, ids=[f"{w}-{a}" for w, a in PAIRS])
def test_same_log_under_wsgi_and_asgi(wsgi: str, asgi: str, collected: Any) -> None:
    wsgi_logs, asgi_logs = collected(wsgi), collected(asgi)
    found = {}
    for case in CASES:
        (wsgi_status, wsgi_headers), wsgi_log = wsgi_logs[case]
        (asgi_status, asgi_headers), asgi_log = asgi_logs[case]
        assert wsgi_status == asgi_status, case
        if case in NOT_LOGGED:
            assert wsgi_log is asgi_log is None, case
            assert "x-documentation-url" not in wsgi_headers, case
            assert "x-documentation-url" not in asgi_headers, case
            continue
        assert wsgi_log is not None and asgi_log is not None, case
        if case in APART:
            assert "hunter22" not in json.dumps(wsgi_log) + json.dumps(asgi_log), case
            continue
        found[case] = differences(normalised(wsgi_log, wsgi, case),
                                  normalised(asgi_log, asgi, case))
    assert not any(found.values()), "\n".join(
        f"{case}: {line}" for case, lines in found.items() for line in lines)


def test_what_both_sides_log_is_the_contract(collected: Any) -> None:
    """The parity above is of logs right by SPEC 4-6: spot checks of the shared value."""
    for server in ("waitress", "uvicorn"):
        logs = collected(server)

        def entry(case: str, logs: dict[str, Any] = logs) -> Any:
            return logs[case][1]["request"]["log"]["entries"][0]

        huge = entry("huge-stream")["response"]
        assert huge["content"]["size"] == huge["bodySize"] == 1 << 20, server
        assert "truncated" in huge["content"]["comment"], server
        assert entry("raises")["response"]["status"] == 500, server
        assert entry("raises-while-streaming")["response"]["content"]["size"] == 5, server
        query = entry("non-utf8-query")["request"]
        assert query["url"].endswith("/query?name=%E9t%E9&x=%FF%FE&a=1&a=2&sp=a+b&empty=&flag")
        assert [p["name"] for p in query["queryString"]] == [
            "name", "x", "a", "a", "sp", "empty", "flag"], server
        chunked = entry("one-byte-chunks")["request"]
        assert chunked["bodySize"] == len(NESTED), server
        document = json.loads(chunked["postData"]["text"])
        assert document["user"]["password"] == "[REDACTED 1]", server
        assert document["user"]["list"][0]["secret"] == "[REDACTED 1]", server
        assert document["user"]["list"][0]["k"].startswith("sha512-"), server
        params = entry("multipart")["request"]["postData"]["params"]
        assert [p["name"] for p in params] == ["name", "password", "file"], server
        assert params[1]["value"] == "[REDACTED 2]", server
        assert params[2]["value"].startswith("data:application/octet-stream;name=a.bin;base64,")
        answer_headers = logs["cors"][0][1]
        assert answer_headers["access-control-allow-origin"] == ORIGIN, server
        assert answer_headers["x-documentation-url"].startswith(f"{DOCS}/logs/"), server
        assert CALLER not in json.dumps(logs["key-in-query"][1]), server
