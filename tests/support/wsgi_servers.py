"""WSGI servers run in this process, in a thread, on a free port of 127.0.0.1.

wsgiref's (one request at a time, as ``manage.py runserver`` is built on it), werkzeug's
(``flask run``, threaded) and waitress: real servers with their own framing, for tests
that speak to them over a socket.

.. code-block:: python

    with served("wsgiref", app) as port:
        socket.create_connection(("127.0.0.1", port))
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

from tests.support.polling import SERVE_POLL


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


@contextmanager
def waitress_served(app: Any, threads: int, **adjustments: Any) -> Iterator[int]:
    """``app`` served by waitress (with ``adjustments``, as ``url_prefix``) on a free port
    of 127.0.0.1 until the block ends; the port. Its loop runs in a thread of its own
    that also closes the server: closed from the test's thread, the socket went while
    that loop's select() waited on it, and the thread died on EBADF (pytest's
    unhandled-thread-exception warning in a full run)."""
    import waitress

    server: Any = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                                **adjustments)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                server.asyncore.loop(timeout=SERVE_POLL, map=server._map, count=1)
        finally:
            server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop.set()
        thread.join(10)


@contextmanager
def served(kind: str, app: Any) -> Iterator[int]:
    """``app`` served by ``kind`` ("wsgiref", "werkzeug" (threaded, as ``flask run``),
    "werkzeug-unthreaded" or "waitress") on a free port of 127.0.0.1 until the block
    ends; the port."""
    if kind == "waitress":
        with waitress_served(app, threads=2) as port:
            yield port
        return
    if kind == "wsgiref":
        from wsgiref.simple_server import make_server

        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    elif kind in ("werkzeug", "werkzeug-unthreaded"):
        from werkzeug.serving import make_server as werkzeug_server

        server = werkzeug_server("127.0.0.1", 0, app, threaded=kind == "werkzeug")
    else:
        raise ValueError(f"no such server: {kind!r}")
    thread = threading.Thread(target=server.serve_forever, args=(SERVE_POLL,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


#: The file and function of each server :func:`one_request` runs that writes a chunk of
#: the answer (for a trace function to stop at).
SERVER_WRITE = {"wsgiref": ("wsgiref/handlers.py", "write"),
                "werkzeug": ("werkzeug/serving.py", "write")}


@contextmanager
def one_request(server: str, app: Any) -> Iterator[tuple[int, Callable[[], None]]]:
    """wsgiref's server or werkzeug's (unthreaded, as ``app.run()``) for ``app``: its port,
    and the call that serves one request in this thread, which a KeyboardInterrupt
    stops (wsgiref takes it for the app's error and writes its traceback to stderr, kept
    out of the output; werkzeug lets it out of the server)."""
    made: Any
    if server == "wsgiref":
        from wsgiref.simple_server import make_server

        made = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    else:
        from werkzeug.serving import make_server as werkzeug_server

        made = werkzeug_server("127.0.0.1", 0, app, threaded=False)

    def serve() -> None:
        stderr = sys.stderr
        sys.stderr = io.StringIO()
        try:
            if server == "wsgiref":
                made.handle_request()
            else:
                try:
                    made.handle_request()
                except KeyboardInterrupt:
                    return
                raise AssertionError("werkzeug's server served on")
        finally:
            sys.stderr = stderr

    try:
        yield made.server_address[1], serve
    finally:
        made.server_close()
