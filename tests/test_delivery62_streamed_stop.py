"""delivery62: what uvicorn's client got at a stop that cancelled Django's handler, in
three cases delivery60 left, each logged as the view's answer or the server's 500.

Django's ASGI handler (5.0+) sends the answer from its chain's task; uvicorn's graceful
timeout at a stop (``--timeout-graceful-shutdown``) cancels the handler, which leaves
that task running. uvicorn's send returns without a word once its connection is lost
(``disconnected``), and a streamed answer's end or the response's close() queued the
log before the verdict (``django_abandoned.await_verdict``) could say what went out.

1. A stream the stop cut: the handler cancelled mid-stream; uvicorn closes the
   connection once the handler's call ended, the rest goes nowhere. Logged whole, 200.
2. The client gone first: it closed its connection once the handler was cancelled,
   before the view returned; neither the view's answer nor uvicorn's 500 reached it.
   Logged 200 (the view's, streamed or not).
3. The verdict lost at the stop: the view returned, Django's send held until the
   handler ended, and the stop ended the loop before the handler did: the client got
   nothing. Logged as uvicorn's 500 (``unsent_at_exit``). hypercorn, for contrast,
   answers its 500 then, and the log says it.

delivery64: case 2 under hypercorn, which writes the view's answer into the connection
the client reset (logged 200 before, 2 of 2), and a client that only shut its side
(hypercorn's stream ``closed`` too), which reads the whole answer: logged 200; cases 1
and 3 with the sync chain too. hypercorn's cases take 6 to 8 s each on the loaded
machine (its worker's spawn, its 1 s graceful timeout, the join slowed 1 s).

delivery65: case 3 under hypercorn with the client gone once the handler was cancelled:
hypercorn's 500 went into a connection the client had ended (logged 500 before, 2 of 2).
The client's close is waited for as its own socket says the server acknowledged it,
and, under uvicorn, as the ``/sync`` request's disconnect reached the site (before, any
request's did: the start's ``/quick`` probe satisfied the gate).

flaky52: the same under hypercorn, Django's handler ended first (asgiref's join back as
the view returned, during the chain's grouping hop), its 500 and close before the
verdict read the connection: the client's end read as the view returned (the site's
``D62_ORDER`` makes that order: the chain waits for the handler's end, the join for that
wait).

Real parts: uvicorn and hypercorn in a subprocess, a real Django site (delivery56's stop
site, its ``/sync`` route streaming where asked), the loopback collector, a raw socket
client. Nothing timed: the view and the stream wait for files the test writes once the
server cancelled the handler, uvicorn's own "Exception in ASGI application" (the
handler's call ended), or the client's disconnect reached the site.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery56_django_cancelled import SITE as D56_SITE
from tests.test_delivery56_django_cancelled import (
    SLOW_JOIN,
    _hypercorn,
    _stopped_mid_view,
    _uvicorn,
)

pytest.importorskip("django", minversion="5.0")  # (the handler's own task: 5.0+)
pytest.importorskip("uvicorn")
pytestmark = pytest.mark.e2e

#: delivery56's site, its ``/sync`` route streamed where ``D62_STREAM`` says: "late",
#: the sync view's answer streamed once the test lets it return; "mid", an answer that
#: sends its first chunk, then waits for the test. ``D62_LEFT``: the site writes it when
#: the ``/sync`` client's disconnect reached it (delivery65: not any request's, which the
#: start's ``/quick`` probe satisfied, its disconnect read by Django's listener);
#: ``D62_HOLD``: the lifespan's shutdown (uvicorn's stop) waits for a response in flight
#: (the view returned), not for Django's task.
SITE = D56_SITE.replace("inner = app", textwrap.dedent("""
    from django.http import StreamingHttpResponse

    async def _late_chunks():
        yield b"one,"
        yield b"two"

    def late_stream(request):
        open(os.environ["D54_ENTERED"], "w").close()
        while not os.path.exists(os.environ["D54_RELEASE"]):
            time.sleep(0.01)
        return StreamingHttpResponse(_late_chunks())

    async def _paused_chunks():
        yield b"first,"
        open(os.environ["D54_ENTERED"], "w").close()
        while not os.path.exists(os.environ["D54_RELEASE"]):
            await asyncio.sleep(0.01)
        yield b"second"

    import threading

    ended_waiters = []  # (flaky52, D62_ORDER: the /sync handler's end, awaited)
    chain_waits, view_threads = threading.Event(), []

    def marked_view(request):
        view_threads.append(threading.current_thread())
        return sync_view(request)

    async def held_sync(request):  # (the chain resumes as the handler's call ended)
        from asgiref.sync import sync_to_async

        response = await sync_to_async(marked_view)(request)
        ended = asyncio.get_running_loop().create_future()
        ended_waiters.append(ended)
        chain_waits.set()
        await ended
        return response

    import concurrent.futures as _pools
    _joined = _pools.ThreadPoolExecutor.shutdown

    def _joined_once_held(self, *args, **kwargs):  # (the view's: once the chain waits)
        if any(thread in self._threads for thread in view_threads):
            chain_waits.wait(60)
        return _joined(self, *args, **kwargs)
    _pools.ThreadPoolExecutor.shutdown = _joined_once_held

    _streams = {"late": late_stream, "mid": lambda request: StreamingHttpResponse(
        _paused_chunks())}
    if os.environ.get("D62_STREAM"):
        urlpatterns[1] = path("sync", _streams[os.environ["D62_STREAM"]])
    if os.environ.get("D62_ORDER"):
        urlpatterns[1] = path("sync", held_sync)
    d54_app = inner = app
"""), 1) + textwrap.dedent("""
    d56_app = app

    async def app(scope, receive, send):
        if scope["type"] == "http" and os.environ.get("D62_LEFT"):
            async def told():  # (the held request's own disconnect: not the probe's)
                message = await receive()
                if message["type"] == "http.disconnect" and scope["path"] == "/sync":
                    open(os.environ["D62_LEFT"], "w").close()
                return message
            try:
                return await d56_app(scope, told, send)
            finally:  # (before hypercorn's 500 and its close, in the same step)
                while scope["path"] == "/sync" and ended_waiters:
                    ended_waiters.pop().set_result(None)
        if scope["type"] == "lifespan" and os.environ.get("D62_HOLD"):
            from readme_metrics.capture import unclosed

            async def held():
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    while not unclosed._in_flight:
                        await asyncio.sleep(0.01)
                return message
            return await d54_app(scope, held, send)
        return await d56_app(scope, receive, send)
""")


def _logged_gone(entries: dict[str, Any], said: str) -> None:
    """``/sync`` logged as the client gone before the response started, the view's 200
    quoted."""
    assert sorted(entries) == ["quick", "sync"], said
    response = entries["sync"]["response"]
    assert (response["status"], response["content"]["size"]) == (499, 0), response
    assert response["comment"] == (
        "the client left before the response started and got none of it (499 is "
        "nginx's Client Closed Request); the app answered 200"), response


def _handler_ended(folder: Path) -> bool:  # (uvicorn's word once the handler's call ended)
    return "Exception in ASGI application" in (folder / "err").read_text(errors="replace")


def test_hypercorns_500_before_the_views_answer_into_a_connection_the_client_ended(
        collector: Collector, tmp_path: Path) -> None:
    """flaky52: as the client gone above under hypercorn, in the order a loaded machine
    made now and then: Django's handler ends (asgiref's join returned as the view did)
    and hypercorn answers its 500 into the connection the client ended, then closes it,
    before the chain's task reads the connection for its verdict. The site's async view
    runs the sync one and waits for the handler's call to end; the join waits for that
    wait. Logged as the client gone (before flaky52: hypercorn's 500, 1 of 1; the
    stress loop of the row above 1 of 12 under load)."""
    pytest.importorskip("hypercorn")
    got, said, entries = _stopped_mid_view(collector, tmp_path, _hypercorn, SLOW_JOIN + SITE,
                                           leave=True, D62_ORDER="handler-first")
    _logged_gone(entries, said)


@pytest.mark.parametrize("chain", ["async", "sync"], ids=["async-chain", "sync-chain"])
def test_a_stream_the_servers_stop_cut_is_logged_cut(collector: Collector,
                                                      tmp_path: Path, chain: str) -> None:
    """SIGTERM with the answer streaming (its first chunk out); the graceful timeout
    cancels Django's handler, whose call ends, and uvicorn closes the connection; then
    the stream sends its second chunk and ends, into nothing. The log: the first chunk,
    marked cut (before delivery62: both chunks, whole, 1 of 1)."""
    got, said, entries = _stopped_mid_view(collector, tmp_path, _uvicorn, SITE, chain,
                                           gate=_handler_ended, D62_STREAM="mid")
    assert sorted(entries) == ["quick", "sync"], said
    assert got.startswith(b"HTTP/1.1 200"), (got, said)
    assert got.endswith(b"\r\n\r\n6\r\nfirst,\r\n"), (got, said)  # no second, no end
    response = entries["sync"]["response"]
    assert response["status"] == 200, response
    content = response["content"]
    assert (content["text"], content["size"]) == ("first,", 6), content
    assert content["comment"].startswith("incomplete: the app's answer broke off after 6 "
                                         "bytes, with no end of its body"), content


@pytest.mark.parametrize("server", [
    pytest.param(_uvicorn, id="uvicorn"), pytest.param(_hypercorn, id="hypercorn")])
@pytest.mark.parametrize("stream", ["", "late"], ids=["whole", "streamed"])
def test_a_client_gone_before_any_answer_is_logged_as_gone(
        collector: Collector, tmp_path: Path, stream: str,
        server: Callable[[int], list[str]]) -> None:
    """The handler cancelled, the client closes its connection, then the view returns:
    uvicorn drops the view's answer and its own 500 without a word, hypercorn writes the
    view's answer into the connection the client reset; the client got nothing. Logged
    as the client gone before the response started (499, no body, the view's 200
    quoted), as delivery59 logs a client gone while the view ran (before delivery62:
    the view's 200 with its body, 1 of 1 each under uvicorn; before delivery64, under
    hypercorn, 2 of 2)."""
    pytest.importorskip(server(0)[0])
    got, said, entries = _stopped_mid_view(collector, tmp_path, server, SLOW_JOIN + SITE,
                                           leave=True, D62_STREAM=stream)
    _logged_gone(entries, said)


@pytest.mark.parametrize("chain", ["async", "sync"], ids=["async-chain", "sync-chain"])
@pytest.mark.parametrize("server", [
    pytest.param(_uvicorn, id="uvicorn"), pytest.param(_hypercorn, id="hypercorn")])
def test_a_verdict_the_stop_left_says_what_went_out(
        collector: Collector, tmp_path: Path, server: Callable[[int], list[str]],
        chain: str) -> None:
    """The view returns after the handler's cancel; Django's send held until the handler
    ends, the handler's end held (its thread's join slowed); the stop's lifespan
    shutdown comes first and the log is cut there (uvicorn), or at exit. uvicorn's loop
    ends before the handler: the client gets nothing, logged so (before delivery62:
    uvicorn's 500, 1 of 1). hypercorn answers its 500 at its loop's end: logged 500."""
    pytest.importorskip(server(0)[0])
    got, said, entries = _stopped_mid_view(collector, tmp_path, server, SLOW_JOIN + SITE,
                                           chain, server_first=True, D62_HOLD="1")
    assert sorted(entries) == ["quick", "sync"], said
    response = entries["sync"]["response"]
    assert (response["status"], response["content"]["size"]) == (500, 0), response
    if server is _uvicorn:
        assert got == b"", (got, said)
        assert response["comment"] == (
            "no answer reached the client: the server cancelled the app before its "
            "response started and closed the connection; the app answered 200"), response
    else:
        assert got.startswith(b"HTTP/1.1 500"), (got, said)
        assert response["comment"].startswith("the server answered 500 itself"), response


def test_a_client_that_only_shut_its_side_is_logged_as_what_it_read(
        collector: Collector, tmp_path: Path) -> None:
    """hypercorn, the handler cancelled, the client shuts its sending side only (a half
    close, which sets hypercorn's stream ``closed`` too), then the view returns: hypercorn
    writes the view's answer whole and the client reads it. Logged as that 200 with its
    body, not as a client gone (delivery64 tells the two apart by the reset a client
    that left sends back, not by ``closed``)."""
    pytest.importorskip("hypercorn")
    got, said, entries = _stopped_mid_view(collector, tmp_path, _hypercorn, SLOW_JOIN + SITE,
                                           leave="half")
    assert sorted(entries) == ["quick", "sync"], said
    assert got.startswith(b"HTTP/1.1 200") and b'{"slow": true}' in got, (got, said)
    response = entries["sync"]["response"]
    assert (response["status"], response.get("comment")) == (200, None), response
    assert response["content"]["text"] == '{"slow": true}', response


@pytest.mark.parametrize("chain", ["async", "sync"], ids=["async-chain", "sync-chain"])
def test_hypercorns_500_into_a_connection_the_client_ended_is_logged_as_gone(
        collector: Collector, tmp_path: Path, chain: str) -> None:
    """delivery65: as the verdict left at the stop above, under hypercorn, but the client
    closes its connection once the handler was cancelled, before the view returns:
    hypercorn's 500 at the handler's end goes into a connection the client ended (its
    h11 read nothing more while the answer was due, and it closes the connection after
    its 500: no reset is read). The client got nothing: logged as the client gone before
    the response started (before delivery65: hypercorn's 500, 1 of 1 each chain)."""
    pytest.importorskip("hypercorn")
    got, said, entries = _stopped_mid_view(collector, tmp_path, _hypercorn, SLOW_JOIN + SITE,
                                           chain, server_first=True, leave=True, D62_HOLD="1")
    _logged_gone(entries, said)
