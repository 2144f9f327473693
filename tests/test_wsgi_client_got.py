"""The log says what the client got (SPEC 5), under real servers: waitress, wsgiref's and
werkzeug's, each in this process on 127.0.0.1, a raw socket as the client.

- A status whose code is below 100 (``"099 Weird"``): waitress and wsgiref send 099 as
  given (gunicorn too: its pattern is ``[0-9]{3}``), werkzeug sends 99. HAR's status is a
  number and the Metrics API takes 100 to 999 only: logged as 500, with a comment saying
  so truly.
- An app that sets ``X-Documentation-Url`` itself keeps it: the library adds none, so
  the client never gets two.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import pytest

from tests.support.capture_wrap import only_log, wrap_fixture, wrapping  # noqa: F401 - the fixture
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served

SERVERS = ["waitress", "wsgiref", "werkzeug"]
DOCS = "https://docs.example.test"
SAFETY = 20.0  # seconds: only reached when a server never answers nor closes


def answer(port: int, path: str = "/") -> tuple[bytes, list[bytes]]:
    """The status line and header lines the client got for ``GET path``."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode())
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
    head = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    return head[0], head[1:]


def _app(status: str, headers: Callable[[], Any]) -> Any:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(status, headers())
        return [b"body"]
    return app


def _response(collector: Collector) -> dict[str, Any]:
    response: dict[str, Any] = only_log(collector)["request"]["log"]["entries"][0]["response"]
    return response


@pytest.mark.parametrize("server", SERVERS)
def test_a_status_below_100_is_logged_as_500_saying_why(wrap: Any, collector: Collector,
                                                        server: str) -> None:
    app = wrap(_app("099 Weird", lambda: [("Content-Type", "text/plain")]))
    with served(server, app) as port:
        status_line, _ = answer(port)
    assert status_line.split(b" ", 1)[1] == (b"99 Weird" if server == "werkzeug"
                                             else b"099 Weird")
    response = _response(collector)
    assert (response["status"], response["statusText"]) == (500, "Internal Server Error")
    assert response["comment"] == (
        "the app's status '099 Weird' has no HTTP status code from 100 to 999 (3 digits, "
        "the first not 0; HAR's status is that number): logged as 500")


APP_DOCS = ("X-Documentation-Url", "https://app.example.test/docs/pets")


@pytest.mark.parametrize("shape", ["list", "generator"])
@pytest.mark.parametrize("server", SERVERS)
def test_the_apps_own_documentation_url_is_kept_and_none_added(
        wrap: Any, collector: Collector, server: str, shape: str) -> None:
    def headers() -> Any:
        pairs = [("Content-Type", "text/plain"), APP_DOCS]
        return pairs if shape == "list" else (pair for pair in pairs)

    def docs_headers(app: Any) -> list[bytes]:
        with served(server, app) as port:
            _, lines = answer(port)
        return [line for line in lines if line.lower().startswith(b"x-documentation-url:")]

    bare = docs_headers(_app("200 OK", headers))
    # Headers as a generator are the server's to take (werkzeug) or not (wsgiref); waitress
    # reads them twice and sends what the second read finds: none. Wrapped, the same.
    if shape == "list":
        assert bare == [f"{APP_DOCS[0]}: {APP_DOCS[1]}".encode()]
    assert docs_headers(wrap(_app("200 OK", headers), base_log_url=DOCS)) == bare
    if shape == "list":
        logged = [h for h in _response(collector)["headers"]
                  if h["name"].lower() == "x-documentation-url"]
        assert logged == [{"name": APP_DOCS[0], "value": APP_DOCS[1]}]


@pytest.mark.parametrize("server", SERVERS)
def test_the_documentation_url_is_added_when_the_app_sets_none(
        wrap: Any, collector: Collector, server: str) -> None:
    app = wrap(_app("200 OK", lambda: [("Content-Type", "text/plain")]), base_log_url=DOCS)
    with served(server, app) as port:
        _, lines = answer(port)
    log = only_log(collector)
    sent = [line for line in lines if line.lower().startswith(b"x-documentation-url:")]
    assert [line.split(b": ", 1)[1] for line in sent] == [f"{DOCS}/logs/{log['_id']}".encode()]


def _refused_app(kind: str, shape: str) -> Any:
    """An answer a server may refuse once the app handed it over: a header value not
    latin-1 (``euro``; with an empty body, ``euro-empty``) or a str chunk (``str``),
    returned as a list, from a generator or given to write()."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        headers = [("Content-Type", "text/plain")]
        if kind.startswith("euro"):
            headers.append(("X-Euro", "\u20ac"))
        chunk: Any = {"str": "text", "euro-empty": b""}.get(kind, b"text")
        write = start_response("200 OK", headers)
        if shape == "write":
            write(chunk)
            return []
        if shape == "list":
            return [chunk]
        return (part for part in [chunk])
    return app


# (server, kind) -> the status line the client gets: waitress refuses a header it cannot
# encode before it sends a byte (its 500); wsgiref asserts each chunk is bytes before it
# sends anything (its 500), and sends the status line before the headers it cannot encode.
# gunicorn and werkzeug send the status and headers before checking the chunk (werkzeug
# sends nothing at all for the euro header: no status to compare, left out).
REFUSED = {
    ("waitress", "euro"): b"500 Internal Server Error",
    # with nothing to send, waitress builds the head only after close(): its 500 too
    ("waitress", "euro-empty"): b"500 Internal Server Error",
    ("waitress", "str"): b"200 OK",
    ("wsgiref", "euro"): b"200 OK",
    ("wsgiref", "str"): b"500 Internal Server Error",
    ("werkzeug", "str"): b"200 OK",
}


@pytest.mark.parametrize("shape", ["list", "generator", "write"])
@pytest.mark.parametrize(("server", "kind"), list(REFUSED))
def test_an_answer_the_server_refuses_is_logged_as_what_the_client_got(
        wrap: Any, collector: Collector, server: str, kind: str, shape: str) -> None:
    with served(server, _refused_app(kind, shape)) as port:
        bare, _ = answer(port)
    with served(server, wrap(_refused_app(kind, shape))) as port:
        wrapped, _ = answer(port)
    assert bare.split(b" ", 1)[1] == wrapped.split(b" ", 1)[1] == REFUSED[server, kind]
    response = _response(collector)
    code, _, reason = REFUSED[server, kind].decode().partition(" ")
    assert (response["status"], response["statusText"]) == (int(code), reason)
    if code == "500":  # the server's own answer: none of the app's headers or body
        assert response["headers"] == []
        assert (response["content"]["size"], response["bodySize"]) == (0, 0)


@pytest.mark.parametrize("shape", ["list", "generator", "write"])
def test_headers_waitress_refuses_after_an_empty_body_are_its_500_in_background_mode(
        collector: Collector, shape: str) -> None:
    """Background mode queues the log when the iterable ends, before the ``close()`` after
    which waitress builds the head and refuses it: its 500 is what the log says there too
    (it said the app's 200)."""
    with wrapping(collector, background_worker_mode=True) as make:
        with served("waitress", make(_refused_app("euro-empty", shape))) as port:
            wrapped, _ = answer(port)
        response = _response(collector)
    assert wrapped.split(b" ", 1)[1] == b"500 Internal Server Error"
    assert (response["status"], response["statusText"]) == (500, "Internal Server Error")
    assert response["headers"] == []
    assert (response["content"]["size"], response["bodySize"]) == (0, 0)
    assert response["comment"].startswith("the server answered 500 itself")
