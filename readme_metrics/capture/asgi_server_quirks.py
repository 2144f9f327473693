"""What each ASGI server does that its messages do not say (for :mod:`.asgi_exchange`,
which records them, and the Django middleware under Django's ASGI handler).

Known by the server's own ``send`` or ``receive`` (the module of the object they are
bound to: :func:`.own_send` finds the ``send`` under a middleware's wrappers), or, for
a layer that sees neither, by the servers loaded in the process. Never raise.

- :func:`cut_answered`: whether the server answers :data:`.CUT_STATUS` itself when it
  ends a request body with ``http.disconnect``.
- :func:`client_gone`: whether the server knows the client is gone (what is sent now
  goes nowhere), though the app was not told so.
- :func:`closes_on_refused_start`: whether the server closes the connection with no
  answer once it refused the app's start.
- :func:`silent_on_cancel`: whether the server sends nothing to an app it cancelled
  before its response started; :func:`daphne_stopping`: whether daphne's stop began.
- :func:`holds_start`: whether the server writes the response head only with the first
  body message (and answers 500 itself to an app that ends before one).
- :func:`ends_receive_with_response`: whether the server's ``receive`` says
  ``http.disconnect`` once the response is complete, whatever body is left.
- :func:`reads_on_for_expect`: whether reading a body sent with ``Expect:
  100-continue`` makes the server read on from the connection, whatever the client does.
- :func:`awaits_continue`: whether the server would answer ``100 Continue`` to the next
  ``receive()``.
- :func:`answered_version`, :func:`sends_informational_body`,
  :func:`sends_later_bodies`, :func:`cuts_stream_at_length`: what of the answer the
  server writes otherwise than the app gave it.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any, Optional

from readme_metrics.capture.asgi_own_send import is_daphne_send, server_send
from readme_metrics.capture.asgi_servers import hypercorn_connection, hypercorn_dead

__all__ = ["answered_version", "awaits_continue", "client_gone", "closes_on_refused_start",
           "cut_answered", "cuts_stream_at_length", "ends_receive_with_response",
           "holds_start", "loaded_answered_version", "loaded_sends_later_bodies",
           "loaded_silent_on_cancel", "daphne_stopping", "reads_on_for_expect",
           "sends_informational_body", "sends_later_bodies", "silent_on_cancel"]


def cut_answered(receive: Any, send: Any) -> bool:
    """Whether the server whose ``receive`` and ``send`` these are answered the client
    itself (:data:`.CUT_STATUS`, or nothing as the client left) once it ended the request
    body with ``http.disconnect`` before the app's start. Per server, as shown by raw
    clients sending a malformed chunked body or leaving (or half-closing) mid-body:

    - uvicorn (h11 and httptools): yes. It answers a malformed body with 400 and drops
      what the app sends once the connection is lost, a half-closed one too.
    - hypercorn's trio worker: yes. Its h11 parser fails on a malformed body, and on
      the end of the client's data mid-body: it answers 400 unless the app started.
    - hypercorn's asyncio worker: only when its h11 connection failed (their side in
      ``h11.ERROR``: it answered 400). After a half-close it still sends the app's
      answer. Its connection is reached from its own ``send``, also under the closures
      a middleware wraps it in (Starlette's ServerErrorMiddleware, so FastAPI and
      Starlette apps: :func:`.own_send`).
    - granian (and any other server): no; granian reports a malformed chunked body so
      and still sends the app's answer.
    """
    module = _owner_module(receive)
    if module.startswith(("uvicorn.", "trio")):
        return True
    if module == "asyncio.queues":  # hypercorn's asyncio worker: its receive is a queue's
        h11 = sys.modules.get("h11")
        stream_send = server_send(send, "hypercorn.")
        if h11 is None or stream_send is None:
            return False
        protocol, _ = hypercorn_connection(stream_send.__self__)
        their_state = getattr(getattr(protocol, "connection", None), "their_state", None)
        return their_state is h11.ERROR
    return False


def _owner_module(method: Any) -> str:
    """The module of the object a bound method (a server's ``send``/``receive``) is of."""
    return type(getattr(method, "__self__", None)).__module__


def sends_informational_body(send: Any) -> bool:
    """Whether the server sends the body an app gives to a final 1xx answer, one HTTP
    allows none (RFC 9110 6.4.1), so that the log has the bytes the client got: uvicorn
    (its httptools protocol, the one it picks when httptools is installed) and daphne
    send it, chunked; hypercorn does not, nor, as far as is known, the others. ``send``
    is the server's own (:func:`.own_send`). Asked only for a 1xx answer. Never raises."""
    if _owner_module(send) == "uvicorn.protocols.http.httptools_impl":
        return True
    return send.__class__ is partial and is_daphne_send(send)


def sends_later_bodies(send: Any) -> bool:
    """Whether the server sends the body messages after the first of an answer HTTP
    allows no body (HEAD, 204, 304) all the same, unframed: daphne, which drops only the
    first (Twisted's Request.write swaps itself for a no-op once it wrote such an
    answer's head; daphne calls the class's ``write`` for every message). ``send`` is
    the server's own (:func:`.own_send`). Asked only for such an answer's later body
    messages. Never raises."""
    return send.__class__ is partial and is_daphne_send(send)


def silent_on_cancel(send: Any) -> bool:
    """Whether the server answers nothing at all to an app it cancelled before the app's
    response started: daphne, whose stop (SIGTERM, SIGINT) cancels the app instances
    still running ("Killed N pending application instances") and closes their
    connections without a byte, and which cancels the app of a client gone (after
    ``application_close_timeout``); a cancelled app's call is not an error to daphne,
    so no 500 either (uvicorn answers its 500 to any app whose call ended with no
    response started, a cancelled one too). ``send`` is the server's own
    (:func:`.own_send`). Asked only for a cancellation. Never raises."""
    return send.__class__ is partial and is_daphne_send(send)


def daphne_stopping() -> bool:
    """Whether daphne's stop began: its Twisted reactor told to stop (SIGTERM, SIGINT),
    after which daphne cancels the app instances still running. Asked for a cancellation
    under daphne (:func:`silent_on_cancel`): one while the reactor runs is no stop's but
    a client's gone (asked first) or an outer layer's, an ASGI timeout middleware's that
    answers the client itself (a 504: delivery54). The reactor is the module Twisted put
    in its place, never imported here (an import would install one). Never raises."""
    try:
        return getattr(sys.modules.get("twisted.internet.reactor"), "_stopped", False) is True
    except Exception:  # noqa: BLE001 - an odd module: no stop known
        return False


# The class of a server's ``send`` -> the attribute of it that says the client is gone
# ("": none; _HYPERCORN: see hypercorn_dead), looked up once per class: the check runs
# for every response message.
_GONE_SIGNS: dict[type, str] = {}
_HYPERCORN = "hypercorn"


def client_gone(send: Any) -> bool:
    """Whether the server whose ``send`` this is already knows the client is gone, so
    that what the app sends now goes nowhere: the servers take it and drop it without a
    word (the app is told only if it calls ``receive``). Per server, as shown by raw
    clients leaving a stream mid-way:

    - uvicorn (h11 and httptools): its request cycle's ``disconnected``.
    - daphne: its request ``finished``, or without a channel.
    - hypercorn (asyncio and trio): its connection is dead (:func:`.hypercorn_dead`),
      once a write to the client that left brought a reset: a chunk or two after it
      left. Its stream's ``closed`` alone does not tell: it is set on the end of the
      client's data, also by a client that only half-closed, to which it still writes
      the whole answer.
    - granian (and any other server): nothing tells; False.

    Asked before a response message is handed over: a chunk the server drops because
    the client left while it waited for room to write it is still counted as sent.
    ``send`` is the server's own (:func:`.own_send`: under the closures of Starlette's
    middlewares, also when the metrics middleware is added with ``app.add_middleware``).
    """
    try:
        owner = getattr(send, "__self__", None)
        if owner is not None:  # a bound method: the server's class says where to look
            kind = owner.__class__
            # (a middleware's class may not hash, a metaclass with __eq__: guarded)
            sign = _GONE_SIGNS.get(kind)
            if sign is None:
                module = kind.__module__
                sign = _GONE_SIGNS[kind] = (
                    "disconnected" if module.startswith("uvicorn.")
                    else _HYPERCORN if module.startswith("hypercorn.") else "")
            if sign == "":
                return False
            if sign is _HYPERCORN:
                return hypercorn_dead(owner)
            return getattr(owner, sign, False) is True
        if send.__class__ is not partial or not is_daphne_send(send):
            return False
        request = send.args[0]  # daphne: partial(server.handle_reply, request)
        return bool(getattr(request, "finished", False)) or getattr(
            request, "channel", True) is None
    except Exception:  # noqa: BLE001 - a look must never cost the app its send
        return False


def answered_version(send: Any, receive: Any = None) -> Optional[str]:
    """The version of the status line the server writes to an HTTP/1.0 request, where
    that is not the request's: uvicorn (h11 and httptools) and hypercorn (h11) always
    write ``HTTP/1.1`` (nginx's proxy_pass asks in HTTP/1.0 unless told otherwise);
    granian and daphne answer ``HTTP/1.0``. None: the request's.

    uvicorn is known by its ``receive`` too: a middleware outside whose ``send`` is a
    bound method of its own (Starlette's GZipMiddleware, added after the metrics one)
    hides the server's ``send``, not its ``receive``. (hypercorn's ``receive`` is an
    asyncio queue's: it is known by its ``send`` only.)"""
    if (_owner_module(send).startswith(("uvicorn.", "hypercorn."))
            or _owner_module(receive).startswith("uvicorn.")):
        return "HTTP/1.1"
    return None


#: A module each ASGI server loads once it serves HTTP/1.x -> the version of the status
#: line it writes to an HTTP/1.0 request (None: the request's): see answered_version.
_HTTP1_SERVING = {
    "uvicorn.protocols.http.h11_impl": "HTTP/1.1",
    "uvicorn.protocols.http.httptools_impl": "HTTP/1.1",
    "hypercorn.protocol.h11": "HTTP/1.1",
    "daphne.http_protocol": None,
    "granian._granian": None,
    "gunicorn.asgi.protocol": None,
}


def loaded_answered_version() -> Optional[str]:
    """:func:`answered_version` for a layer that never sees the server's ``send`` or
    ``receive`` (the Django middleware under Django's ASGI handler), from the ASGI
    servers loaded in the process: the version when every one of them answers so
    (uvicorn's HTTP/1 protocol loaded, or hypercorn's, and no other server's); None
    when none is known, or two that differ are loaded."""
    modules = sys.modules
    versions = {version for name, version in _HTTP1_SERVING.items() if name in modules}
    return versions.pop() if len(versions) == 1 else None


def loaded_sends_later_bodies() -> bool:
    """:func:`sends_later_bodies` for a layer that never sees the server's ``send`` (the
    Django middleware under Django's ASGI handler): daphne is the one ASGI server loaded."""
    return _daphne_alone()


def loaded_silent_on_cancel() -> bool:
    """:func:`silent_on_cancel` for the Django middleware, as
    :func:`loaded_sends_later_bodies`: daphne is the one ASGI server loaded."""
    return _daphne_alone()


def loaded_answers_500() -> bool:
    """For the Django middleware under Django's ASGI handler: an app's call the server
    ends with no response started gets the server's own 500 (hypercorn's, uvicorn's
    HTTP/1 protocols loaded: hypercorn did when a signal handler's raise ended its
    worker's loop, delivery57), not daphne alone (it closes the connection)."""
    modules = sys.modules
    return not _daphne_alone() and any(
        name in modules for name, version in _HTTP1_SERVING.items() if version)


def _daphne_alone() -> bool:
    modules = sys.modules
    return "daphne.http_protocol" in modules and not any(
        name in modules for name in _HTTP1_SERVING if not name.startswith("daphne."))


def cuts_stream_at_length(send: Any) -> bool:
    """Whether the server sends no more of a streamed body (its first message with
    ``more_body``) than the Content-Length the app declared, dropping the rest: granian
    (2.x), which sends a body given in one message whole. uvicorn and hypercorn refuse
    the message that would go past the length; daphne sends it all."""
    return _owner_module(send).startswith("granian.")


def closes_on_refused_start(send: Any) -> bool:
    """Whether the server, having refused the app's ``http.response.start`` (its
    ``send`` raised), closes the connection with no answer at all once the app's call
    ends: uvicorn (h11 and httptools), which marked its response started before it
    looked at the status and headers; hypercorn (h11) when the start broke its h11
    connection (a final 101 no client asked an upgrade for: h11 refuses it and its
    state is ERROR, so hypercorn's own 500 cannot go out either). Otherwise (hypercorn
    refusing a status that is no number) the server answers its own 500. Asked only
    for a refused start. Never raises."""
    try:
        owner = getattr(send, "__self__", None)
        module = type(owner).__module__
        if module.startswith("uvicorn."):
            return getattr(owner, "response_started", False) is True
        if module.startswith("hypercorn."):
            protocol, _ = hypercorn_connection(owner)
            state = getattr(getattr(protocol, "connection", None), "our_state", None)
            return getattr(state, "__name__", None) == "ERROR"
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        pass
    return False


def holds_start(send: Any) -> bool:
    """Whether the server writes the response head only with the first
    ``http.response.body`` message: granian (2.x). An app that raises, or returns,
    after its start and before any body message gets granian's own 500 instead (so
    does one whose second start granian refused)."""
    return _owner_module(send).startswith("granian.")


def ends_receive_with_response(receive: Any) -> bool:
    """Whether the server's ``receive`` answers ``http.disconnect`` once the response
    is complete, whatever request body is left unread: uvicorn (h11 and httptools).
    Other servers (hypercorn, granian) still give the body's messages then."""
    return _owner_module(receive).startswith("uvicorn.")


def reads_on_for_expect(receive: Any, send: Any) -> bool:
    """Whether the server, asked for a body sent with ``Expect: 100-continue`` once it
    answered without a 100, reads on from the connection whatever the client does:
    granian (2.x, hyper). A client that waited for the 100 and got the final answer
    instead may skip the body (RFC 9110 10.1.1) and send its next request: that is then
    read as this one's body, and lost. The bare app's server never asked for the body:
    it closes the connection (``connection: close``), unless the body came with the
    head. ``receive`` or ``send`` (the server's own) tells."""
    return _owner_module(receive).startswith("granian.") or holds_start(send)


def awaits_continue(receive: Any, send: Any) -> bool:
    """Whether the server would answer ``100 Continue`` to the next ``receive()`` of a
    request sent with ``Expect: 100-continue``: uvicorn (h11 and httptools) until the
    response start reaches it (its request cycle's ``waiting_for_100_continue``). That
    can be after the app's start went through the metrics middleware: a middleware
    outside it that holds the start (Starlette's ``GZipMiddleware``, until the first
    body message) keeps the server waiting. Reading then asks the client for a body the
    app never read. ``send`` is the server's own (:func:`.own_send`); uvicorn is known
    by its ``receive`` too. Never raises."""
    try:
        for method in (send, receive):
            owner = getattr(method, "__self__", None)
            if type(owner).__module__.startswith("uvicorn."):
                return getattr(owner, "waiting_for_100_continue", False) is True
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        pass
    return False
