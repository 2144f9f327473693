"""WSGI runners: a real threaded server, and direct calls made as a strict server would."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional
from wsgiref.util import setup_testing_defaults

from tests.support.polling import SERVE_POLL


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
        self._thread = threading.Thread(target=self.server.serve_forever, args=(SERVE_POLL,),
                                        daemon=True)

    def __enter__(self) -> ThreadedWSGIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()





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


def given_back(app: Any, environ: dict[str, Any]) -> tuple[Any, bytes]:
    """What ``app`` gave back (its iterable itself, closed), and the bytes it held: a
    call with a ``start_response`` that takes anything."""
    result = app(environ, lambda status, headers, exc_info=None: None)
    try:
        return result, b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
