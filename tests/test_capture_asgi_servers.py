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


class Responder:
    """As Starlette's GZipMiddleware's responder: it hands on a method of its own, and
    keeps the ``send`` it was given (and here the ``receive``) as attributes."""

    def __init__(self, send: Any, receive: Any = None) -> None:
        self.app = lambda scope, receive, send: None
        self.receive = receive
        self.send = send

    async def send_with_compression(self, message: Any) -> None:
        await self.send(message)


class ExplodingResponder(Exploding):
    """A middleware object whose class code must not run when its method is walked."""

    async def send_on(self, message: Any) -> None:
        pass


class SlottedResponder:
    __slots__ = ("send",)

    def __init__(self, send: Any) -> None:
        self.send = send

    async def send_on(self, message: Any) -> None:
        await self.send(message)


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
    pytest.param(Responder(SERVER_SEND).send_with_compression, True, id="method-of-object"),
    pytest.param(Responder(closure_around(SERVER_SEND)).send_with_compression, True,
                 id="method-of-object-closure"),
    pytest.param(partial(Responder(SERVER_SEND).send_with_compression), True,
                 id="partial-of-method-of-object"),
    pytest.param(Responder(Exploding()).send_with_compression, False,
                 id="method-of-object-other-callable"),
    pytest.param(ExplodingResponder().send_on, False, id="method-of-object-class-code-not-run"),
    pytest.param(SlottedResponder(SERVER_SEND).send_on, False, id="method-of-slotted-object"),
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


class Cycle(Other):
    """uvicorn's request cycle, whose ``receive`` and ``send`` are methods of one object."""

    async def receive(self) -> Any:
        return {"type": "http.disconnect"}


Cycle.__module__ = Other.__module__


def test_own_send_skips_the_servers_receive_kept_beside_its_send() -> None:
    """A middleware object that keeps the server's ``receive`` (a bound method of the
    same request cycle, before its ``send`` in the object's dict): the send is found."""
    cycle = Cycle()
    assert own_send(Responder(cycle.app_send, cycle.receive).send_with_compression) == (
        cycle.app_send)


def test_own_send_follows_the_attribute_learned_for_a_class_only_to_a_server() -> None:
    """Each request's responder (GZipMiddleware makes one per request) leads to that
    request's server ``send``; one of the same class holding something else gives the
    method back."""
    for _ in range(3):
        send = uvicorn_send()
        assert own_send(Responder(send).send_with_compression) is send
        assert own_send(Responder(closure_around(send)).send_with_compression) is send
    for other in (Exploding(), closure_around(Exploding()), None):
        method = Responder(other).send_with_compression
        assert own_send(method) == method


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
