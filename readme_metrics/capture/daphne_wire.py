"""What daphne's connection wrote of an answer at its stop (delivery69).

daphne hands what the app sends to Twisted, whose TCP transport buffers it until the
loop finds the socket writable. At daphne's stop the reactor closes every connection
(its ``disconnectAll``) as soon as the app instances it cancelled ended ("Killed N
pending application instances"), and what a transport still buffered then never
reaches the kernel: the client of an answer sent just before gets nothing, though
daphne's request had it started and finished (its access log says 200). The bare app's
client as well: the order is daphne's, not the middleware's. A Django handler that
daphne's stop cancelled leaves the chain's task to send the view's answer just so
(:func:`readme_metrics.django_abandoned.await_verdict`): :func:`daphne_wire` reads the
request's transport, and :meth:`DaphneWire.settle` has the log wait, where the task
ended with bytes of it still buffered, until the stop closed the connection (a Twisted
shutdown trigger), whose buffers then say whether the answer went out whole, in part or
not at all (:meth:`DaphneWire.went_out`); in part, how much of its body
(:meth:`DaphneWire.body_sent`): the log's body is cut there, broken off (delivery77;
before, the whole body, the client having its first 64 KiB of 1 MB).

Only daphne's plain TCP (or UNIX socket) transport is read: one under TLS or HTTP/2
buffers elsewhere (then nothing is known held, and the answer taken went out).
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any, Optional

from readme_metrics.capture.chunked_tail import body_start, data_held

__all__ = ["ALL", "NONE", "PART", "UNWRITTEN", "DaphneWire", "daphne_wire"]

#: :meth:`DaphneWire.went_out`: the whole answer reached the kernel, none of it, or its
#: start only.
ALL, NONE, PART = "all", "none", "part"

#: Why no answer reached the client of one daphne took (:meth:`DaphneWire.log_went_out`).
UNWRITTEN = "closed the connection at its stop with the app's answer still unwritten"


class DaphneWire:
    """daphne's request (``partial(Server.handle_reply, request)``'s) and its connection's
    Twisted transport (None: not a plain one), read as the log's verdict needs. Never
    raises."""

    __slots__ = ("request", "transport")

    def __init__(self, request: Any, transport: Any) -> None:
        self.request = request
        self.transport = transport

    def started(self) -> bool:
        """Whether daphne took a response start for the request (the view's: nothing
        else answers it; a reply once the connection closed is dropped unstarted)."""
        return getattr(self.request, "_response_started", False) is True

    def held(self) -> bool:
        """Whether the transport buffers bytes it has not handed to the kernel: what a
        stop's close drops (or dropped: the buffers stay as they were)."""
        try:
            return self.transport is not None and self._unwritten() > 0
        except Exception:  # noqa: BLE001 - an odd transport: nothing known held
            return False

    def settle(self, capture: Any) -> None:
        """Once the chain's task ended with the view's answer :meth:`held`, at daphne's
        stop: ``capture`` (the Django middleware's) logged as what went out once the
        stop closed the connection (Twisted's shutdown trigger, after its
        ``disconnectAll``), or now where it was closed already. Its ``verdict`` is this
        wire until then: its finish by any other way (the response's finalizer) waits
        for this. Never raises."""
        try:
            capture.verdict = self
            reactor = sys.modules.get("twisted.internet.reactor")  # (never imported)
            if getattr(self.transport, "disconnected", False) or reactor is None:
                self.decide(capture)
            else:
                reactor.addSystemEventTrigger("after", "shutdown", self.decide, capture)
        except Exception:  # noqa: BLE001 - an odd reactor: the log as recorded
            self.decide(capture)

    def decide(self, capture: Any) -> None:
        """``capture``'s log, its connection closed (or the loop ended): what went out
        (:meth:`log_went_out`), and finished. Once. Never raises."""
        try:
            if capture.verdict is not self:
                return
            capture.verdict = False
            if not capture.recorder.finished():
                self.log_went_out(capture.recorder)
                capture.finish()
        except Exception:  # noqa: BLE001 - never into Twisted's shutdown
            pass

    def log_went_out(self, recorder: Any) -> None:
        """The log of the answer daphne took, once the loop writes no more of it: the
        stop's close dropped all of it (no answer: the bare app's client gets none
        either; before delivery69, the app's status as sent) or a part (its body cut
        where the client's stopped, and broken off: as an answer a stop cut elsewhere),
        or it went out (as recorded)."""
        went = self.went_out()
        if went == NONE:
            recorder.no_answer(UNWRITTEN, recorder.status, closed=False)
        elif went == PART:  # (before delivery77, the whole body: the client got a part)
            recorder.broke_off = True
            sent = self.body_sent()
            if sent is not None:
                recorder.take_back(sent)

    def went_out(self) -> str:
        """Once the loop writes no more of it (the connection closed, or the loop
        ended), what of the answer reached the kernel, for the client: :data:`ALL`
        (nothing left in the buffers), :data:`NONE` (all of it still buffered: its whole
        body, and before it its head from its status line on), :data:`PART` (its start
        went out). The buffers may hold an earlier answer's end before it, a pipelined
        request's (delivery84; before, its bytes taken for this answer's start: "in
        part", the client having none of it)."""
        try:
            if self.transport is None or self._unwritten() == 0:
                return ALL
            request, held = self.request, self._held()
            start = self._body_start(held)
            if start is None:
                return PART
            at = held.rfind(b"%s %d " % (request.clientproto, request.code), 0, start)
            return NONE if at >= 0 and held.find(b"\r\n\r\n", at) == start - 4 else PART
        except Exception:  # noqa: BLE001 - an odd transport: as the app's answer
            return ALL

    def body_sent(self) -> Optional[int]:
        """Once the loop writes no more of it, how many bytes of the answer's body reached
        the kernel: those daphne wrote (Twisted's ``sentLength``) less those still in the
        buffers (their chunks' framing apart, :func:`.chunked_tail.data_held`; with a
        Content-Length, all the buffers hold past the head). None where unknown."""
        try:
            request, transport = self.request, self.transport
            written = request.sentLength
            if transport is None or written.__class__ is not int:
                return None
            held = self._held()
            if request.chunked:
                left = data_held(held, bool(request.finished), written)
            else:  # (the body is the buffers' end: all of it, where they hold the head too)
                left = len(held) if len(held) <= written else written
            return written - left
        except Exception:  # noqa: BLE001 - an odd transport or request: not known
            return None

    def _body_start(self, held: bytes) -> Optional[int]:
        """Where the answer's body starts in ``held`` (the buffers: the answer is the
        connection's last), where they hold the whole body; else None."""
        request = self.request
        written = request.sentLength
        if request.chunked:
            return body_start(held, bool(request.finished), written)
        return len(held) - written if len(held) >= written else None

    def _held(self) -> bytes:
        transport = self.transport
        return transport.dataBuffer[transport.offset:] + b"".join(transport._tempDataBuffer)

    def _unwritten(self) -> int:
        transport = self.transport
        return (len(transport.dataBuffer) - transport.offset) + transport._tempDataLen


def daphne_wire(send: object) -> Optional[DaphneWire]:
    """The wire of daphne's request whose ``send`` this is (daphne's
    ``partial(Server.handle_reply, request)``), read while the request still has its
    channel (daphne's finish takes it away): None where it is not daphne's. Never
    raises."""
    try:
        request = send.args[0] if isinstance(send, partial) and send.args else None
        if not isinstance(getattr(request, "_response_started", None), bool):
            return None
        transport = getattr(getattr(request, "channel", None), "transport", None)
        plain = (isinstance(getattr(transport, "dataBuffer", None), bytes)
                 and isinstance(getattr(transport, "_tempDataBuffer", None), list)
                 and isinstance(getattr(transport, "offset", None), int)
                 and isinstance(getattr(transport, "_tempDataLen", None), int))
        return DaphneWire(request, transport if plain else None)
    except Exception:  # noqa: BLE001 - an odd send: not daphne's
        return None
