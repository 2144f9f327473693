"""WSGI apps for tests/test_capture13_left.py: clients that leave, under real servers.

``wsgi_root`` serves ``app`` twice in one server process, under ``/bare/...`` as it is
and under ``/wrap/...`` inside the middleware (configured from the ``README_*``
environment), as tests/support/hostile_apps.py does. ``python -m
tests.support.capture13_apps PORT werkzeug|wsgiref|gevent`` serves it with that server.

- ``/one?size=N&started=PATH1&barrier=PATH2&length=1&watch=1``: makes the file ``PATH1``
  (the app runs), waits until the file ``PATH2`` exists (the test made it once its
  client was gone) and, with ``watch``, until waitress saw it gone; then answers ``N``
  bytes ``x`` as a one-item list (with their Content-Length when ``length`` is given).
- ``/two?size=N&barrier=PATH&watch=1``: a two-chunk stream with its Content-Length:
  ``first``, then (once the file ``PATH`` exists, and with ``watch`` once waitress saw
  the client gone) ``N`` bytes ``x``; ``/write?...``: the same through ``write()``.
- ``/upload``: see :func:`upload`.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator
from urllib.parse import parse_qs

from tests.support.side_by_side import built_once, wsgi_bare_or_wrapped

#: How long the app waits for its barrier at most (the test's bound, not a timing).
BARRIER_WAIT = 30.0


def wait_for(path: str) -> None:
    """Poll for the file ``path`` (the test's signal from another process)."""
    deadline = time.monotonic() + BARRIER_WAIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def _watch(environ: dict[str, Any], args: dict[str, list[str]]) -> None:
    """With ``watch``: waitress (reading on: --channel-request-lookahead) says when it saw
    the client leave: its write then raises ClientDisconnected, whatever the load."""
    gone = environ.get("waitress.client_disconnected") if "watch" in args else None
    deadline = time.monotonic() + BARRIER_WAIT
    while gone is not None and not gone() and time.monotonic() < deadline:
        time.sleep(0.01)


def two(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    args = parse_qs(environ.get("QUERY_STRING", ""))
    size = int(args.get("size", ["1"])[0])
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(b"first") + size))])
    yield b"first"  # (the server wrote it when it asks for the next chunk)
    wait_for(args["barrier"][0])
    _watch(environ, args)
    yield b"x" * size


def written(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/write``: ``/two``'s answer through the ``write`` callable (its raise let through)."""
    args = parse_qs(environ.get("QUERY_STRING", ""))
    size = int(args.get("size", ["1"])[0])
    write = start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(b"first") + size))])
    write(b"first")
    wait_for(args["barrier"][0])
    _watch(environ, args)
    write(b"x" * size)
    return []


def one(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    args = parse_qs(environ.get("QUERY_STRING", ""))
    size = int(args.get("size", ["1"])[0])
    if "started" in args:
        with open(args["started"][0], "w"):
            pass
    if "barrier" in args:
        wait_for(args["barrier"][0])
    _watch(environ, args)
    headers = [("Content-Type", "text/plain")]
    if "length" in args:
        headers.append(("Content-Length", str(size)))
    start_response("200 OK", headers)
    return [b"x" * size]


def upload(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/upload?report=PATH&started=PATH2``: makes the file ``PATH2``, reads the body as
    far as its Content-Length says, and writes to the file ``PATH`` what the read gave
    (its length) or raised (the type)."""
    args = parse_qs(environ.get("QUERY_STRING", ""))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if "started" in args:
        with open(args["started"][0], "w"):
            pass
    try:
        got = f"read {len(environ['wsgi.input'].read(length))}"
    except BaseException as error:  # noqa: BLE001 - reported, then raised on
        got = f"raised {type(error).__name__}"
        with open(args["report"][0] + ".tmp", "w") as report:
            report.write(got)
        os.replace(args["report"][0] + ".tmp", args["report"][0])
        raise
    with open(args["report"][0] + ".tmp", "w") as report:
        report.write(got)
    os.replace(args["report"][0] + ".tmp", args["report"][0])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [got.encode()]


def app(environ: dict[str, Any], start_response: Any) -> Any:
    if environ.get("PATH_INFO") == "/upload":
        return upload(environ, start_response)
    if environ.get("PATH_INFO") == "/two":
        return two(environ, start_response)
    if environ.get("PATH_INFO") == "/write":
        return written(environ, start_response)
    return one(environ, start_response)


def grouping(request: Any) -> dict[str, str]:
    return {"api_key": "capture13-key", "label": "capture13"}


def _build() -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=grouping))


_wrapped = built_once(_build)


def wsgi_root(environ: dict[str, Any], start_response: Any) -> Any:
    return wsgi_bare_or_wrapped(environ, start_response, app, _wrapped)


if __name__ == "__main__":
    import sys

    from tests.support import capture13_apps  # under its real name, not as __main__

    if sys.argv[2:] == ["gevent"]:  # gevent's pywsgi, on its own (not under gunicorn)
        from gevent import monkey

        monkey.patch_all()
        from gevent.pywsgi import WSGIServer

        WSGIServer(("127.0.0.1", int(sys.argv[1])), capture13_apps.wsgi_root,
                   log=None).serve_forever()
    elif sys.argv[2:] == ["wsgiref"]:
        from wsgiref.simple_server import make_server

        make_server("127.0.0.1", int(sys.argv[1]), capture13_apps.wsgi_root).serve_forever()
    else:  # werkzeug's development server, threaded as ``flask run`` starts it
        from werkzeug.serving import run_simple

        run_simple("127.0.0.1", int(sys.argv[1]), capture13_apps.wsgi_root, threaded=True)
