"""readme_metrics.capture.asgi_servers: reading a server's own objects behind ``send``.

The end-to-end cases are in tests/test_asgi_left.py, tests/test_asgi_client_got.py and
tests/test_asgi_conformance.py (hypercorn's 400 behind Starlette, a client gone under
hypercorn); here the walk itself, on shapes a middleware wraps ``send`` in.
"""

from __future__ import annotations

import types
from functools import partial
from typing import Any, Callable

import pytest

from readme_metrics.capture.asgi_servers import hypercorn_dead, own_send, server_send


class Stream:
    """Stands for a server's stream: its module is made to look like the server's."""

    closed = False

    async def app_send(self, message: Any) -> None:
        pass


Stream.__module__ = "hypercorn.protocol.http_stream"
SERVER_SEND = Stream().app_send


class Other(Stream):
    """A stream of another server (uvicorn's, say): not the one looked for."""


Other.__module__ = "uvicorn.protocols.http.h11_impl"


def closure_around(send: Any) -> Callable[..., Any]:
    started = False

    async def _send(message: Any) -> None:  # as Starlette's ServerErrorMiddleware
        nonlocal started
        started = True
        await send(message)

    return _send


class Exploding:
    """An object a walk must never read an attribute of."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"read {name}")

    def __call__(self, message: Any) -> None:
        pass


def deep(levels: int) -> Any:
    send: Any = SERVER_SEND
    for _ in range(levels):
        send = closure_around(send)
    return send


@pytest.mark.parametrize(("send", "found"), [
    pytest.param(SERVER_SEND, True, id="the-server-send"),
    pytest.param(closure_around(SERVER_SEND), True, id="starlette-closure"),
    pytest.param(deep(3), True, id="three-closures"),
    pytest.param(partial(closure_around(SERVER_SEND)), True, id="partial-of-closure"),
    pytest.param(deep(4), False, id="too-deep"),
    pytest.param(closure_around(Exploding()), False, id="other-callable-not-read"),
    pytest.param(Exploding(), False, id="callable-object"),
    pytest.param(closure_around(Other().app_send), False, id="other-bound-method"),
    pytest.param(lambda message: None, False, id="no-closure"),
])
def test_server_send_is_found_under_wrappers(send: Any, found: bool) -> None:
    assert (server_send(send, "hypercorn.") is SERVER_SEND) is found


def test_an_empty_cell_is_skipped() -> None:
    def outer(bind: bool) -> Any:
        async def _send(message: Any) -> None:
            await later(message)

        if bind:
            later = SERVER_SEND
        return _send

    empty = outer(False)
    with pytest.raises(ValueError):  # the cell is there, and empty
        assert empty.__closure__[0].cell_contents is None
    assert server_send(empty, "hypercorn.") is None
    assert server_send(outer(True), "hypercorn.") is SERVER_SEND


class Protocol:
    """Stands for daphne's request protocol, which its ``send`` partial carries."""


Protocol.__module__ = "daphne.http_protocol"


class Server:
    async def handle_reply(self, protocol: Any, message: Any) -> None:
        pass


def uvicorn_send() -> Any:
    """A new uvicorn-like ``send`` (a request cycle's bound method), as per request."""
    return Other().app_send


def daphne_send() -> Any:
    return partial(Server().handle_reply, Protocol())


@pytest.mark.parametrize("make", [uvicorn_send, daphne_send], ids=["uvicorn", "daphne"])
def test_own_send_is_the_server_send_under_each_exchange_closure(make: Any) -> None:
    """Each exchange's closure (Starlette's ServerErrorMiddleware makes one per request)
    leads to that exchange's server ``send``: the way learned from the first is followed
    by the next ones, never answered with an earlier exchange's send. A server's own
    ``send`` is returned as is."""
    for _ in range(3):
        send = make()
        assert own_send(send) is send
        assert own_send(closure_around(send)) is send
        assert own_send(closure_around(closure_around(send))) is send  # a mounted app


def test_own_send_where_no_server_is_behind() -> None:
    """The same closure around something else (learned before to lead to a server):
    the ``send`` given comes back, and no other object's attribute is read."""
    server = uvicorn_send()
    assert own_send(closure_around(server)) is server  # the way is learned
    for send in (closure_around(Exploding()), closure_around(closure_around(Exploding())),
                 closure_around(lambda message: None), deep(4)):
        assert own_send(send) is send
    plain = lambda message: None  # noqa: E731 - no closure at all
    assert own_send(plain) is plain


def test_own_send_walks_when_the_learned_cell_is_empty() -> None:
    def outer(bind: bool) -> Any:
        async def _send(message: Any) -> None:
            await later(message)
            await server(message)

        server = uvicorn_send()
        if bind:
            later = uvicorn_send()
        return _send

    bound = outer(True)
    assert own_send(bound) is bound.__closure__[0].cell_contents  # "later": learned
    empty = outer(False)  # the cell learned is empty now
    assert own_send(empty) is empty.__closure__[1].cell_contents  # "server"



@pytest.mark.parametrize("stream", [
    pytest.param(types.SimpleNamespace(closed=False), id="open"),
    pytest.param(types.SimpleNamespace(closed=True), id="closed-no-protocol"),
    pytest.param(types.SimpleNamespace(closed=True, send=Exploding()), id="odd-send"),
    pytest.param(Exploding(), id="odd-stream"),
])
def test_hypercorn_dead_never_raises(stream: Any) -> None:
    try:
        assert hypercorn_dead(stream) is False
    except AssertionError as error:  # Exploding's own: a look it must survive
        assert "read" in str(error)
        pytest.fail("an attribute of an unknown object was read unguarded")
