"""Shared test helpers: a real, programmable Metrics API stand-in on 127.0.0.1.

Tests never mock ``requests``: the middleware posts over real TCP to this server, which
records every request and answers as the test programs it (status codes, Retry-After,
hanging, closing the connection).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional


@dataclass
class Received:
    """One HTTP request the collector received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """How the collector answers one request."""

    status: int = 202
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to sleep before answering
    drop: bool = False  # close the connection without answering


class Collector:
    """A threaded HTTP server recording every request; programmable replies.

    ``replies`` is a queue of :class:`Reply` consumed one per POST; when it is empty,
    ``default`` answers. ``GET /v1`` (the docs URL lookup) answers ``get_v1`` if set.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.get_v1: Optional[Callable[[Received], Reply]] = None
        self._cond = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _read(self) -> Received:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                return Received(self.command, self.path, dict(self.headers), body)

            def _answer(self, reply: Reply) -> None:
                if reply.hang:
                    time.sleep(reply.hang)
                if reply.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_POST(self) -> None:  # noqa: N802
                received = self._read()
                with collector._cond:
                    reply = collector.replies.popleft() if collector.replies else collector.default
                    if reply.status < 300 and not reply.drop and not reply.hang:
                        collector.received.append(received)
                        collector._cond.notify_all()
                    else:
                        collector.failed.append(received)
                self._answer(reply)

            def do_GET(self) -> None:  # noqa: N802
                received = self._read()
                with collector._cond:
                    collector.gets.append(received)
                if collector.get_v1 is not None and self.path.startswith("/v1"):
                    self._answer(collector.get_v1(received))
                else:
                    self._answer(Reply(404, b'{"error": "not found"}'))

        self.failed: list[Received] = []
        self.gets: list[Received] = []
        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is expected, not noise

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> Collector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- reading what arrived -------------------------------------------------------

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        """Every accepted POST body, parsed."""
        with self._cond:
            return [r.json() for r in self.received if r.path == "/v1/request"]

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Every accepted log object, in arrival order."""
        return [log for batch in self.batches for log in batch]

    def wait_for_logs(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``count`` logs arrived (or raise), then return all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                have = sum(
                    len(json.loads(r.body)) for r in self.received if r.path == "/v1/request"
                )
                if have >= count:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"collector got {have} logs, expected {count}")
                self._cond.wait(left)
        return self.logs


def basic_auth(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- HAR log validation (SPEC section 4) ---------------------------------------------

import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

_HAR_SCHEMA_PATH = Path(__file__).with_name("har-1.2.schema.json")
_har_validator: Any = None

# "sha512-" + base64 of the 64-byte digest (88 characters, "==" padded) + "?" + last 4.
_MASK_SHAPE = re.compile(r"sha512-[A-Za-z0-9+/]{86}==\?.{0,4}", re.S)
_REDACTED_SHAPE = re.compile(r"\[REDACTED( \d+)?\]")
_STARTED_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_MASKED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


def har_validator() -> Any:
    """The jsonschema validator of tests/har-1.2.schema.json (built once)."""
    global _har_validator
    if _har_validator is None:
        import jsonschema

        schema = json.loads(_HAR_SCHEMA_PATH.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _har_validator = cls(schema)
    return _har_validator


def _is_secret_shape(value: Any) -> bool:
    return isinstance(value, str) and bool(
        _MASK_SHAPE.fullmatch(value) or _REDACTED_SHAPE.fullmatch(value)
    )


def assert_valid_log(log: dict) -> None:
    """Assert that ``log`` is one log object exactly as SPEC section 4 describes.

    Checks the HAR 1.2 document in ``log["request"]`` against the strict JSON schema
    (tests/har-1.2.schema.json), then the contract on top of HAR: ``_id`` a uuid4, the
    group id masked, the creator, the startedDateTime shape, ``time`` the sum of the
    timings, non-negative timings, ``headersSize`` -1, credentials and cookies masked
    (or redacted), mimeTypes matching Content-Type, no ``postData`` without a body.
    Extra top-level keys are allowed only when ``_``-prefixed (as HAR custom fields).
    """
    from readme_metrics.version import __version__

    assert isinstance(log, dict), f"log is not an object: {type(log).__name__}"
    required = {"_id", "group", "clientIPAddress", "development", "request"}
    missing = required - set(log)
    assert not missing, f"log misses {sorted(missing)}"
    extra = [key for key in log if key not in required and not str(key).startswith("_")]
    assert not extra, f"log has unexpected keys {extra}"

    log_id = log["_id"]
    assert isinstance(log_id, str), "_id is not a string"
    parsed_id = uuid.UUID(log_id)
    assert parsed_id.version == 4 and str(parsed_id) == log_id, f"_id {log_id!r} is no uuid4"

    group = log["group"]
    assert isinstance(group, dict), "group is not an object"
    assert set(group) <= {"id", "label", "email"} and "id" in group, f"group keys {set(group)}"
    assert isinstance(group["id"], str) and _MASK_SHAPE.fullmatch(group["id"]), (
        f"group id is not masked: {group['id']!r}"
    )
    for key in ("label", "email"):
        if key in group:
            assert isinstance(group[key], str), f"group {key} is not a string"
    assert isinstance(log["clientIPAddress"], str), "clientIPAddress is not a string"
    assert isinstance(log["development"], bool), "development is not a boolean"

    har = log["request"]
    assert isinstance(har, dict) and set(har) == {"log"}, "request is not {'log': ...}"
    errors = sorted(har_validator().iter_errors(har), key=lambda e: list(e.absolute_path))
    assert not errors, "invalid HAR 1.2: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    har_log = har["log"]
    assert har_log["version"] == "1.2"
    creator_comment = (
        f"{platform.machine()}-{platform.system()}{platform.release()}"
        f"/{platform.python_version()}"
    )
    assert har_log["creator"] == {
        "name": "readme-metrics (python)", "version": __version__, "comment": creator_comment,
    }, f"creator {har_log['creator']!r}"
    assert len(har_log["entries"]) == 1, "a log carries exactly one entry"
    entry = har_log["entries"][0]
    request, response = entry["request"], entry["response"]

    assert _STARTED_SHAPE.fullmatch(entry["startedDateTime"]), (
        f"startedDateTime {entry['startedDateTime']!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ"
    )
    timings = entry["timings"]
    for name in ("send", "wait", "receive"):
        assert timings[name] >= 0, f"timings.{name} is negative"
    total = timings["send"] + timings["wait"] + timings["receive"]
    assert math.isclose(entry["time"], total, rel_tol=0, abs_tol=1e-6), (
        f"time {entry['time']} != send+wait+receive {total}"
    )
    assert entry["cache"] == {}, "cache is not {}"
    assert entry.get("pageref") == request["url"], "pageref is not the request url"

    parts = urlsplit(request["url"])
    assert parts.scheme in ("http", "https") and parts.netloc, f"bad url {request['url']!r}"
    assert not any(c.isspace() for c in request["url"]), f"url has blanks {request['url']!r}"
    query_pairs = [chunk for chunk in parts.query.split("&") if chunk] if parts.query else []
    assert len(request["queryString"]) == len(query_pairs), (
        f"queryString has {len(request['queryString'])} pairs, url query {len(query_pairs)}"
    )
    for part in (request, response):
        assert part["headersSize"] == -1, "headersSize is not -1"
        assert isinstance(part["bodySize"], int) and part["bodySize"] >= -1
        for header in part["headers"]:
            if header["name"].lower() in _MASKED_HEADERS:
                assert _is_secret_shape(header["value"]), (
                    f"{header['name']} header is not masked: {header['value']!r}"
                )
        for cookie in part["cookies"]:
            assert _is_secret_shape(cookie["value"]), (
                f"cookie {cookie['name']!r} is not masked: {cookie['value']!r}"
            )

    post = request.get("postData")
    if post is not None:
        assert request["bodySize"] != 0, "postData without a body"
        content_type = next(
            (h["value"] for h in request["headers"] if h["name"].lower() == "content-type"),
            None,
        )
        is_base64 = post.get("comment", "").startswith("base64")
        if "params" not in post:
            expected = content_type or "text/plain"
            assert post["mimeType"] == expected, (
                f"postData.mimeType {post['mimeType']!r} is not Content-Type {content_type!r}"
            )
        if is_base64:
            base64.b64decode(post["text"], validate=True)
    else:
        assert request["bodySize"] in (0, -1), "a request with a body has no postData"

    content = response["content"]
    content_type = next(
        (h["value"] for h in response["headers"] if h["name"].lower() == "content-type"), ""
    )
    assert content["mimeType"] == content_type, (
        f"content.mimeType {content['mimeType']!r} is not Content-Type {content_type!r}"
    )
    if "encoding" in content:
        assert content["encoding"] == "base64", f"content.encoding {content['encoding']!r}"
        base64.b64decode(content.get("text", ""), validate=True)
    location = next(
        (h["value"] for h in response["headers"] if h["name"].lower() == "location"), ""
    )
    assert response["redirectURL"] == location, "redirectURL is not the Location header"
    assert 100 <= response["status"] <= 999, f"status {response['status']}"


class ThreadedWSGIServer:
    """A real threaded wsgiref server on 127.0.0.1 for end-to-end tests (context manager).

    .. code-block:: python

        with ThreadedWSGIServer(app) as server:
            requests.get(server.url + "/path")
    """

    def __init__(self, app: Any) -> None:
        import socketserver
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        class Server(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Quiet)
        self.server.set_app(app)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ThreadedWSGIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- Direct WSGI calls and scripted apps (differential tests) ------------------------

import io  # noqa: E402
import sys  # noqa: E402
from wsgiref.util import setup_testing_defaults  # noqa: E402


def wsgi_environ(
    method: str = "GET",
    path: str = "/",
    headers: Optional[dict[str, str]] = None,
    body: bytes = b"",
    query: str = "",
) -> dict[str, Any]:
    """A complete PEP 3333 environ for a direct call (what a server would build)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(body),
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    setup_testing_defaults(environ)
    return environ


@dataclass
class WSGIResult:
    """What a server saw from one call: final status/headers, body bytes, exception."""

    status: Optional[str]
    headers: list[tuple[str, str]]
    body: bytes
    error: Optional[BaseException] = None

    @property
    def error_repr(self) -> Optional[str]:
        return None if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def run_wsgi(app: Any, environ: dict[str, Any]) -> WSGIResult:
    """Call ``app`` as a strict server would: write(), exc_info rules, close() always."""
    state: dict[str, Any] = {"status": None, "headers": [], "sent": False}
    body: list[bytes] = []

    def write(data: bytes) -> None:
        assert state["status"] is not None, "write() before start_response"
        state["sent"] = state["sent"] or bool(data)
        body.append(data)

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            if state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
        else:
            assert state["status"] is None, "start_response called twice without exc_info"
        state["status"], state["headers"] = status, list(headers)
        return write

    error: Optional[BaseException] = None
    try:
        result = app(environ, start_response)
        try:
            for chunk in result:
                state["sent"] = state["sent"] or bool(chunk)
                body.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception as exc:
        error = exc
    return WSGIResult(state["status"], state["headers"], b"".join(body), error)


class ScriptedError(Exception):
    """Raised by :class:`ScriptedApp` on purpose."""


@dataclass
class ScriptedApp:
    """A WSGI app whose whole behaviour is data, so hypothesis can generate it.

    ``mode``: "list" returns a list, "iter" a generator calling start_response lazily,
    "write" sends the first chunk through write(), "raise_before" raises before
    start_response, "raise_during" raises after the first chunk, "error_page" starts a
    200, then replaces it with ``status`` through exc_info before any body.
    """

    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    mode: str = "list"
    read_body: bool = True
    calls: int = 0
    closed: int = 0
    environs: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        self.environs.append(dict(environ))
        if self.read_body:
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if self.mode == "raise_before":
            raise ScriptedError("before start_response")
        if self.mode == "list":
            start_response(self.status, list(self.headers))
            return list(self.chunks)
        if self.mode == "write":
            write = start_response(self.status, list(self.headers))
            if self.chunks:
                write(self.chunks[0])
            return self._closing(iter(self.chunks[1:]))
        return self._closing(self._generate(start_response))

    def _generate(self, start_response: Any) -> Any:
        if self.mode == "error_page":
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise ScriptedError("handled")
            except ScriptedError:
                start_response(self.status, list(self.headers), sys.exc_info())
        else:
            start_response(self.status, list(self.headers))
        for index, chunk in enumerate(self.chunks):
            if self.mode == "raise_during" and index == 1:
                raise ScriptedError("while iterating")
            yield chunk
        if self.mode == "raise_during":
            raise ScriptedError("at the end")

    def _closing(self, iterator: Any) -> Any:
        app = self

        class Body:
            def __iter__(self) -> Any:
                return iterator

            def close(self) -> None:
                app.closed += 1

        return Body()


def scripted_apps(extra_headers: Any = None) -> Any:
    """Hypothesis strategy of valid :class:`ScriptedApp` s (wsgiref.validate and lint clean).

    ``extra_headers`` is a strategy of (name, value) pairs mixed into the app's headers,
    for headers the middleware under test cares about.
    """
    from hypothesis import strategies as st

    statuses = st.sampled_from([
        "200 OK", "201 Created", "204 No Content", "301 Moved Permanently",
        "304 Not Modified", "400 Bad Request", "404 Not Found", "418 I'm a teapot",
        "500 Internal Server Error", "599 Custom Reason",
    ])
    value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    name = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,12}[A-Za-z0-9]", fullmatch=True)
    pair = st.tuples(name, value)
    if extra_headers is not None:
        pair = st.one_of(pair, extra_headers)

    @st.composite
    def build(draw: Any) -> ScriptedApp:
        status = draw(statuses)
        code = int(status[:3])
        headers = draw(st.lists(pair, max_size=6))
        empty = code in (204, 304)
        chunks = [] if empty else draw(st.lists(st.binary(max_size=64), max_size=5))
        mode = draw(st.sampled_from(
            ["list", "iter", "write", "raise_before", "raise_during", "error_page"]
        ))
        if not empty:
            headers.insert(draw(st.integers(0, len(headers))),
                           ("Content-Type", draw(st.sampled_from(
                               ["text/plain", "application/json", "application/octet-stream"]
                           ))))
            if mode not in ("raise_during", "write") and draw(st.booleans()):
                headers.append(("Content-Length", str(sum(map(len, chunks)))))
        elif code == 204:
            headers.append(("Content-Length", "0"))
        return ScriptedApp(status, headers, chunks, mode)

    return build()


class _ReadlinesInput:
    """werkzeug's lint InputStream lacks readlines(), which wsgiref.validate requires."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, *args: Any) -> bytes:
        return bytes(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return bytes(self._stream.readline(*args))

    def readlines(self, *args: Any) -> list[bytes]:
        return list(iter(self._stream.readline, b""))

    def __iter__(self) -> Any:
        return iter(self._stream)


def validated_inside_lint(app: Any) -> Any:
    """``wsgiref.validate.validator(app)`` usable below a werkzeug ``LintMiddleware``.

    Stack ``validator(LintMiddleware(middleware(validated_inside_lint(app))))`` to check a
    middleware from both sides: as an app towards the server, as a server towards the app.
    """
    from wsgiref.validate import validator

    checked = validator(app)

    def app_with_full_input(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input"] = _ReadlinesInput(environ["wsgi.input"])
        return checked(environ, start_response)

    return app_with_full_input


# -- The readme-metrics command as a subprocess (tests/test_cli.py, test_collector.py) --

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


class CommandProcess:
    """``python -m readme_metrics ARGS`` in a subprocess, its stdout read line by line.

    Always stopped by its own PID (``stop``), also from a ``finally``/context manager.

    .. code-block:: python

        with CommandProcess("collect", "--port", "0", cwd=tmp_path) as proc:
            url = proc.wait_for(r"listening on (http://\\S+)").group(1)
    """

    def __init__(self, *args: str, cwd: Any, env: Optional[dict[str, str]] = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in [environment.get("PYTHONPATH")] if p]
        )
        environment["PYTHONUNBUFFERED"] = "1"
        environment.update(env or {})
        self.stderr_path = Path(cwd) / f"stderr-{time.monotonic_ns()}.txt"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "readme_metrics", *args], cwd=str(cwd), env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, encoding="utf-8", errors="replace",
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stdout(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 20.0, count: int = 1) -> re.Match[str]:
        """Block until ``count`` stdout lines match ``pattern``; return the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in map(regex.search, self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"{len(found)} of {count} lines match {pattern!r}; exit code "
                        f"{self.proc.poll()}\nstdout:\n{chr(10).join(self.lines)}\n"
                        f"stderr:\n{self.stderr}"
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` to this process (by PID), wait for it, kill it if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        self._stderr.close()
        return int(self.proc.returncode)

    def wait(self, timeout: float = 120.0) -> int:
        """Wait for the process to exit on its own (killed by PID after ``timeout``)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        finally:
            self._reader.join(5)
        return int(self.proc.returncode)

    def __enter__(self) -> CommandProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def har_file_logs(path: Any) -> list[dict[str, Any]]:
    """The log objects behind a collector's HAR file, rebuilt from each entry's ``_readme``.

    The file must be one valid HAR 1.2 document (checked against the schema here); each
    rebuilt log can then go through :func:`assert_valid_log`.
    """
    from readme_metrics.har import CREATOR

    document = json.loads(Path(path).read_text(encoding="utf-8"))
    errors = list(har_validator().iter_errors(document))
    assert not errors, f"{path} is not valid HAR 1.2: {[e.message for e in errors[:3]]}"
    logs = []
    for entry in document["log"]["entries"]:
        meta = dict(entry["_readme"])
        har_entry = {key: value for key, value in entry.items() if key != "_readme"}
        logs.append({**meta, "request": {"log": {
            "version": "1.2", "creator": dict(CREATOR), "entries": [har_entry],
        }}})
    return logs


import logging  # noqa: E402


def assert_api_key_not_logged(records: list[logging.LogRecord], api_key: str) -> None:
    """No record shows the API key or its Basic token (SPEC 7: never log the key)."""
    token = base64.b64encode(f"{api_key}:".encode()).decode()
    formatter = logging.Formatter("%(message)s")
    for record in records:
        text = formatter.format(record)
        assert api_key not in text and token not in text, text
