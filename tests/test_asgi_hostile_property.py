"""Property: an ASGI app that misbehaves (raises anywhere, sends a second start, a body
before its start or after its end, returns without answering, reads past the end of the
body) sees exactly what it sees bare: the same messages received, the same sends accepted
or refused by the server, the same exception; and each call still gives one log, whose
status is the accepted start's (500 without one) and whose bodies are what went through.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from tests.support.asgi import DOCS, GROUP, Run, body_messages, http_scope
from tests.test_asgi_property import LIMIT, Recording, without_docs_header

actions = st.lists(st.one_of(
    st.just(("recv",)),
    st.just(("yield",)),
    st.just(("raise",)),
    st.just(("return",)),
    st.tuples(st.just("start"), st.sampled_from([200, 201, 204, 304, 404, 500])),
    st.tuples(st.just("body"), st.binary(max_size=90), st.booleans()),
), max_size=10)


class Refused(RuntimeError):
    """What the scripted server raises for a message the protocol does not allow."""


class Boom(ValueError):
    """What the scripted app raises."""


def scripted(plan: list[tuple[Any, ...]], got: list[dict[str, Any]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        for action in plan:
            kind = action[0]
            if kind == "recv":
                got.append(await receive())
            elif kind == "yield":
                await asyncio.sleep(0)
            elif kind == "raise":
                raise Boom("the app failed")
            elif kind == "return":
                return
            elif kind == "start":
                await send({"type": "http.response.start", "status": action[1],
                            "headers": [(b"content-type", b"text/plain")]})
            else:
                await send({"type": "http.response.body", "body": action[1],
                            "more_body": action[2]})

    return app


async def serve(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]],
                then: str, delivered: Optional[list[bytes]] = None) -> Run:
    """Run ``app`` as a strict server does: a send the protocol does not allow raises.
    ``delivered`` gets the body bytes that reach the client: those the server took
    before it handed out an ``http.disconnect`` (the client is gone; uvicorn takes what
    comes after and drops it)."""
    queue = list(messages)
    result = Run()
    state = {"started": False, "ended": False, "gone": False}

    async def receive() -> dict[str, Any]:
        if queue:
            message = queue.pop(0)
        elif then == "disconnect" or state["ended"]:
            message = {"type": "http.disconnect"}  # uvicorn's answer after the response
            state["gone"] = True
        else:
            await asyncio.Event().wait()  # a live connection with nothing more to say
        result.received.append(message)
        return message

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if state["ended"] or (kind == "http.response.start") == state["started"]:
            raise Refused(f"unexpected {kind}")
        result.sent.append(message)
        if kind == "http.response.start":
            state["started"] = True
        else:
            if delivered is not None and not state["gone"]:
                delivered.append(message.get("body", b""))
            if not message.get("more_body", False):
                state["ended"] = True

    try:
        await asyncio.wait_for(app(scope, receive, send), 10)
    except Exception as exc:  # the test compares it
        result.error = exc
    return result


def error_of(run: Run) -> Optional[tuple[type, str]]:
    return None if run.error is None else (type(run.error), str(run.error))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=actions, chunks=st.lists(st.binary(min_size=1, max_size=50), max_size=4),
       short=st.booleans(), disconnect=st.booleans())
def test_a_misbehaving_app_sees_what_it_sees_bare_and_is_logged_once(
    plan: list[tuple[Any, ...]], chunks: list[bytes], short: bool, disconnect: bool,
) -> None:
    body = b"".join(chunks)
    declared = len(body) + (7 if short else 0)  # short: the client never sends the rest
    messages = body_messages(*chunks)
    if short:
        messages[-1]["more_body"] = True
    # A bare app reading past the body would wait forever: that client goes away.
    reads = sum(action[0] == "recv" for action in plan)
    then = "disconnect" if disconnect or reads > len(messages) else "wait"
    scope = http_scope("POST", headers=[(b"content-length", str(declared).encode())])
    config = MetricsApiConfig(api_key="rdme_property", grouping_function=lambda r: GROUP,
                              base_log_url=DOCS, max_body_bytes=LIMIT,
                              metrics_api="http://127.0.0.1:9")
    bare_got: list[dict[str, Any]] = []
    wrapped_got: list[dict[str, Any]] = []
    wrapped = Recording(scripted(plan, wrapped_got), config)
    bare = asyncio.run(serve(scripted(plan, bare_got), dict(scope), messages, then))
    delivered: list[bytes] = []
    run = asyncio.run(serve(wrapped, dict(scope), [dict(m) for m in messages], then,
                            delivered))

    assert error_of(run) == error_of(bare)
    assert without_docs_header(run.sent) == bare.sent
    assert wrapped_got == bare_got

    (pending,) = wrapped.queued
    exchange = pending.to_exchange()
    starts = [m for m in bare.sent if m["type"] == "http.response.start"]
    status = starts[0]["status"] if starts else 500
    assert exchange.status == status
    sent = b"".join(delivered)
    if status in (204, 304):
        sent = b""  # the server drops it
    assert (exchange.response_body, exchange.response_body_size) == (sent[:LIMIT], len(sent))
    # bodySize is the bytes received (SPEC 4): a client that stopped short of its
    # declared length (an incomplete body, so said in the comment) sent len(body); one
    # whose rest was never read (the capture stops at max_body_bytes) has its declared.
    received = len(body) if short and exchange.request_body_incomplete else declared
    assert exchange.request_body_size == received
    assert body.startswith(exchange.request_body)
    given_to_app = b"".join(m.get("body", b"") for m in bare_got)
    assert exchange.request_body.startswith(given_to_app[:LIMIT])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(min_size=1, max_size=30), min_size=1, max_size=6),
       client_turns=st.lists(st.integers(0, 4), min_size=6, max_size=6),
       reader_turns=st.lists(st.integers(0, 4), min_size=7, max_size=7),
       start_after=st.integers(0, 12))
def test_a_body_read_in_a_task_of_its_own_arrives_whole_and_in_order(
    chunks: list[bytes], client_turns: list[int], reader_turns: list[int],
    start_after: int,
) -> None:
    """A proxy-like app: a task of its own reads the body as it arrives (pausing between
    chunks) while the app starts its response at any moment; the capture reads ahead
    meanwhile. The task gets the body whole and in order, there is never a second read
    beside it, and the log holds the body."""
    config = MetricsApiConfig(api_key="rdme_property", grouping_function=lambda r: GROUP,
                              base_log_url=DOCS, max_body_bytes=LIMIT,
                              metrics_api="http://127.0.0.1:9")
    body = b"".join(chunks)

    async def turns(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    async def case() -> tuple[bytes, int, Recording]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        waiting = overlaps = 0

        async def receive() -> dict[str, Any]:  # hypercorn's: a queue
            nonlocal waiting, overlaps
            overlaps += waiting > 0
            waiting += 1
            try:
                return await queue.get()
            finally:
                waiting -= 1

        async def send(message: dict[str, Any]) -> None:
            await asyncio.sleep(0)

        async def client() -> None:
            for i, chunk in enumerate(chunks):
                await turns(client_turns[i])
                await queue.put({"type": "http.request", "body": chunk,
                                 "more_body": i < len(chunks) - 1})

        got: list[bytes] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            async def read() -> None:
                for pause in reader_turns:
                    message = await receive()
                    got.append(message["body"])
                    if not message["more_body"]:
                        return
                    await turns(pause)

            reader = asyncio.ensure_future(read())
            await turns(start_after)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await reader
            await send({"type": "http.response.body", "body": b"".join(got)})

        wrapped = Recording(app, config)
        feeder = asyncio.ensure_future(client())
        scope = http_scope("POST", headers=[(b"content-length", b"%d" % len(body))])
        try:  # a reader robbed of a chunk would wait for it forever
            await asyncio.wait_for(wrapped(scope, receive, send), 10)
        except asyncio.TimeoutError:
            pass
        await feeder
        return b"".join(got), overlaps, wrapped

    got, overlaps, wrapped = asyncio.run(case())
    assert (got, overlaps) == (body, 0)
    (pending,) = wrapped.queued
    assert pending.to_exchange().request_body == body[:LIMIT]
