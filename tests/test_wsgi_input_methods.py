"""What a server's ``wsgi.input`` offers beyond PEP 3333's four methods is offered wrapped
too, with the same results, and the body is still logged exactly once.

Differential, under the real servers (waitress, gunicorn sync and gthread, werkzeug's
development server, wsgiref, uWSGI, granian), each serving tests/support/input_apps.py
bare and wrapped in one process, over a real socket: the app reads its body with
``readinto``, ``read1``, ``peek``, ``seek``/``tell``, werkzeug's LimitedStream (Flask's
request stream, which prefers ``readinto``), ``io.TextIOWrapper``, keyword arguments,
``readlines(hint)``, ``with``, ``close()``, or asks ``hasattr``; the two answers
must be the same bytes, and each wrapped request one log whose body is the body sent.
Unit cases below pin the capture's side: bytes read through ``readinto`` are recorded,
a seek back does not record bytes twice, a seek forward records the bytes it skipped,
nothing is read past CONTENT_LENGTH, and an attribute exists exactly when the server's
input has it.
"""

from __future__ import annotations

import base64
import io
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi_input import InputTee
from tests.support.fake_api import Collector, free_port
from tests.support.input_apps import NAMES
from tests.test_e2e_servers import NO_GRANIAN, NO_UWSGI, serve, server_env
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_hostile_servers import _answer, _logs_for, _normalized, _trace_of

TARGET = "tests.support.input_apps:input_root"


def _own(server: str) -> Callable[[int], list[str]]:
    return lambda port: [WSGI_SERVERS["werkzeug"](port, TARGET)[0], "-m",
                         "tests.support.input_apps", server, str(port)]


SERVERS: dict[str, Callable[[int], list[str]]] = {
    "waitress": lambda port: WSGI_SERVERS["waitress"](port, TARGET),
    "gunicorn-sync": lambda port: WSGI_SERVERS["gunicorn-sync"](port, TARGET),
    "gunicorn-gthread": lambda port: WSGI_SERVERS["gunicorn-gthread"](port, TARGET),
    "werkzeug": _own("werkzeug"),
    "wsgiref": _own("wsgiref"),
    "uwsgi": lambda port: WSGI_SERVERS["uwsgi"](port, TARGET),
    "granian": lambda port: WSGI_SERVERS["granian"](port, TARGET),
}

BODY = b"first line\nsecond line, a little longer\nthird line\n" * 3
# Past waitress's inbuf_overflow (512 KB): its input is a temporary file, not a BytesIO.
LARGE = bytes(range(256)) * 2100
MODES = ("attrs", "readinto", "readinto1", "read1", "limited", "peek", "seek", "skip",
         "text", "next", "keywords", "lines", "with", "close")

# Bodies the app leaves unread under granian (its input lacks the method, or the app reads
# one line): granian's are never recorded unread, a read there may wait (rest.py).
GRANIAN_UNREAD = {"readinto", "readinto1", "read1", "peek", "text", "next",
                  "pipelined-limited-2", "pipelined-seek-2"}


def _granian_drops_line_ends() -> bool:
    """granian before 2.8 (2.5 is the last on Python 3.9) gives ``readlines()`` its lines
    without their b"\\n" (bare too): what the app read is not what was sent, and the
    log, made of what the app read, cannot be either."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(part) for part in version("granian").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) < (2, 8)


def _post(port: int, prefix: str, mode: str, trace: str, body: bytes,
          keep_alive: bool = False) -> bytes:
    head = (f"POST /{prefix}/{mode} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-Trace: {trace}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode("latin-1") + body


def _cases(port: int, prefix: str, server: str
           ) -> dict[str, tuple[bytes, list[tuple[str, bytes]]]]:
    """name -> (what the client sends, [(trace, body)] of the requests in it)."""
    cases: dict[str, tuple[bytes, list[tuple[str, bytes]]]] = {}
    for mode in MODES:
        cases[mode] = (_post(port, prefix, mode, mode, BODY), [(mode, BODY)])
    # (Elsewhere an app that answers at once, its input lacking the method, leaves most of
    # a large body in flight: logged incomplete, as any body not read.)
    for mode in ("attrs", "readinto", "seek", "skip") if server == "waitress" else ():
        name = f"large-{mode}"
        cases[name] = (_post(port, prefix, mode, name, LARGE), [(name, LARGE)])
    # Two requests in one write: the first one's reads must leave the second one whole.
    for mode in ("limited", "seek"):
        name = f"pipelined-{mode}"
        cases[name] = (_post(port, prefix, mode, name, BODY, keep_alive=True)
                       + _post(port, prefix, "readinto", name + "-2", b"the second body"),
                       [(name, BODY), (name + "-2", b"the second body")])
    return cases


@pytest.mark.e2e
@pytest.mark.parametrize("server", [
    *(name for name in SERVERS if name not in ("uwsgi", "granian")),
    pytest.param("uwsgi", marks=NO_UWSGI), pytest.param("granian", marks=NO_GRANIAN)])
def test_the_input_offers_the_same_and_the_body_is_logged_once(
        collector: Collector, tmp_path: Path, server: str) -> None:
    port = free_port()
    env = server_env(collector, README_MAX_BODY_BYTES=str(1 << 20))
    differ = {}
    sent: dict[str, bytes] = {}
    with serve(SERVERS[server](port), env, tmp_path, port):
        for name, (bare_request, _) in _cases(port, "bare", server).items():
            wrap_request, requests = _cases(port, "wrap", server)[name]
            bare = _answer(port, bare_request)
            wrapped = _answer(port, wrap_request)
            assert bare.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")), (name, bare[:80])
            if _normalized(wrapped) != _normalized(bare):
                differ[name] = (bare[-300:], wrapped[-300:])
            # the second of two pipelined requests, where the server keeps the connection
            sent.update(requests[:wrapped.count(b" 200 OK\r\n")])
        logs = _logs_for(collector, len(sent))
    assert not differ, f"answers differ (bare, wrapped): {differ}"
    bodies = {_trace_of(log): log["request"]["log"]["entries"][0]["request"].get("postData")
              for log in logs}
    assert sorted(bodies) == sorted(sent), "one log for each wrapped request"
    wrong = {trace: (bodies[trace] or {}).get("comment") or (bodies[trace] or {}).get(
        "text", "")[:80] for trace, body in sent.items()
        if bodies[trace] != _as_logged(body)
        and not (server == "granian" and trace in GRANIAN_UNREAD)
        and not (server == "granian" and trace == "lines" and _granian_drops_line_ends())}
    assert not wrong, f"bodies not logged as sent: {wrong}"


def _as_logged(body: bytes) -> dict[str, str]:
    """The postData of ``body`` sent as text/plain: text, or base64 for bytes that are no
    text (LARGE: NUL and the other control bytes, not UTF-8; hostile18)."""
    if b"\0" not in body:
        return {"mimeType": "text/plain", "text": body.decode("latin-1")}
    return {"mimeType": "text/plain", "text": base64.b64encode(body).decode("ascii"),
            "comment": "base64"}


# -- the capture's side, over the inputs the servers hand the app ------------------------


def _bytes_input(body: bytes) -> Any:
    return io.BytesIO(body)


def _file_input(body: bytes) -> Any:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the input, open for the test
    spool.write(body)
    spool.seek(0)
    return spool


INPUTS = {"bytesio": _bytes_input, "tempfile": _file_input}


def _tee(stream: Any, declared: int, limit: int = 1 << 20, clamp: bool = True) -> InputTee:
    return InputTee(stream, BodyRecord(limit, declared), clamp=clamp)


@pytest.mark.parametrize("make", INPUTS.values(), ids=list(INPUTS))
@pytest.mark.parametrize("clamp", [True, False], ids=["clamped", "terminated"])
@pytest.mark.parametrize("steps", [
    pytest.param([("readinto", 4), ("readinto", 100)], id="readinto"),
    pytest.param([("readinto1", 3), ("read1", 5), ("read1", -1)], id="readinto1-read1"),
    pytest.param([("read", 6), ("seek", 0), ("read", 100)], id="seek-back-reread"),
    pytest.param([("read", 6), ("seek", 2), ("readinto", 9), ("read", 100)], id="seek-into"),
    pytest.param([("seek", 10), ("read", 100)], id="seek-forward-skips"),
    pytest.param([("seek-end", 0), ("tell", 0), ("seek", 0), ("read", 3)],
                 id="size-by-seek-end"),
    pytest.param([("read", 3), ("seek-cur", 4), ("read", 2), ("seek-cur", -6),
                  ("readinto", 5)], id="relative"),
    pytest.param([("peek", 1), ("readall", 0)], id="peek-readall"),
])
def test_reads_through_any_method_record_the_body_once(
        make: Callable[[bytes], Any], clamp: bool, steps: list[tuple[str, int]]) -> None:
    body = bytes(range(48, 48 + 40))
    bare_input, wrapped_input = make(body), make(body)
    tee = _tee(wrapped_input, len(body), clamp=clamp)
    bare_got: list[Any] = []
    wrapped_got: list[Any] = []
    for method, size in steps:
        for stream, got in ((bare_input, bare_got), (tee, wrapped_got)):
            if not hasattr(stream, method.split("-")[0]):
                got.append("absent")
            elif method.startswith("readinto"):
                buffer = bytearray(size)
                n = getattr(stream, method)(buffer)
                got.append(bytes(buffer[:n]))
            elif method == "seek-end":
                got.append(stream.seek(size, 2))
            elif method == "seek-cur":
                got.append(stream.seek(size, 1))
            elif method in ("tell", "readall"):
                got.append(getattr(stream, method)())
            else:
                got.append(getattr(stream, method)(size))
    # peek gives what is buffered: at least one byte, the body's next ones
    assert wrapped_got == bare_got or [s[:1] if isinstance(s, bytes) else s for s in
                                       wrapped_got] == [s[:1] if isinstance(s, bytes)
                                                        else s for s in bare_got]
    record = tee.record
    tee.record_rest({}, 0.0)
    assert record.content() == body and record.size == len(body)
    assert not record.incomplete


def test_readinto_is_held_to_the_declared_length() -> None:
    """A reader over a socket holding the body and the next request's bytes: readinto,
    readinto1, read1 and peek never give (nor take) a byte past the body."""
    server, client = socket.socketpair()
    try:
        client.sendall(b"0123456789" + b"NEXT REQUEST")
        stream = server.makefile("rb")
        tee = _tee(stream, 10)
        buffer = bytearray(8)
        assert tee.readinto(buffer) == 8 and buffer == b"01234567"
        assert tee.peek(100) == b"89"
        assert tee.read1(100) == b"89"
        assert tee.readinto(buffer) == 0 and tee.readinto1(buffer) == 0
        assert tee.read1() == b"" and tee.peek() == b""
        assert tee.record.content() == b"0123456789" and tee.record.eof
        assert stream.read(12) == b"NEXT REQUEST"
    finally:
        server.close()
        client.close()


def test_an_attribute_is_there_exactly_when_the_servers_input_has_it() -> None:
    from gunicorn.http.body import Body, LengthReader

    server, client = socket.socketpair()
    try:
        inputs = {"bytesio": io.BytesIO(b"x"), "socket": server.makefile("rb"),
                  "gunicorn": Body(LengthReader(None, 0)), "tempfile": _file_input(b"x")}
        for name, stream in inputs.items():
            tee = _tee(stream, 1)
            for attribute in (*NAMES, "getsize", "write", "nothing"):
                assert hasattr(tee, attribute) == hasattr(stream, attribute), (
                    name, attribute)
        assert not hasattr(_tee(io.BytesIO(), 1), "_input_attribute")
    finally:
        server.close()
        client.close()


def test_tell_and_seek_count_what_was_read_ahead_for_the_grouping_function() -> None:
    """waitress's input: the grouping function read ahead of the app (pull), which then
    asks tell() and seeks: positions are the app's, the body recorded once."""
    body = b"abcdefghij" * 3
    tee = _tee(io.BytesIO(body), len(body))
    assert tee.pull(12, {}) == body[:12]
    assert tee.tell() == 0
    assert tee.read(4) == b"abcd" and tee.tell() == 4
    assert tee.seek(2, 1) == 6 and tee.read(3) == b"ghi"
    buffer = bytearray(40)
    assert tee.seek(0) == 0 and tee.readinto(buffer) == 30 and buffer[:30] == body
    assert tee.record.content() == body and tee.record.eof


LINES = b"ab\ncdef\nghi\n" + b"jk\n" * 4


def _socket_input(body: bytes, after: bytes = b"NEXT") -> Any:
    """werkzeug's and wsgiref's input: a reader over the connection, the next request's
    bytes behind the body (a read past the body would take them, or wait); bare, none."""
    server, client = socket.socketpair()
    client.sendall(body + after)
    client.close()
    stream = server.makefile("rb")
    server.close()
    return stream


#: (input, whether reads are held to the body): waitress's ends the input itself.
HELD = [pytest.param(_bytes_input, False, id="bytesio"),
        pytest.param(_bytes_input, True, id="bytesio-held"),
        pytest.param(_file_input, False, id="tempfile"),
        pytest.param(_socket_input, True, id="socket")]


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the exception is the outcome
        return type(error).__name__


@pytest.mark.parametrize(("make", "clamp"), HELD)
@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.read(size=3), id="read-size"),
    pytest.param(lambda s: s.readline(size=3), id="readline-size"),
    pytest.param(lambda s: s.readlines(hint=3), id="readlines-hint"),
    pytest.param(lambda s: s.read(3, 4), id="read-two"),
    *(pytest.param(lambda s, h=hint: s.readlines(h), id=f"readlines-{hint}")
      for hint in (-1, 0, 2, 3, 4, 7, 8, 100)),
    pytest.param(lambda s: [s.readlines(4), s.readlines(1)], id="readlines-twice"),
    pytest.param(lambda s: (next(iter(s)), list(s)), id="iterate"),
])
def test_calls_are_taken_as_the_servers_input_takes_them(
        make: Callable[..., Any], clamp: bool, call: Callable[[Any], Any]) -> None:
    """io's readlines(hint) reads past the hint, BytesIO's up to it; none takes keywords."""
    bare = _socket_input(LINES, b"") if make is _socket_input else make(LINES)
    tee = _tee(make(LINES), len(LINES), clamp=clamp)
    assert _outcome(lambda: call(tee)) == _outcome(lambda: call(bare))
    read = tee.record.content()
    tee.record_rest({}, 0.0)
    assert tee.record.content() == LINES and LINES.startswith(read)


def test_gunicorns_readlines_reads_every_line_and_takes_its_keywords() -> None:
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import IterUnreader

    def body() -> Any:
        return Body(LengthReader(IterUnreader([LINES]), len(LINES)))

    tee = _tee(body(), len(LINES), clamp=False)
    assert tee.read(size=3) == body().read(size=3) == b"ab\n"
    assert tee.readline(size=2) == b"cd"
    assert tee.readlines(1) == [b"ef\n", b"ghi\n", *[b"jk\n"] * 4]
    assert _outcome(lambda: tee.readlines(hint=1)) == "TypeError"
    assert not hasattr(tee, "__enter__") and not hasattr(tee, "close")
    assert tee.record.content() == LINES and tee.record.eof


@pytest.mark.parametrize(("make", "clamp"), HELD)
@pytest.mark.parametrize("how", ["close", "with"])
def test_closing_the_input_first_records_the_unread_body(
        make: Callable[[bytes], Any], clamp: bool, how: str) -> None:
    """The rest can no longer be read once the input is closed: it was recorded before."""
    bare = make(LINES)
    tee = _tee(make(LINES), len(LINES), clamp=clamp)
    tee.environ_of = dict  # the request's environ (the middleware's is weak)
    if how == "with":
        with tee as entered:
            assert entered is tee
            head = tee.read(3)
    else:
        head = tee.read(3)
        assert tee.close() is None
    assert head == bare.read(3)
    bare.close()
    assert tee.closed and _outcome(lambda: tee.read(1)) == _outcome(lambda: bare.read(1))
    assert tee.record.content() == LINES and tee.record.eof
    assert not tee.record.incomplete
