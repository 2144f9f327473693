"""The capture core (readme_metrics/capture/): request parsing, body recording, recorder.

Plain-value tables for request.py and body.py, real sockets for rest.py (reading an
unread rest without waiting), and the adapters' edges: a ``wsgi.input`` giving ``str``, the queue's
memory bound counting headers, ``enabled=False`` and importing the Django adapter
without Django.
"""

from __future__ import annotations

import socket
import sys
import threading
import tracemalloc
from typing import Any, Callable, Optional

import pytest
from flask import Flask
from hypothesis import example, given
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.environ_strings import PLANS_MAX, environ_strings
from readme_metrics.capture.forwarded import client_ip, pick_client_ip
from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.recorder import Recorder, response_header_text
from readme_metrics.capture.request_head import EnvironRequest, RequestHead
from readme_metrics.capture.request_headers import request_headers
from readme_metrics.capture.request_url import build_url, request_url
from readme_metrics.capture.rest import record_rest
from readme_metrics.capture.wsgi_response import (
    answers_500,
    cuts_at_length,
    holds_empty_chunks,
    ignores_late_start,
    keeps_earlier_headers,
    plain_server,
    sends_list_as_is,
    takes_raising_restart,
)
from readme_metrics.exchange import Exchange, Group
from readme_metrics.flask_readme import ReadMeMetrics
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.processes import run_command
from tests.support.wsgi import run_wsgi, wsgi_environ

SAFETY = 10.0  # seconds; reached only when a read waits on the client


def config_for(collector: Collector, **options: Any) -> MetricsApiConfig:
    options.setdefault("grouping_function", lambda request: {"api_key": "caller"})
    return MetricsApiConfig(api_key="rdme_abcdefghijklmnopqrstuvwxyz",
                            metrics_api=collector.url, base_log_url="https://docs.test",
                            **options)


# -- request.py: plain values in, plain values out ------------------------------------


@pytest.mark.parametrize(("args", "url"), [
    pytest.param(("http", "api.test", "/a?b=1"), "http://api.test/a?b=1", id="plain"),
    pytest.param(("http", "api.test", "/ä b"), "http://api.test/%C3%A4%20b", id="quoted"),
    pytest.param(("http", "10.0.0.1:8000", "/", "https", "api.test", 1),
                 "https://api.test/", id="trusted-proxy"),
    pytest.param(("http", "10.0.0.1:8000", "/", "https", "api.test", 0),
                 "http://10.0.0.1:8000/", id="untrusted-proxy"),
    pytest.param(("http", "h", "/", "evil, https", "evil, api.test", 1),
                 "https://api.test/", id="last-hop"),
])
def test_build_url(args: tuple[Any, ...], url: str) -> None:
    target = args[2].encode().decode("latin-1")  # a raw target, as a server gives it
    assert build_url(args[0], args[1], target, *args[3:]) == url


@pytest.mark.parametrize(("remote", "forwarded", "trusted", "ip"), [
    ("10.0.0.1", None, 1, "10.0.0.1"),
    ("10.0.0.1", "203.0.113.9", 0, "10.0.0.1"),
    ("10.0.0.1", "198.51.100.1, 203.0.113.9", 1, "203.0.113.9"),
    ("10.0.0.1", "198.51.100.1, 203.0.113.9", 2, "198.51.100.1"),
    ("10.0.0.1", "203.0.113.9", 2, "10.0.0.1"),
])
def test_pick_client_ip(remote: str, forwarded: Optional[str], trusted: int, ip: str) -> None:
    assert pick_client_ip(remote, forwarded, trusted) == ip


def _strings_of(environ: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """What environ_strings must give: every str value, in order, and their bytes."""
    strings = {k: v for k, v in environ.items() if v.__class__ is str}
    return (tuple(strings), tuple(strings.values()),
            sum(len(k) + len(v) for k, v in strings.items()))


def _shaped(tag: str, **values: Any) -> dict[str, Any]:
    """An environ of a shape no other test uses (plans are kept per process)."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", f"HTTP_X_{tag}": "1",
                               "wsgi.input": object(), "wsgi.multithread": True}
    environ.update(values)
    return environ


@pytest.mark.parametrize(("first", "then"), [
    pytest.param({}, {"HTTP_X_OTHER": "long value " * 50}, id="same-shape-new-values"),
    pytest.param({}, {"REQUEST_METHOD": b"GET"}, id="a-string-became-bytes"),
    pytest.param({}, {"REQUEST_METHOD": None}, id="a-string-became-none"),
    pytest.param({"HTTP_X_OTHER": "a"}, {"HTTP_X_OTHER": 5}, id="a-string-became-int"),
    pytest.param({}, {"PATH_INFO": "/new"}, id="another-shape"),
])
def test_environ_strings_copy_the_strings_of_every_environ(
        request: Any, first: dict[str, Any], then: dict[str, Any]) -> None:
    """The first environ of a shape leaves a plan; the next ones, copied by it, give
    exactly the strings they hold, whatever changed in between."""
    tag = request.node.callspec.id.replace("-", "_").upper()
    for environ in (_shaped(tag, **first), _shaped(tag, **first), _shaped(tag, **then),
                    _shaped(tag, **first)):
        assert environ_strings(environ) == _strings_of(environ)


def test_environ_strings_without_plans_for_random_shapes() -> None:
    """More shapes than plans (random header names): each is still copied exactly."""
    for n in range(PLANS_MAX * 2):
        environ = _shaped(f"RANDOM_{n}", **{f"HTTP_X_{n}_{m}": "v" * m for m in range(3)})
        assert environ_strings(environ) == _strings_of(environ)
        assert environ_strings(environ) == _strings_of(environ)


def test_environ_strings_of_tiny_and_huge_environs() -> None:
    """One string (itemgetter of one key gives no tuple), none, and header names past
    the plan size bound."""
    for environ in ({"ONLY": "x", "wsgi.input": object()}, {"wsgi.input": object()},
                    {f"HTTP_{'N' * 3000}_{n}": "v" for n in range(3)}):
        assert environ_strings(environ) == _strings_of(environ)
        assert environ_strings(environ) == _strings_of(environ)


def _head_of(environ: dict[str, Any], trusted: int) -> RequestHead:
    """What EnvironRequest.head must give: the environ's strings read as a dict."""
    strings = {k: v for k, v in environ.items() if v.__class__ is str}
    # (method, url, http_version, headers, client_ip)
    return (strings.get("REQUEST_METHOD", "GET"), request_url(strings, trusted),
            strings.get("SERVER_PROTOCOL", "HTTP/1.1"), request_headers(strings),
            client_ip(strings, trusted))


_HEAD_KEYS = ["REQUEST_METHOD", "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH",
              "SERVER_SOFTWARE", "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
              "RAW_URI", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
              "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_FOR",
              "REMOTE_ADDR", "HTTP_ACCEPT", "HTTP_COOKIE", "HTTP_X_API_KEY", "OTHER_CGI"]


@given(keys=st.lists(st.sampled_from(_HEAD_KEYS), unique=True),
       values=st.lists(st.sampled_from(["", "GET", "text/plain", "0", "12", "WSGIServer/0.2",
                                        "/a b", "/x?y=1", "https", "10.0.0.1, 10.0.0.2",
                                        "caf\u00c3\u00a9", "\u00ff"]), min_size=22,
                       max_size=22),
       trusted=st.integers(0, 2))
@example(keys=_HEAD_KEYS, values=["POST", "HTTP/1.0", "text/plain", "12", "gunicorn/23",
                                  "http", "h.test", "s.test", "8080", "/raw?a=1",
                                  "/req?b=2", "/app", "/p", "c=3", "https, http",
                                  "f.test, g.test", "10.0.0.1, 10.0.0.2", "127.0.0.1",
                                  "*/*", "a=1", "caf\u00c3\u00a9", "x"], trusted=1)
@example(keys=_HEAD_KEYS[:14], values=[""] * 22, trusted=0)
def test_environ_request_head_reads_the_strings_as_a_dict_would(
        keys: list[str], values: list[str], trusted: int) -> None:
    """head() reads the copied strings through a per-shape plan: the same as reading them
    as a dict, on the first environ of a shape and on the next ones."""
    environ: dict[str, Any] = dict(zip(keys, values))
    environ["wsgi.input"] = object()
    for _ in range(2):
        assert EnvironRequest(environ, trusted).head() == _head_of(environ, trusted)
    environ = {key: f"{value}2" for key, value in environ.items() if key != "wsgi.input"}
    assert EnvironRequest(environ, trusted).head() == _head_of(environ, trusted)


def test_environ_request_head_past_the_plan_bounds() -> None:
    """More shapes than plans, and header names too long to keep: each head is right."""
    for n in range(PLANS_MAX * 2):
        environ = _shaped(f"HEAD_{n}", PATH_INFO=f"/{n}", HTTP_HOST="api.test")
        assert EnvironRequest(environ).head() == _head_of(environ, 0)
    environ = {f"HTTP_{'N' * 3000}_{n}": "v" for n in range(3)}
    for _ in range(2):
        assert EnvironRequest(environ).head() == _head_of(environ, 0)


@pytest.mark.parametrize(("pairs", "expected"), [
    pytest.param([("Content-Type", "text/plain")], [("Content-Type", "text/plain")],
                 id="ascii-strings-as-they-are"),
    pytest.param([(b"X-Name", b"caf\xc3\xa9")], [("X-Name", "caf\u00e9")],
                 id="asgi-bytes-utf-8"),
    pytest.param([("X-Name", "caf\u00c3\u00a9")], [("X-Name", "caf\u00e9")],
                 id="wsgi-latin-1-read-utf-8"),
    pytest.param([("X-Name", "caf\u00e9")], [("X-Name", "caf\u00e9")],
                 id="latin-1-that-is-not-utf-8-stays"),
    pytest.param([(b"X-Raw", bytearray(b"\xff"))], [("X-Raw", "\u00ff")],
                 id="bytearray-latin-1"),
    pytest.param([("X-Count", 5)], [("X-Count", "5")], id="not-a-string"),
])
def test_response_header_text(pairs: list[tuple[Any, Any]],
                              expected: list[tuple[str, str]]) -> None:
    assert response_header_text(pairs) == expected


def test_header_text_recovers_utf8_from_latin1() -> None:
    assert header_text("Zoë".encode().decode("latin-1")) == "Zoë"
    assert header_text("caf\xe9") == "caf\xe9"  # latin-1 that is not UTF-8 stays


# -- body.py ---------------------------------------------------------------------------


def test_body_record_keeps_the_limit_and_counts_everything() -> None:
    record = BodyRecord(limit=4, declared=10)
    record.feed(b"abc")
    record.feed(b"defghij")
    assert (record.content(), record.size, record.eof, record.body_size) == (
        b"abcd", 10, True, 10)
    record.give_up()  # at the end: nothing is missing
    assert not record.incomplete


def test_body_record_incomplete_is_of_the_size_received() -> None:
    record = BodyRecord(limit=100, declared=100000)
    record.feed(b"abc")
    record.give_up()
    assert (record.content(), record.body_size, record.incomplete) == (b"abc", 3, True)
    assert record.declared == 100000  # for the comment: "3 of 100000 bytes"


def test_body_record_hands_over_a_body_read_in_one_chunk_as_that_object() -> None:
    body = bytes(range(256)) * 16
    record = BodyRecord(limit=8192, declared=len(body))
    record.feed(body)
    assert record.content() is body  # no copy in, none out
    assert (record.nbytes, record.room, record.body_size) == (4096, 4096, 4096)


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_body_record_copies_a_chunk_that_could_change(kind: Any) -> None:
    data = bytearray(b"abcdef")
    record = BodyRecord(limit=4)
    record.feed(kind(data))
    record.feed(b"gh")
    data[0:2] = b"zz"  # the app's buffer, reused
    assert (record.content(), record.size, record.nbytes) == (b"abcd", 8, 4)
    assert record.content() == b"abcd"


def held(fill: Callable[[], Any]) -> int:
    """Bytes of memory still allocated after ``fill()`` (what it keeps)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fill()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("step", [1, 7, 100])
def test_body_record_keeps_small_reads_in_one_buffer(step: int) -> None:
    # A body read a byte or a line at a time must not be kept as an object per read until
    # the exchange ends (several times the body's size), and gives the same bytes out.
    body = bytes(range(256)) * 64
    record = BodyRecord(limit=10000, declared=len(body))

    def fill() -> None:
        for i in range(0, len(body), step):
            record.feed(body[i:i + step])  # a new object per read, as a server gives

    assert held(fill) < 2 * 10000
    assert (record.content(), record.size, record.nbytes) == (body[:10000], len(body), 10000)


def test_response_recorder_keeps_small_chunks_in_one_buffer() -> None:
    recorder = Recorder("log-1", limit=10000)
    recorder.respond(200, "OK", [])

    def fill() -> None:
        for i in range(3000):
            recorder.record(b"%d," % i)

    assert held(fill) < 2 * 10000
    assert recorder.kept_body() == b"".join(b"%d," % i for i in range(3000))[:10000]


@pytest.mark.parametrize(("chunks", "limit"), [
    pytest.param([b"one"], 100, id="one-chunk"),
    pytest.param([b"abc", b"def"], 100, id="two-chunks"),
    pytest.param([b"abcdef", b"gh"], 4, id="first-cut-at-limit"),
    pytest.param([b"ab", b"cdef"], 4, id="second-cut-at-limit"),
    pytest.param([bytearray(b"ab"), b"cd"], 100, id="buffer-then-bytes"),
    pytest.param([b"ab", memoryview(b"cd"), b"", b"e"], 100, id="bytes-view-empty-bytes"),
    pytest.param([b"", b"x" * 2000, b"y"], 1500, id="empty-first-then-large"),
])
def test_response_recorder_keeps_what_passed_up_to_the_limit(chunks: list[Any],
                                                             limit: int) -> None:
    recorder = Recorder("log-1", limit=limit)
    recorder.respond(200, "OK", [])
    for chunk in chunks:
        recorder.record(chunk)
        if isinstance(chunk, bytearray):
            chunk[:] = b"??"  # the app reuses its buffer: the log keeps what passed
    passed = b"".join(bytes(chunk) for chunk in chunks).replace(b"??", b"ab")
    assert recorder.kept_body() == passed[:limit]
    assert recorder.body_size == len(passed)


def test_response_recorder_hands_over_one_chunk_without_a_copy() -> None:
    chunk = b"x" * 5000
    recorder = Recorder("log-1", limit=10000)
    recorder.respond(200, "OK", [])
    recorder.record(chunk)
    assert recorder.kept_body() is chunk


def in_thread(call: Callable[[], Any]) -> Any:
    """Run ``call`` in a thread; fail (instead of hanging) if it waits on the client."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(SAFETY)
    assert not thread.is_alive(), "the read waited on the client"
    return result[0]


@pytest.fixture
def connection() -> Any:
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


@pytest.mark.parametrize(("declared", "sent", "complete"), [
    pytest.param(100000, b"abc", False, id="client-sends-less"),
    pytest.param(3, b"abc", True, id="sent-in-full"),
])
def test_socket_reader_is_read_without_waiting(connection: Any, declared: int, sent: bytes,
                                               complete: bool) -> None:
    server, client = connection
    client.sendall(sent)
    rfile = server.makefile("rb")  # what werkzeug's and wsgiref's servers hand the app
    record = BodyRecord(limit=1024, declared=declared)
    in_thread(lambda: record_rest(record, rfile, {}, grace=0.01))
    assert record.content() == sent
    assert record.incomplete is not complete
    assert server.gettimeout() is None  # the socket is blocking again


def test_gunicorn_body_is_copied_not_consumed(connection: Any) -> None:
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    server, client = connection
    unreader = SocketUnreader(server)
    unreader.unread(b"ab")  # what came with the headers, buffered by gunicorn
    client.sendall(b"c")
    body = Body(LengthReader(unreader, 2048))
    record = BodyRecord(limit=4096, declared=2048)
    taken = in_thread(lambda: record_rest(record, body, {"gunicorn.socket": server},
                                          grace=0.01))
    assert (taken, record.content(), record.incomplete) == (0, b"abc", True)
    client.sendall(b"x" * 2045)
    # gunicorn still has them, in order, and its count of the body is right.
    assert in_thread(lambda: body.read(4096)) == b"abc" + b"x" * 2045


# -- recorder.py -----------------------------------------------------------------------


def test_finish_is_true_once_whatever_the_threads() -> None:
    recorder = Recorder("id", 1024)
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def finish() -> None:
        barrier.wait()
        results.append(recorder.finish())

    threads = [threading.Thread(target=finish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_pending_makes_each_exchange_field_of_its_own_piece() -> None:
    """Pending.to_exchange passes Exchange's fields by position (fewer instructions per
    log): each field gets its own piece, whatever the order of Exchange's fields."""
    recorder = Recorder("log-7", limit=1000,
                        request_body=BodyRecord(limit=1000, declared=5))
    recorder.request_body.feed(b"12345")  # type: ignore[union-attr]
    recorder.respond(201, "Made", [("X-R", "r\u00c3\u00a9")])
    recorder.record(b"answer")
    recorder.comment = "why"
    head: RequestHead = ("PUT", "http://h.test/p", "HTTP/1.0", [("X-Q", "q")], "10.1.2.3")

    class Source:
        nbytes = 0

        def head(self) -> RequestHead:
            return head

    group = Group("g", "label", "e@x.test")
    pending = recorder.pending(Source(), group)  # type: ignore[arg-type]
    exchange = pending.to_exchange()
    got = {name: getattr(exchange, name) for name in Exchange.__dataclass_fields__}
    assert got.pop("started") > 0.0
    wait, duration = got.pop("wait"), got.pop("duration")
    assert 0.0 <= wait <= duration
    assert got == {
        "id": "log-7", "method": "PUT", "url": "http://h.test/p",
        "http_version": "HTTP/1.0", "request_headers": [("X-Q", "q")],
        "client_ip": "10.1.2.3", "group": group, "request_body": b"12345",
        "request_body_size": 5, "request_body_incomplete": False, "status": 201,
        "status_text": "Made", "response_headers": [("X-R", "r\u00e9")],
        "response_body": b"answer", "response_body_size": 6,
        "response_body_omitted": False, "response_comment": "why",
        "response_http_version": None, "response_body_cut": None,
        "response_cut_at_exit": False, "request_body_declared": None,
        "response_body_short": False, "request_body_read": None,
        "response_client_left": False,
    }


def test_exchange_nbytes_counts_url_headers_and_bodies() -> None:
    exchange = Exchange(id="i", started=0.0, method="GET", url="http://h/" + "u" * 50,
                        http_version="HTTP/1.1", request_headers=[("X-Big", "v" * 1000)],
                        client_ip="", group=Group("g"), request_body=b"b" * 10,
                        response_headers=[("Set-Cookie", "c" * 100)], response_body=b"r")
    assert exchange.nbytes >= 59 + 1005 + 10 + 110 + 1


# -- the adapters' edges ---------------------------------------------------------------


class StrInput:
    """A broken server's wsgi.input: it gives str."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, *args: Any) -> str:
        text, self.text = self.text, ""
        return text


def reading_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{type(data).__name__}:{data!r}".encode()]


def late_reading_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # the grouping runs here
    data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    return [f"{type(data).__name__}:{data!r}".encode()]


@pytest.mark.parametrize("grouping_reads_body", [False, True])
@pytest.mark.parametrize("app", [reading_app, late_reading_app])
def test_wsgi_input_giving_str_passes_through_and_records_nothing(
        collector: Collector, grouping_reads_body: bool, app: Any) -> None:
    def grouping(request: Any) -> dict[str, str]:
        if grouping_reads_body:
            request.body_file_raw.read(5)
        return {"api_key": "caller"}

    def environ() -> dict[str, Any]:
        env = wsgi_environ("POST", "/", headers={"Content-Type": "text/plain"})
        env["CONTENT_LENGTH"] = "5"
        env["wsgi.input"] = StrInput("hello")
        return env

    bare = run_wsgi(app, environ())
    middleware = MetricsMiddleware(app, config_for(
        collector, buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT,
        grouping_function=grouping))
    wrapped = run_wsgi(middleware, environ())
    assert wrapped.body == bare.body == b"str:'hello'"
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert "postData" not in request and request["bodySize"] == 0
    middleware.close()


def test_queue_bound_counts_headers_not_only_bodies(collector: Collector) -> None:
    # Nothing is delivered (the full queue's POST is held unanswered): logs stay queued.
    held = threading.Event()
    collector.default = Reply(gate=held)
    middleware = MetricsMiddleware(reading_app, config_for(
        collector, max_queue_bytes=1_000_000, buffer_length=1000, flush_interval=0,
        shutdown_timeout=1))
    for _ in range(10):
        env = wsgi_environ("GET", "/", headers={"X-Big": "v" * 200_000})
        assert run_wsgi(middleware, env).status.startswith("200")
    stats = middleware.stats
    assert stats["queued"] <= 5 and stats["dropped"] >= 5, stats
    held.set()
    middleware.close()


def test_disabled_wsgi_middleware_is_a_pass_through(collector: Collector) -> None:
    result = [b"untouched"]
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"])
        start_response("200 OK", [])
        return result

    before = set(threading.enumerate())
    middleware = MetricsMiddleware(app, config_for(collector, enabled=False))
    env = wsgi_environ("POST", "/", body=b"abc")
    body = env["wsgi.input"]
    assert middleware(env, lambda status, headers: None) is result
    assert seen == [body]  # the server's own input, not a tee
    # No thread started (one of an earlier test's ending meanwhile is not this one's).
    assert middleware.pipeline is None and not set(threading.enumerate()) - before
    assert middleware.flush(1.0) is True
    # The counters a running middleware has, all at 0: code reading them (a health check,
    # a metrics exporter) works the same with metrics turned off.
    running = MetricsMiddleware(app, config_for(collector))
    try:
        assert middleware.stats == dict.fromkeys(running.stats, 0)
    finally:
        running.close()
    middleware.close()
    assert collector.received == [] and collector.gets == []


def test_disabled_flask_extension_leaves_the_app_alone(collector: Collector) -> None:
    app = Flask(__name__)
    original = app.wsgi_app
    metrics = ReadMeMetrics(config_for(collector, enabled=False), app)
    assert app.wsgi_app == original and metrics.middleware is None
    assert "readme_metrics" not in app.extensions
    assert metrics.stats["captured"] == metrics.stats["sent"] == 0


@pytest.mark.parametrize(("adapter", "missing", "hint"), [
    ("django", "django", 'readme_metrics.django needs Django 3.2 or later (the "django" '
                         'extra): pip install "django>=3.2"'),
    *[(adapter, "starlette", 'readme_metrics.starlette and readme_metrics.fastapi need '
       'Starlette 0.20 or later (the "fastapi" extra; FastAPI brings it): pip install '
       '"starlette>=0.20"') for adapter in ("starlette", "fastapi")],
])
def test_an_adapter_without_its_framework_says_what_to_install(adapter: str, missing: str,
                                                               hint: str) -> None:
    # The framework itself, not "readme-metrics[...]": that name on PyPI is the official
    # package, which would replace this one.
    code = (f"import sys; sys.modules[{missing!r}] = None\n"
            f"import readme_metrics.{adapter}\n")
    done = run_command([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert done.returncode != 0
    assert f"ImportError: {hint}" in done.stderr


# -- wsgi_response.py ------------------------------------------------------------------


#: What capture/wsgi_response.py defined before house10 split it by job, by module now.
WSGI_RESPONSE_NAMES = {
    "wsgi_response": ["Response", "SizedResponse", "read_along"],
    "wsgi_servers": ["ANSWERS_OWN_VERSION", "answered_version", "cuts_at_length",
                     "ends_after_close", "ends_at_close", "holds_empty_chunks",
                     "ignores_late_start", "keeps_earlier_headers", "plain_server",
                     "sends_list_as_is", "sends_unallowed_body", "sends_written_head_body",
                     "takes_raising_restart", "under_cheroot", "under_wsgiref"],
    "wsgi_failures": ["answers_500", "client_left", "refuses_unsent", "signals_land",
                      "unanswered_at", "wsgiref_head_unsent"],
    "file_rest": ["file_rest"],
}


@pytest.mark.parametrize("module", sorted(WSGI_RESPONSE_NAMES))
def test_every_name_wsgi_response_had_is_still_importable_from_it(module: str) -> None:
    """Split by job, wsgi_response still offers each name it had (an import of another
    project's or an old test's goes on working): the very object of its module now, in
    its ``__all__``. Each module stays under ~400 lines."""
    import importlib
    from pathlib import Path

    from readme_metrics.capture import wsgi_response

    home = importlib.import_module(f"readme_metrics.capture.{module}")
    for name in WSGI_RESPONSE_NAMES[module]:
        assert getattr(wsgi_response, name) is getattr(home, name), name
        assert name in wsgi_response.__all__, name
        assert name in home.__all__, name
    assert len(Path(home.__file__ or "").read_text(encoding="utf-8").splitlines()) < 400


def test_wsgi_exchange_split_by_job_keeps_its_exit_methods() -> None:
    """house38: the log of a WSGI exchange cut short (at exit, or by a signal's raise as
    it is queued) is capture/wsgi_cut.py's now, bound as the very same functions for
    ``WSGICapture``'s methods (unclosed's exit hook and ``Response.cut_at_exit`` call
    them so; no call added); each module under ~400 lines (wsgi_exchange had 437)."""
    from pathlib import Path

    from readme_metrics.capture import wsgi_cut, wsgi_exchange
    from readme_metrics.capture.wsgi_exchange import WSGICapture

    assert WSGICapture.finish_at_exit is wsgi_cut.finish_at_exit
    assert WSGICapture.cut_at_exit is wsgi_cut.cut_at_exit
    assert wsgi_exchange.__all__ == ["NO_BODY", "WSGICapture"]
    for module in (wsgi_exchange, wsgi_cut):
        text = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, module.__name__


@pytest.mark.parametrize(("extra", "plain"), [
    pytest.param({}, True, id="direct-call"),
    pytest.param({"SERVER_SOFTWARE": "WSGIServer/0.2 CPython/3.11"}, True, id="wsgiref"),
    pytest.param({"SERVER_SOFTWARE": "Werkzeug/3.0"}, True, id="werkzeug"),
    pytest.param({"waitress.client_disconnected": lambda: False}, False, id="waitress"),
    pytest.param({"gunicorn.socket": object()}, False, id="gunicorn"),
    pytest.param({"uwsgi.version": b"2.0"}, False, id="uwsgi"),
    pytest.param({"SERVER_SOFTWARE": "Granian"}, False, id="granian"),
])
def test_a_plain_server_is_one_every_server_check_answers_plainly(extra: dict[str, Any],
                                                                   plain: bool) -> None:
    """The WSGI middleware asks plain_server() once instead of each check: under a plain
    server each must give the answer it skips to."""
    environ = {"SERVER_PROTOCOL": "HTTP/1.1", **extra}
    assert plain_server(environ) is plain
    if plain:
        for result in ([b"x"], ["x"], [], iter([b"x"])):
            assert not ignores_late_start(environ)
            assert not cuts_at_length(environ, result)
            assert not holds_empty_chunks(environ)
            assert not keeps_earlier_headers(environ)
            assert not takes_raising_restart(environ)
        assert sends_list_as_is([b"x"], environ, [("X-\u20ac", "\u20ac")])
        assert not sends_list_as_is(["x"], environ, [])
        assert answers_500(environ, True, False) and not answers_500(environ, True, True)
