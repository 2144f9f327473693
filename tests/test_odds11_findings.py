"""odds11's items (NOTE21's leftovers): each test failed on main at 56b32bc and passes
with its fix, under real parts (real servers over a socket, the collector as the
Metrics API and as a proxy)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics.cors import CORSMiddleware
from readme_metrics.request_id import RequestIdMiddleware
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served

# -- 1. the companion middlewares keep the container of the app's headers ---------------


class _HeaderList(list):  # type: ignore[type-arg]
    """A list of headers that is not exactly a list (wsgiref refuses it, as a tuple)."""


HEADER_SHAPES: dict[str, Callable[[list[tuple[str, str]]], Any]] = {
    "tuple": tuple,
    "list-subclass": _HeaderList,
    "generator": lambda pairs: (pair for pair in pairs),
    "dict-items": lambda pairs: dict(pairs).items(),
}
COMPANIONS: dict[str, Callable[[Any], Any]] = {
    "cors": lambda app: CORSMiddleware(app, allowed_origins=["https://app.example"]),
    "request-id": RequestIdMiddleware,
}
GET = b"GET /h HTTP/1.0\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n"


def _shaped(shape: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", HEADER_SHAPES[shape](
            [("Content-Type", "text/plain"), ("X-App", "1")]))
        return [b"ok"]
    return app


def _lines(answer: bytes) -> list[bytes]:
    return [line for line in answer.split(b"\r\n") if not line.startswith(b"Date: ")]


@pytest.mark.parametrize("companion", list(COMPANIONS))
@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_headers_wsgiref_refuses_are_refused_under_the_companions_too(
        companion: str, shape: str) -> None:
    """wsgiref (``python app.py``, Django's runserver) answers 500 to headers that are
    not exactly a list. CORSMiddleware and RequestIdMiddleware handed the server a new
    list, so the same app answered 200 wrapped: the server gets the app's kind of
    container now (a tuple, a list of another class, an iterator) and refuses it as
    bare."""
    with served("wsgiref", _shaped(shape)) as port:
        bare = _lines(answer_to(port, GET))
    with served("wsgiref", COMPANIONS[companion](_shaped(shape))) as port:
        wrapped = _lines(answer_to(port, GET))
    assert bare[0] == b"HTTP/1.0 500 Internal Server Error"
    assert wrapped == bare


@pytest.mark.parametrize("companion", list(COMPANIONS))
@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_servers_that_take_any_headers_get_the_apps_and_the_companions(
        companion: str, shape: str) -> None:
    """werkzeug iterates whatever it is given: the app's headers and the companion's
    reach the client (CORS read a generator twice and sent none of the app's)."""
    with served("werkzeug", COMPANIONS[companion](_shaped(shape))) as port:
        answer = answer_to(port, GET)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/plain\r\n" in answer
    assert b"\r\nX-App: 1\r\n" in answer
    added = b"Access-Control-Allow-Origin: " if companion == "cors" else b"X-Request-Id: "
    assert b"\r\n" + added in answer
