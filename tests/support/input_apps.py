"""An app that reads ``wsgi.input`` through what the server's input offers beyond PEP
3333's four methods, bare and wrapped side by side, for tests/test_wsgi_input_methods.py.

``input_root`` serves :func:`input_app` under ``/bare/...`` as it is and under
``/wrap/...`` inside the middleware (configured from the ``README_*`` environment, every
call logged); the prefix moves to SCRIPT_NAME, so the app sees the same path either way.
The answer (200, text) tells what each step gave: a value, or the name of the exception it
raised, so a server whose input lacks a method answers the same, bare or wrapped, and the
test compares the two answers byte for byte. Every mode reads the body to its declared
length at most: a read past it would wait for the client on a socket.

- ``/attrs``: which of :data:`NAMES` the input has, ``readable()`` and ``seekable()``.
- ``/readinto``, ``/readinto1``: the body read with them into a 7-byte buffer.
- ``/read1``: the body read with ``read1(5)``.
- ``/limited``: werkzeug's LimitedStream over the input (Flask's request stream), which
  reads with ``readinto`` where the input has it.
- ``/peek``: ``peek(1)`` is not empty and starts the body; then the body.
- ``/seek``: ``tell``, ``seek`` back and forward (to the start, into the body, to the
  end, relative), reading in between.
- ``/skip``: ``seek(10)`` past bytes never read, then the rest.
- ``/text``: the first line through ``io.TextIOWrapper`` (detached after, so the input
  is not closed); the rest left unread.
- ``/next``: the first line by ``next()`` (gunicorn's Python 2 name), or ``__next__``.
- ``/keywords``: ``read(size=5)``, ``readline(size=30)``, ``readlines(hint=1)`` (io's
  objects and uWSGI's take none of these keywords, gunicorn's the first two, granian's
  the first), then the rest.
- ``/lines``: ``readlines(11)``, the first line being 11 bytes long (io stops past the
  hint, BytesIO at it, gunicorn, granian and uWSGI read every line), then the rest.
- ``/with``: ``with`` the input (io's objects: closed after), five bytes read inside it;
  then a read of the rest (on a closed input: ValueError). The log has the whole body.
- ``/close``: ``close()`` first (uWSGI's does nothing), then a read of the body.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Callable

from tests.support.side_by_side import built_once, wsgi_bare_or_wrapped

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: Attributes a server's wsgi.input may have beyond PEP 3333's four methods.
NAMES = ("readinto", "readinto1", "read1", "readall", "peek", "seek", "tell", "seekable",
         "readable", "writable", "fileno", "closed", "isatty", "getvalue", "getbuffer",
         "next", "__next__", "close", "flush", "raw", "name", "mode", "detach", "truncate",
         "readlines", "__iter__", "__enter__", "__exit__")


def _step(call: Callable[[], Any]) -> str:
    """What ``call()`` gives (bytes as they are), or the name of what it raised."""
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the exception is the answer
        return type(error).__name__
    return repr(bytes(value) if isinstance(value, (bytes, bytearray)) else value)


def _into(stream: Any, method: str, length: int) -> bytes:
    got = b""
    while len(got) < length:
        buffer = bytearray(min(7, length - len(got)))  # a read past the body would wait
        n = getattr(stream, method)(buffer)
        if not n:
            break
        got += bytes(buffer[:n])
    return got


def _read1(stream: Any, length: int) -> bytes:
    got = b""
    while len(got) < length:
        data = stream.read1(min(5, length - len(got)))
        if not data:
            break
        got += data
    return got


def _limited(stream: Any, length: int) -> bytes:
    from werkzeug.wsgi import LimitedStream

    return LimitedStream(stream, length).read()


def _peek(stream: Any, length: int) -> str:
    head = stream.peek(1)
    return f"{bool(head)} {head[:1]!r} {stream.read(length)!r}"


def _seek(stream: Any, length: int) -> list[str]:
    """Reads between seeks, each only where the seek before it went through (on a
    socket a read past the body would wait for the client)."""
    steps: list[str] = []

    def seek(*args: int) -> bool:
        steps.append(_step(lambda: stream.seek(*args)))
        return steps[-1][:1].isdigit()

    def read(size: int) -> None:
        steps.append(_step(lambda: stream.read(size)))

    steps.append(_step(lambda: stream.tell()))
    read(5)
    steps.append(_step(lambda: stream.tell()))
    read(length if seek(0) else length - 5)
    if seek(3):
        read(4)
        steps.append(_step(lambda: stream.tell()))
    if seek(-2, 1):
        read(3)
    if seek(0, 2):
        steps.append(_step(lambda: stream.tell()))
        read(1)
    if seek(1):
        read(2)
    return steps


def _text(stream: Any) -> str:
    wrapper = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        return wrapper.readline()
    finally:
        wrapper.detach()


def _next(stream: Any) -> Any:
    return stream.next() if hasattr(stream, "next") else next(stream)


def _keywords(stream: Any, length: int) -> list[str]:
    """Each keyword call, then the rest: read by position for what the calls left."""
    steps: list[str] = []
    got = 0
    for call in (lambda: stream.read(size=5), lambda: stream.readline(size=30),
                 lambda: stream.readlines(hint=1)):
        try:
            value = call()
        except TypeError as error:
            steps.append(type(error).__name__)
            continue
        got += len(b"".join(value) if isinstance(value, list) else value)
        steps.append(repr(value))
    steps.append(_step(lambda: stream.read(length - got)))
    return steps


def _lines(stream: Any, length: int) -> list[str]:
    lines = stream.readlines(11)
    return [repr(lines), _step(lambda: stream.read(length - sum(map(len, lines))))]


def _with(stream: Any, length: int) -> list[str]:
    def inside() -> str:
        with stream as entered:
            head = entered.read(5)
        return f"{head!r} {entered is stream}"

    steps = [_step(inside)]
    steps += [_step(lambda: stream.closed),
              _step(lambda: stream.read(length - (5 if steps[0][:1] == "b" else 0)))]
    return steps


def input_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    mode = environ.get("PATH_INFO", "").strip("/")
    steps: list[str]
    if mode == "attrs":
        steps = [" ".join(name for name in NAMES if hasattr(stream, name)),
                 _step(lambda: stream.readable()), _step(lambda: stream.seekable()),
                 _step(lambda: stream.read(length))]
    elif mode in ("readinto", "readinto1"):
        steps = [_step(lambda: _into(stream, mode, length))]
    elif mode == "read1":
        steps = [_step(lambda: _read1(stream, length))]
    elif mode == "limited":
        steps = [_step(lambda: _limited(stream, length))]
    elif mode == "peek":
        steps = [_step(lambda: _peek(stream, length))]
    elif mode == "seek":
        steps = _seek(stream, length)
    elif mode == "skip":
        skipped = _step(lambda: stream.seek(10))
        steps = [skipped, _step(lambda: stream.read(length - (10 if skipped == "10" else 0))),
                 _step(lambda: stream.tell())]
    elif mode == "text":
        steps = [_step(lambda: _text(stream))]
    elif mode == "next":
        steps = [_step(lambda: _next(stream))]
    elif mode == "keywords":
        steps = _keywords(stream, length)
    elif mode == "lines":
        steps = _lines(stream, length)
    elif mode == "with":
        steps = _with(stream, length)
    elif mode == "close":
        steps = [_step(lambda: stream.close()), _step(lambda: stream.read(length))]
    else:
        steps = ["unknown mode"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["\n".join(steps).encode("utf-8", "backslashreplace")]


def grouping(request: Any) -> dict[str, str]:
    return {"api_key": "input-caller-key", "label": "input"}


def _build_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    return MetricsMiddleware(input_app, MetricsApiConfig(grouping_function=grouping))


_wrapped = built_once(_build_wrapped)


def input_root(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
    return wsgi_bare_or_wrapped(environ, start_response, input_app, _wrapped)


if __name__ == "__main__":
    import sys

    from tests.support import input_apps  # under its real name, not as __main__

    port = int(sys.argv[2])
    if sys.argv[1] == "wsgiref":
        from wsgiref.simple_server import make_server

        make_server("127.0.0.1", port, input_apps.input_root).serve_forever()
    else:  # werkzeug's development server, threaded as ``flask run`` starts it
        from werkzeug.serving import run_simple

        run_simple("127.0.0.1", port, input_apps.input_root, threaded=True)
