"""One capture core (SPEC 3): the same exchange gives the same log under WSGI and ASGI.

tests/support/twins19_apps.py serves one API as a plain WSGI app and as a plain ASGI app
(the same status, headers and body for every request). Each row of :data:`CASES` is sent
to the WSGI app under gunicorn, waitress and werkzeug's development server and to the ASGI
app under uvicorn, hypercorn and daphne, each on 127.0.0.1, logging into a real collector;
the logs are compared field by field, after normalising only what servers really differ
in: the port (each server has its own), ``httpVersion`` (as the server says), the
timings and ``startedDateTime``, and the ``_id`` (in ``x-documentation-url`` too).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import body_sent
from tests.support.fake_api import Collector, LogsMissing, free_port
from tests.support.har_check import assert_valid_log
from tests.support.polling import PATIENCE
from tests.support.twins19_apps import DOCS
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import CALLER, GUNICORN, serve, server_env

pytestmark = pytest.mark.e2e

WSGI_TARGET = "tests.support.twins19_apps:wsgi_app"
ASGI_TARGET = "tests.support.twins19_apps:asgi_app"


#: Served under the mount point /api that a proxy strips (SPEC 4's url: the one the
#: client asked for, as docs/SERVERS.md says of ``--root-path``).
MOUNT = "/api"
MOUNTED = {"waitress": [f"--url-prefix={MOUNT}"], "hypercorn": [f"--root-path={MOUNT}"],
           "uvicorn": [f"--root-path={MOUNT}"], "daphne": [f"--root-path={MOUNT}"]}


def argv(server: str, port: int, mounted: bool = False) -> list[str]:
    command = _argv(server, port)
    return command[:-1] + MOUNTED.get(server, []) + command[-1:] if mounted else command


def _argv(server: str, port: int) -> list[str]:
    if server == "gunicorn":
        return [sys.executable, *GUNICORN, "--worker-class=sync", f"--bind=127.0.0.1:{port}",
                WSGI_TARGET]
    if server == "waitress":
        return [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4",
                WSGI_TARGET]
    if server == "werkzeug":
        return [sys.executable, "-m", "tests.support.twins19_apps", str(port)]
    return ASGI_SERVERS[server](port, ASGI_TARGET)


BOUNDARY = "twinboundary"
MULTIPART = (
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nn\u00e9\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n"
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n\r\n").encode() + bytes(range(256)) + (
    f"\r\n--{BOUNDARY}--\r\n").encode()
QUERY = "?a=1+2&b=%2B&c=&c=x&d&e=%C3%A9&password=p&name=n+%26"
JSON_BODY = json.dumps({"name": "n\u00e9", "password": "hunter2",
                        "nested": {"token": "t", "a": [1, {"name": "x"}]}}).encode()


def chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 7):
        yield data[start:start + 7]


#: id -> (method, path and query, request headers, body, X-Twin-Config)
CASES: dict[str, tuple[str, str, dict[str, str], Any, str]] = {
    "get-query": ("GET", "/json/caf%C3%A9" + QUERY, {
        "Cookie": "session=abc; theme=dark; blank=", "Authorization": "Bearer tok3n"},
        None, "plain"),
    "post-json": ("POST", "/echo" + QUERY, {"Content-Type": "application/json"}, JSON_BODY,
                  "plain"),
    "post-form": ("POST", "/echo", {"Content-Type": "application/x-www-form-urlencoded"},
                  b"a=1+2&b=%2B&c=&c=x&d&e=%C3%A9", "plain"),
    "post-multipart": ("POST", "/echo", {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, MULTIPART, "plain"),
    "post-binary": ("POST", "/echo", {"Content-Type": "application/octet-stream"},
                    bytes(range(256)), "plain"),
    "post-no-type": ("POST", "/echo", {}, b"plain words", "plain"),
    "post-empty": ("POST", "/echo", {"Content-Type": "text/plain"}, b"", "plain"),
    "post-chunked": ("POST", "/echo", {"Content-Type": "application/json"},
                     "chunked", "plain"),
    "put-xml": ("PUT", "/echo", {"Content-Type": "application/xml"},
                b"<a><name>x</name></a>", "plain"),
    "patch-text": ("PATCH", "/echo", {"Content-Type": "text/plain; charset=utf-8"},
                   "gr\u00fc\u00df".encode(), "plain"),
    "delete-204": ("DELETE", "/nocontent", {}, None, "plain"),
    "unread-json": ("POST", "/noread", {"Content-Type": "application/json"}, JSON_BODY,
                    "plain"),
    "unread-big": ("POST", "/noread", {"Content-Type": "text/plain"}, b"x" * 10000, "plain"),
    "unread-chunked": ("POST", "/noread", {"Content-Type": "text/plain"}, "chunked",
                       "plain"),
    "big-request": ("POST", "/echo", {"Content-Type": "text/plain"}, b"y" * 10000, "plain"),
    "head": ("HEAD", "/json", {}, None, "plain"),
    "not-modified": ("GET", "/notmodified", {"If-None-Match": '"v1"'}, None, "plain"),
    "redirect": ("GET", "/redirect?to=%2Fjson", {}, None, "plain"),
    "stream": ("GET", "/stream", {}, None, "plain"),
    "big-response": ("GET", "/big", {}, None, "plain"),
    "binary-response": ("GET", "/binary", {}, None, "plain"),
    "deny": ("POST", "/secret" + QUERY, {
        "Content-Type": "application/json", "Cookie": "session=abc; theme=dark",
        "X-Secret": "mine"}, JSON_BODY, "deny"),
    "deny-form": ("POST", "/echo" + QUERY, {
        "Content-Type": "application/x-www-form-urlencoded"}, b"a=1&b=2&password=p", "deny"),
    "allow": ("POST", "/secret" + QUERY, {
        "Content-Type": "application/json", "Cookie": "session=abc; theme=dark",
        "X-Secret": "mine"}, JSON_BODY, "allow"),
    "allow-multipart": ("POST", "/echo", {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, MULTIPART, "allow"),
}


def send(session: requests.Session, base: str, case: str, marks: Path) -> requests.Response:
    method, target, headers, body, config = CASES[case]
    data = body
    if target == "/noread" and isinstance(body, bytes):
        # The app waits for it to be in the server's hands before it answers: urllib3
        # sends the head and the body apart, and a client descheduled between them (a
        # loaded machine) sent the body after the capture's grace: logged "0 of 93 bytes"
        # under hypercorn, as it was there (flaky58, tests/support/body_sent.py).
        data, mark = body_sent.marked(body, marks, case)
        headers = {**headers, **mark}
    elif body == "chunked":
        # An unread chunked body is logged as far as it arrived within the capture's
        # grace: sent in one chunk, so that a client descheduled between its 7-byte
        # chunks (a loaded machine: 91 of 93 bytes under uvicorn, review99) is not read
        # as a difference of the servers. A body the app reads goes in 7-byte chunks.
        data = iter([JSON_BODY]) if target == "/noread" else chunked(JSON_BODY)
    return session.request(method, base + target, data=data, allow_redirects=False,
                           headers={**headers, "X-Api-Key": CALLER, "X-Twin-Config": config,
                                    "X-Forwarded-Prefix": MOUNT},
                           timeout=PATIENCE)


def logs_under(server: str, collector: Collector, tmp_path: Path, cases: Iterable[str] = CASES,
               mounted: bool = False) -> dict[str, Any]:
    """Every case sent to ``server``: case id -> the one log the collector received.
    ``mounted``: the app is served under :data:`MOUNT`, which a proxy in front strips
    (gunicorn and werkzeug: ProxyFix reads it from X-Forwarded-Prefix)."""
    port = free_port()
    ids: dict[str, str] = {}
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    env = server_env(collector, **({"TWINS19_PROXY_FIX": "1"} if mounted else {}),
                     **{body_sent.MARKS_ENV: str(marks)})
    with serve(argv(server, port, mounted), env, tmp_path, port) as base:
        for case in cases:
            # A connection each: waitress and werkzeug send a HEAD answer's body.
            with requests.Session() as session:
                response = send(session, base, case, marks)
                header = response.headers.get("x-documentation-url", "")
                assert header.startswith(f"{DOCS}/logs/"), (case, response.headers)
                ids[case] = header.rsplit("/", 1)[1]
        deadline = time.monotonic() + PATIENCE
        while missing := _missing(ids, collector):
            if time.monotonic() > deadline:  # (serve adds the server's output)
                raise LogsMissing(f"logs missing under {server} after {PATIENCE} s: "
                                  f"{missing} of {len(ids)} cases", collector)
            time.sleep(0.02)
    by_id = {log["_id"]: log for log in collector.logs}
    return {case: by_id[log_id] for case, log_id in ids.items()}


def _missing(ids: dict[str, str], collector: Collector) -> list[str]:
    """The cases whose log (named by its ``_id``) the collector has not received."""
    received = {log["_id"] for log in collector.logs}
    return [case for case, log_id in ids.items() if log_id not in received]


#: Servers that send the body an app gives to a HEAD answer: its log has the bytes the
#: client got (docs/BODIES.md): waitress and werkzeug all of it; daphne every body message
#: after the first (its Twisted write past the no-op, blackbox8: the twin app's JSON comes
#: in more than one message, its tail on the wire); gunicorn, uvicorn and hypercorn drop it.
SEND_HEAD_BODY = ("waitress", "werkzeug", "daphne")
#: Of a body the app left unread, a capture reads up to max_body_bytes as the server
#: hands it over (gunicorn and waitress 4096, werkzeug 6156, daphne 8192 bytes of 10,000;
#: uvicorn and hypercorn all of it at once), and says how much when it is not all.
_READ_NOTE = re.compile(r"; only \d+ bytes were read: .*")
_CUT = re.compile(r"truncated to (\d+) (?:of \d+ bytes|bytes of a body of unknown length)")


def stripped(log: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A valid ``log``'s copy without what differs from run to run and server to server:
    ``_id`` (returned), timings, ``startedDateTime``, ``httpVersion`` and the port."""
    assert_valid_log(log)
    log = json.loads(json.dumps(log))
    log_id = log.pop("_id")
    entry = log["request"]["log"]["entries"][0]
    for name in ("startedDateTime", "time", "timings"):
        entry.pop(name)
    request, response = entry["request"], entry["response"]
    request.pop("httpVersion")
    response.pop("httpVersion")
    host = request["url"].partition("://")[2].partition("/")[0]
    request["url"] = request["url"].replace(host, "127.0.0.1:PORT", 1)
    entry["pageref"] = entry["pageref"].replace(host, "127.0.0.1:PORT", 1)
    for header in request["headers"]:
        if header["name"].lower() == "host":
            header["value"] = "127.0.0.1:PORT"
    return log, log_id


def normalised(log: dict[str, Any], server: str, chunked: bool) -> dict[str, Any]:
    """``log`` under ``server`` (of a request sent ``chunked`` or not), without what
    servers legitimately differ in."""
    log, log_id = stripped(log)
    entry = log["request"]["log"]["entries"][0]
    request, response = entry["request"], entry["response"]
    if server == "waitress" and chunked:
        # waitress reads a chunked body whole and hands the app a Content-Length for it
        # (and no Transfer-Encoding): the environ is all a WSGI middleware sees.
        for header in request["headers"]:
            if header["name"] == "Content-Length":
                redacted = header["value"].startswith("[REDACTED")  # an allowlist's
                assert redacted or header["value"] == str(request["bodySize"])
                header.update(name="Transfer-Encoding",
                              value=f"[REDACTED {len('chunked')}]" if redacted else "chunked")
    if "postData" in request and "comment" in request["postData"]:
        comment = _READ_NOTE.sub("", request["postData"]["comment"])
        if chunked and _CUT.search(comment):
            # A chunked body over max_body_bytes the app left unread: its size is known
            # where the server handed its end over with the first max_body_bytes (uvicorn,
            # a small body in one message), else -1 (gunicorn, whose reads the capture
            # stops at max_body_bytes).
            comment = _CUT.sub(r"truncated to \1 of SIZE", comment)
            request["bodySize"] = "SIZE"
        request["postData"]["comment"] = comment
    if server in SEND_HEAD_BODY and request["method"] == "HEAD":
        assert response["content"]["size"] == response["bodySize"] > 0
        response["content"].update(size=0, text="")
        response["bodySize"] = 0
    # A WSGI environ keeps no order between CONTENT_TYPE, CONTENT_LENGTH and HTTP_*.
    request["headers"].sort(key=lambda header: header["name"].lower())
    for cookie in response["cookies"]:  # Max-Age: the log's own clock
        if "expires" in cookie:
            cookie["expires"] = "EXPIRES"
    for header in response["headers"]:
        if header["name"].lower() == "x-documentation-url":
            header["value"] = header["value"].replace(log_id, "ID")
    return log


def differences(wsgi: Any, asgi: Any, at: str = "") -> list[str]:
    if isinstance(wsgi, dict) and isinstance(asgi, dict):
        return [line for key in sorted(set(wsgi) | set(asgi))
                for line in differences(wsgi.get(key, "<absent>"), asgi.get(key, "<absent>"),
                                        f"{at}.{key}")]
    if isinstance(wsgi, list) and isinstance(asgi, list) and len(wsgi) == len(asgi):
        return [line for i, (a, b) in enumerate(zip(wsgi, asgi))
                for line in differences(a, b, f"{at}[{i}]")]
    return [] if wsgi == asgi else [f"{at}: WSGI {wsgi!r} | ASGI {asgi!r}"]


def assert_same(wsgi_logs: dict[str, Any], wsgi: str, asgi_logs: dict[str, Any], asgi: str,
                cases: Iterable[str]) -> None:
    """Each case's log the same under ``wsgi`` and ``asgi``, once normalised."""
    found = {case: differences(normalised(wsgi_logs[case], wsgi, CASES[case][3] == "chunked"),
                               normalised(asgi_logs[case], asgi, CASES[case][3] == "chunked"))
             for case in cases}
    assert not any(found.values()), "\n".join(
        f"{case}: {line}" for case, lines in found.items() for line in lines)


WSGI = ["gunicorn", "waitress", "werkzeug"]
ASGI = ["uvicorn", "hypercorn", "daphne"]
_MISSING = {"daphne": importlib.util.find_spec("daphne") is None}
PAIRS = [pytest.param(w, a, id=f"{w}-{a}", marks=pytest.mark.skipif(
    _MISSING.get(a, False), reason=f"{a} is not installed")) for w, a in zip(WSGI, ASGI)]


def once_per_server(tmp: Path, logs_under: Callable[[str, Collector, Path], Any]
                    ) -> Iterator[dict[str, Any]]:
    """A module fixture's body: ``under(server)`` runs ``logs_under`` once per server, into
    one collector (also tests/test_blackbox20_asgi_parity.py)."""
    made: dict[str, Any] = {}
    collector = Collector().start()

    def under(server: str) -> Any:
        if server not in made:
            made[server] = logs_under(server, collector, tmp)
        return made[server]

    yield {"under": under, "tmp": tmp, "collector": collector}
    collector.stop()


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from once_per_server(tmp_path_factory.mktemp("twins19"), logs_under)


@pytest.mark.parametrize(("wsgi", "asgi"), PAIRS)
def test_same_log_under_wsgi_and_asgi(wsgi: str, asgi: str, collected: dict[str, Any]) -> None:
    assert_same(collected["under"](wsgi), wsgi, collected["under"](asgi), asgi, CASES)


MOUNTED_CASES = ["get-query", "post-form", "redirect", "head"]
MOUNTED_PAIRS = [pytest.param("waitress", "hypercorn", id="waitress-url-prefix-hypercorn"),
                 pytest.param("gunicorn", "uvicorn", id="gunicorn-proxyfix-uvicorn"),
                 pytest.param("werkzeug", "daphne", id="werkzeug-proxyfix-daphne",
                              marks=PAIRS[2].marks)]


@pytest.mark.parametrize(("wsgi", "asgi"), MOUNTED_PAIRS)
def test_same_log_under_a_mount_point(wsgi: str, asgi: str, collected: dict[str, Any]) -> None:
    """A proxy serves the app under /api and passes it the rest of the path: the url is
    the one the client asked for, /api/json, under WSGI (SCRIPT_NAME) as under ASGI
    (root_path)."""
    tmp, collector = collected["tmp"], collected["collector"]
    wsgi_logs = logs_under(wsgi, collector, tmp, MOUNTED_CASES, mounted=True)
    asgi_logs = logs_under(asgi, collector, tmp, MOUNTED_CASES, mounted=True)
    for server, logs in ((wsgi, wsgi_logs), (asgi, asgi_logs)):
        url = logs["get-query"]["request"]["log"]["entries"][0]["request"]["url"]
        assert url.split("/", 3)[3].startswith("api/json/caf%C3%A9?a=1+2&b=%2B"), (server, url)
    assert_same(wsgi_logs, wsgi, asgi_logs, asgi, MOUNTED_CASES)
