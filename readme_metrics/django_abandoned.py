"""Django's ASGI handler cancelled by the server while the view still ran (delivery56).

Django's ASGI handler (Django 5.0+) runs the middleware chain in a task of its own
(``process_request``) and waits for it. When the server cancels the handler (uvicorn's
and hypercorn's graceful timeout at a stop, daphne's stop: "Killed N pending application
instances"), the handler ends and leaves that task running: a sync view's thread goes
on, and when it returns the middleware logged the view's answer (a 200), though the
client had the server's 500 (uvicorn, hypercorn answer it to any app whose call ended
with no response started) or nothing (daphne closes the connection). What Django sends
then goes nowhere.

:func:`handler_gone` tells it (the task no longer waited for: ``asyncio.wait``'s
callback taken off as the handler's wait was cancelled); :func:`server_answer` logs
what the client got, marked as cut, as the ASGI middleware's cancelled call
(:meth:`~readme_metrics.capture.asgi_end.Ending.cancelled`). The left task still sends
the view's answer, and it races the handler's end (after asgiref's join of the view's
thread): :func:`await_verdict` waits for whichever ends first and the log says what
went out (delivery60; before, the server's 500 as the view returned), read from the
server's connection too: a client gone before either answer went out (uvicorn's request
cycle, delivery62; hypercorn's connection reset, delivery64) is :func:`client_left`, a
verdict the stop left with no response started no answer (:func:`unsent_at_exit`). A
stream the server's cancel cut mid-way is marked cut where the client's was
(:func:`stream_cut`). Before Django 5.0 the handler awaited the chain itself: the
cancellation reached the middleware, which logs it as the app's 500.

:func:`django_cancelled` tells the other way the chain's task is left: Django cancelled it
itself, as the client disconnected while the view ran (its ``listen_for_disconnect``); a
view that catches the ``CancelledError`` and returns a response has it sent nowhere. The
log is then the client gone before the response started (:func:`client_left`: 499, as the
ASGI middleware logs it; before delivery59, the view's status). Python 3.11+ (asyncio's
``Task.cancelling()``); before, the view's status as ever.

The sync chain (a sync-only middleware in ``MIDDLEWARE``: asgiref runs the chain in a
thread, Django's inner handler through ``async_to_sync``) is asked from that thread by
:func:`sync_chain_left`. A server's cancel of the handler leaves the chain's task
running, and it still sends the view's answer once the view returned (asgiref 3.12+,
whose context exit waits for the thread without blocking the loop): uvicorn, hypercorn
and daphne write it (a raw client reads the view's 200; delivery59). It races the
handler's own end, after which uvicorn and hypercorn answer their 500, and daphne's
stop closing the connection: logged as what went out first (:func:`await_verdict`,
delivery60; before, the view's 200); daphne's taken but still in Twisted's buffer at
the close, as what the close let out (:mod:`.capture.daphne_wire`, delivery69).
Django's cancel as the client left reaches the thread as a ``CancelledError`` out of
the inner handler (:func:`sync_failed`), or, after the view returned, leaves its answer
sent nowhere (:func:`sync_cut`): both logged as the client gone (before, the app's 500
or the view's status). A cancel that comes once the view returned, Django's handler
still waiting as the chain decided, ends the chain's task at once (asgiref) while the
thread runs on: the task's end decides
(:func:`await_verdict`'s ``waited``; before delivery65, the view's 200 under uvicorn,
hypercorn and daphne alike). Where Django's handler's tasks are is read by
:mod:`.django_tasks`.
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
    CLIENT_LEFT,
    HANDLER_CALL,
    PROCESS_REQUEST,
    SERVER_CANCELLED,
    VERDICT,
    cancelled_by_django,
    chain_of,
    chain_task,
    django_cancelled,
    handler_ended,
    handler_gone,
    handler_waits,
    sync_chain_left,
    task_awaiting,
)

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture

__all__ = ["async_cut", "await_verdict", "client_ended", "client_left", "server_answer",
           "stream_cut", "sync_cut", "sync_failed", "unsent_at_exit"]

#: The verdict's mark where Django's handler waited (:func:`_await_sent`): nothing for
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


def async_cut() -> Optional[Callable[[Capture], None]]:
    """For the async chain, once the view returned: what makes its log what the client
    got (:func:`await_verdict`, :func:`server_answer`, :func:`client_left`), or None
    (the handler waits for its answer). Never raises."""
    if handler_gone():
        return server_answer if loaded_silent_on_cancel() else await_verdict
    return client_left if django_cancelled() else None


def sync_cut(request: object) -> Optional[Callable[[Capture], None]]:
    """For the sync chain under ASGI, in asgiref's thread once the view returned: the
    client gone (:func:`client_left`) where Django cancelled the chain's task, else the
    log left to :func:`await_verdict`: a server's cancel of the handler (the chain's task
    sends the view's answer, unless the handler's end came first, uvicorn, hypercorn, or
    daphne closed the connection: see :func:`sync_chain_left`), or the handler still
    waiting, whose cancel of the chain's task, as the client leaves, may have come or
    come yet before the task sent the view's answer (delivery65). Never raises."""
    if getattr(request, "scope", None) is None:  # (WSGI: no handler to leave it)
        return None
    left = sync_chain_left(request)
    if left == SERVER_CANCELLED:
        return await_verdict
    return client_left if left == CLIENT_LEFT else _await_sent


def sync_failed(capture: Capture, error: BaseException) -> None:
    """The sync chain raised ``error`` under ASGI: a ``CancelledError`` is Django's cancel
    of the chain's task as the client left, reaching the chain's thread through asgiref
    (the view's answer discarded; before delivery59 logged as the app's 500). Called once
    the failure was recorded. Never raises."""
    if (isinstance(error, asyncio.CancelledError)
            and getattr(capture.request, "scope", None) is not None
            and sync_chain_left(capture.request, cancelled=True) == CLIENT_LEFT):
        client_left(capture, answered=False)


def stream_cut(capture: Capture, task: Optional[asyncio.Task[object]]) -> bool:
    """From the chain's task (``task``, :func:`.django_tasks.chain_task`'s) sending a
    streamed answer (an async iterator's, Django's ``send_response``), before a chunk is
    recorded and at its end (a look at the task's callbacks while the handler waits): True,
    the log's body marked broken off there, once what the task sends reaches no client. The server
    cancelled Django's handler mid-stream (its graceful timeout at a stop) and the
    handler's call ended: uvicorn closes the connection of an answer started, and its
    send then returns without a word (delivery62; before, logged whole). Not under
    daphne, which writes while the connection is open. Never raises."""
    try:
        if task is None or handler_waits(task) or loaded_silent_on_cancel():
            return False  # (the handler waits for it: the usual stream, one look)
        if task_awaiting(asyncio.get_running_loop(), HANDLER_CALL, "scope",
                          getattr(capture.request, "scope", None)) is not None:
            return False  # (its call still runs: what is sent still goes out)
        capture.recorder.broke_off = True
        return True
    except Exception:  # noqa: BLE001 - an odd loop: the log as recorded
        return False


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

    ``waited`` (:func:`_await_sent`, in the sync chain's thread): Django's handler still
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


def _await_sent(capture: Capture) -> None:
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
