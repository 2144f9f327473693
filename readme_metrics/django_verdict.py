"""What the log of an exchange Django's handler or chain left says the client got
(delivery56 to delivery75; the cases are told apart by :mod:`.django_abandoned`).

:func:`client_left`: the client gone before the response started (499, as the ASGI
middleware logs it). :func:`server_answer`: what the server answered once it cancelled
Django's handler (uvicorn's and hypercorn's 500; nothing at daphne's stop). The left task
still sends the view's answer, and it races the handler's end (after asgiref's join of
the view's thread): :func:`await_verdict` waits for whichever ends first and the log says
what went out (delivery60; before, the server's 500 as the view returned), read from the
server's connection too: a client gone before either answer went out (uvicorn's request
cycle, delivery62; hypercorn's connection reset, delivery64) is :func:`client_left`, a
verdict the stop left with no response started no answer (:func:`unsent_at_exit`).
Under the sync chain daphne's answer taken but still in Twisted's buffer at the close is
logged as what the close let out (:mod:`.capture.daphne_wire`, delivery69). A cancel
that comes once the view returned, Django's handler still waiting as the chain decided,
ends the chain's task at once (asgiref) while the thread runs on: the task's end decides
(:func:`await_sent`, :func:`await_verdict`'s ``waited``; before delivery65, the view's
200 under uvicorn, hypercorn and daphne alike). :func:`client_ended`: hypercorn's client
ended its side, read in the async chain as the view returned (flaky52).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Optional

from readme_metrics.capture.asgi_messages import (
    CLIENT_GONE_REASON,
    CLIENT_GONE_STATUS,
    client_gone_comment,
)
from readme_metrics.capture.asgi_own_send import own_send
from readme_metrics.capture.asgi_server_quirks import (
    client_gone,
    daphne_stopping,
    loaded_silent_on_cancel,
)
from readme_metrics.capture.asgi_servers import hypercorn_client_ended, hypercorn_reset
from readme_metrics.capture.asgi_started import (
    hypercorn_stream_of,
    response_started,
    uvicorn_cycle_of,
)
from readme_metrics.capture.daphne_wire import DaphneWire, daphne_wire
from readme_metrics.capture.pending import LEFT_IN_WRITE
from readme_metrics.django_tasks import (
    HANDLER_CALL,
    PROCESS_REQUEST,
    VERDICT,
    cancelled_by_django,
    chain_of,
    chain_task,
    handler_ended,
    handler_gone,
    task_awaiting,
)

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture

__all__ = ["await_sent", "await_verdict", "client_ended", "client_left", "server_answer",
           "unsent_at_exit"]

#: The verdict's mark where Django's handler waited (:func:`await_sent`): nothing for
#: the exit to say.
_WAITED = object()

#: Why no answer reached a cancelled handler's client (daphne's stop; uvicorn's: delivery62).
_CANCELLED = "cancelled the app before its response started"


def client_left(capture: Capture, answered: bool = True) -> None:
    """The log says the client left before the response started and got none of it
    (499, no headers or body), as the ASGI middleware's; its comment quotes the view's
    status where it ``answered`` (recorded before). Never raises."""
    try:
        recorder = capture.recorder
        status = recorder.status if answered else 0
        recorder.client_left(CLIENT_GONE_STATUS, CLIENT_GONE_REASON,
                             client_gone_comment(status), status)
        recorder.no_body = True  # (the view's body went nowhere: none logged)
        recorder.take_back(0)  # (nor what was recorded of it: the verdict's, delivery62)
    except Exception:  # pragma: no cover - the usual log rather than none
        pass

def server_answer(capture: Capture) -> None:
    """The log says what the client got once the server cancelled Django's handler:
    no answer under daphne's stop, else the server's own 500 (uvicorn, hypercorn).
    Called after the view's answer was recorded (its status quoted in the comment).
    Never raises."""
    try:
        recorder = capture.recorder
        if loaded_silent_on_cancel():
            if daphne_stopping():  # (else an outer layer's cancel: it may answer)
                recorder.no_answer(_CANCELLED, recorder.status)
            return
        recorder.server_answered(500, "Internal Server Error",
                                 "Django's handler cancelled before the view returned")
    except Exception:  # pragma: no cover - a look at the server must not cost the log
        pass


def await_verdict(capture: Capture, waited: bool = False) -> None:
    """The server (uvicorn, hypercorn) cancelled Django's handler before the view
    returned: the log waits for what goes out first (delivery60), the chain's task
    sending the view's answer, or the handler's end, after which the server answers its
    own 500 (and refuses the view's). Which ended first (the tasks' done callbacks run in
    the order they ended) decides: :func:`server_answer` for the handler's end, or for the
    chain's task ending in the server's refusal; else the view's answer as recorded. The
    log is finished then (:attr:`Capture.verdict`), or at exit if the loop never gets
    there; a handler already ended is the server's answer at once. Called in the chain
    (on the loop, or in asgiref's thread: neither task can end before it returns).

    ``waited`` (:func:`await_sent`, in the sync chain's thread): Django's handler still
    waits; its cancel of the chain's task (the client's disconnect came) ends the task
    at once, or took its wait for the thread (asgiref) and lets it send the view's
    answer into the gone client's connection. The task's end decides alone, already
    ended or once it ends: :func:`client_left` for Django's cancel
    (:func:`~.django_tasks.cancelled_by_django`), else the view's answer. Never raises."""
    try:
        from asgiref.sync import SyncToAsync

        request = capture.request
        try:
            loop = asyncio.get_running_loop()
            thread = False
        except RuntimeError:  # (the sync chain's thread)
            loop, thread = SyncToAsync.threadlocal.main_event_loop, True
        streamed = getattr(capture, "streaming", False)
        left: Optional[asyncio.Task[object]]
        frame: Any = None
        found = chain_of(loop, request) if waited else None  # (none: the server's cancel?)
        waited = waited and (found is not None or not handler_ended(loop, request))
        if waited:
            # (Django's cancel ended it, or no task; a stream's end finishes it, as before)
            if found is None or found[0].done() or streamed:
                if found is not None and found[0].done() and cancelled_by_django(found[0]):
                    client_left(capture)
                return
            (left, frame), handler, silent = found, None, False
        else:
            handler = task_awaiting(loop, HANDLER_CALL, "scope",
                                    getattr(request, "scope", None))
            left = task_awaiting(loop, PROCESS_REQUEST, "request", request)
            silent = loaded_silent_on_cancel()  # (daphne: nothing at the handler's end)
    except Exception:  # noqa: BLE001 - an odd loop or asgiref: the view's answer logged
        return
    if not waited and left is not None:
        frame = getattr(left.get_coro(), "cr_frame", None)
    # (the server's own, under an ASGI middleware's wrapper)
    send = own_send(frame.f_locals.get("send")) if frame is not None else None
    if left is None or (handler is None and not silent and not waited):
        if handler is None:  # (ended: the server's answer went out, or to no client)
            if _client_left_first(send, _hypercorn_ended(send) or capture.client_ended):
                client_left(capture)
            else:
                server_answer(capture)
        return
    # daphne writes what Django sends while the connection is open: its request tells,
    # and its transport what it wrote (read now: daphne's finish takes its channel)
    wire = daphne_wire(send) if silent else None
    # (kept for the verdict: what went out; the exit's, unless the handler waited)
    # hypercorn's client ended its side before its 500 (read now: its connection still
    # open, not closed by hypercorn after the 500; delivery65)
    early_end = not waited and (_hypercorn_ended(send) or capture.client_ended)
    capture.verdict = _WAITED if waited else (send, early_end, wire)
    decided: list[bool] = []

    @_marked
    def ended(task: asyncio.Future[object]) -> None:
        if not decided:
            decided.append(True)
            if waited:  # (only Django's cancel changes the log: not the server's refusal)
                gone = cancelled_by_django(task)
                # (a client gone once the answer started, Django's cancel or hypercorn's
                # reset, left before its end: not 499, "got none of it"; review144)
                told = send
                if response_started(send):
                    if gone or _client_left_first(send):
                        capture.recorder.left = LEFT_IN_WRITE
                    told, gone = None, False
                _decide(capture, False, told, gone)
            elif wire is not None and wire.started() and wire.held() and daphne_stopping():
                # daphne took the view's answer, still in Twisted's buffer: its stop's
                # close drops it, unless the loop writes it first (delivery69)
                wire.settle(capture)
            else:
                _decide(capture, task is handler or _refused(task)
                        or (wire is not None and not wire.started()), send, ended=early_end)

    def watch() -> None:
        if handler is not None and not silent:
            handler.add_done_callback(ended)
        left.add_done_callback(ended)
    if thread:
        loop.call_soon_threadsafe(watch)
    else:
        watch()


def _marked(callback: Callable[[asyncio.Future[object]], None]
            ) -> Callable[[asyncio.Future[object]], None]:
    """``callback`` marked as the verdict's (:data:`~.django_tasks.VERDICT`): not the
    handler's wait, for :func:`~.django_tasks.handler_waits`."""
    setattr(callback, VERDICT, True)
    return callback


def await_sent(capture: Capture) -> None:
    """The sync chain's log, its view returned while Django's handler waits: left to
    what became of the chain's task (:func:`await_verdict`'s ``waited``)."""
    await_verdict(capture, waited=True)


def _decide(capture: Capture, server_first: bool, send: object, gone: bool = False,
            ended: bool = False) -> None:
    """The verdict, on the loop: the server's answer went out (``server_first``) or the
    view's, or neither, the client gone first (``gone``: Django cancelled the chain's task
    first; or uvicorn's request cycle, of the server's ``send``, says so:
    :func:`_client_left_first`); the log finished. Not for a log
    already queued: a record is never rewritten once a sender may build it (delivery58);
    a streamed answer's end and the response's close() leave it to this (delivery62)."""
    try:
        capture.verdict = False
        if capture.recorder.finished():
            return  # (the exit queued it: left as it is)
        if gone or _client_left_first(send, server_first and ended):
            client_left(capture)
        elif server_first:
            server_answer(capture)
        capture.finish()
    except Exception:  # pragma: no cover - never into the loop
        pass


def unsent_at_exit(capture: Capture) -> None:
    """At exit, the log still waiting for its verdict (:func:`await_verdict`): the chain's
    task never sent the view's answer (daphne's stop ended the loop first), nor did the
    server answer before: what :func:`server_answer` says, but where the server's request
    had no response started (uvicorn's loop ended before Django's handler did; hypercorn's
    connection closed before its 500): the client left first (:func:`client_left`), or got
    no answer (before delivery62, uvicorn's 500; before delivery65, hypercorn's), and
    where hypercorn's 500 went into a connection the client had ended: the client left
    (before delivery65, that 500). The view's answer daphne took, still in Twisted's
    buffer as the chain's task ended (delivery69), or taken before a chain's task that
    had not ended when the stop ended the loop (delivery75; before, no answer "before its
    response started", the client's whole 200 too): what went out of it. Never raises."""
    kept = capture.verdict
    capture.verdict = False
    if kept.__class__ is DaphneWire:  # (the stop's close never came: the loop ended)
        kept.log_went_out(capture.recorder)
        return
    if kept.__class__ is not tuple:  # (none; or the handler waited: its task's, cut so)
        return
    send, ended, wire = kept
    if wire is not None and wire.started():  # (daphne took the view's answer)
        wire.log_went_out(capture.recorder)
    elif _client_left_first(send, ended):
        client_left(capture)
    elif response_started(send, daphne=False) is False:
        capture.recorder.no_answer(_CANCELLED, capture.recorder.status)
    else:
        server_answer(capture)


def _client_left_first(send: object, ended: bool = False) -> bool:
    """Whether the client left before any answer went out: uvicorn drops them without a
    word (its cycle's ``disconnected``, no response started: delivery62), hypercorn
    writes them into a connection the client reset (delivery64; not its stream's
    ``closed``, set by a half close too, whose client reads it all), or, for its own 500,
    into one the client had ended (``ended``, read as the verdict was set up: delivery65;
    hypercorn closes the connection after its 500, and the reset is never read). Never
    raises."""
    try:
        stream = hypercorn_stream_of(send)
        if stream is not None:
            return ended or hypercorn_reset(stream)
        cycle = uvicorn_cycle_of(send)
        return cycle is not None and getattr(cycle, "response_started", True) is False \
            and client_gone(send)
    except Exception:  # noqa: BLE001 - an odd cycle: as before
        return False


def _hypercorn_ended(send: object) -> bool:
    """Whether hypercorn's client (of the stream whose ``send`` this is) ended its side
    of the connection, as its connection has it now (its close hides it). Never raises."""
    stream = hypercorn_stream_of(send)
    return stream is not None and hypercorn_client_ended(stream)


def client_ended() -> bool:
    """In the async chain as the view returned (before the grouping's thread hop, which
    the handler's end, hypercorn's 500 and close, may beat: flaky52): the server
    cancelled Django's handler and hypercorn's client ended its side. Never raises."""
    task = chain_task()  # (each look below never raises)
    frame = getattr(task.get_coro(), "cr_frame", None) if task and handler_gone() else None
    return frame is not None and _hypercorn_ended(own_send(frame.f_locals.get("send")))


def _refused(task: asyncio.Future[object]) -> bool:
    """The chain's task ended in an error of the server's send (uvicorn's "Unexpected
    ASGI message ... after response already completed"): its 500 went first. Read without
    marking it retrieved (asyncio still logs it, as without the middleware)."""
    return not task.cancelled() and getattr(task, "_exception", None) is not None
