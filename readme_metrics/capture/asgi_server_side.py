"""What the server did with the app's response messages, and knows of the connection.

The response side's answers to the request side's questions (:mod:`.asgi_receive`: is
the head written, has the client half-closed, which transport does the server read,
may a body sent with ``Expect: 100-continue`` be read) and what a ``send`` the server
refused or a cancellation inside it leaves in the log (a start refused, a status it
could not write, a body short of its length). :class:`ServerSide` sits between
:class:`~.asgi_end.LogSide` and :class:`~.asgi_exchange.ASGIExchange`, whose ``send``
calls these; moved from there, as is (no call more per message).
"""

from __future__ import annotations

import time
from typing import Any

from readme_metrics.asgi_types import Message
from readme_metrics.capture.asgi_end import LogSide
from readme_metrics.capture.asgi_messages import content_length
from readme_metrics.capture.asgi_server_quirks import (
    awaits_continue,
    closes_on_refused_start,
    holds_start,
    reads_on_for_expect,
)
from readme_metrics.capture.asgi_servers import (
    hypercorn_half_closed,
    server_transport,
    uvicorn_half_closed,
)
from readme_metrics.exchange import INVALID_STATUS

__all__ = ["ServerSide"]


class ServerSide(LogSide):
    """What the server did with the response side's messages (see the module's
    docstring); the state it writes is in its slots (set by
    :class:`~.asgi_exchange.ASGIExchange`), the rest is that class's."""

    __slots__ = ("_ended", "_starting", "_bodied", "_odd_status")

    _odd_status: Any

    def _head_written(self) -> bool:
        """Whether the server has written the response head: once it took the start,
        but under granian (:func:`.holds_start`) only with the first body message."""
        return self._starting and (self._bodied or not holds_start(self._own))

    def _half_closed(self) -> bool:
        """Whether the client has shut its side and the server has not read that yet:
        uvicorn's (from its ``receive``) or hypercorn's HTTP/1 one (from its ``send``)."""
        return (uvicorn_half_closed(self._receive)
                or hypercorn_half_closed(getattr(self._own, "__self__", None)))

    def _server_transport(self) -> Any:
        """The asyncio transport uvicorn or hypercorn (HTTP/1) reads the connection
        through (:func:`.server_transport`)."""
        return server_transport(self._receive, getattr(self._own, "__self__", None))

    def _expect_readable(self) -> bool:
        """Whether a body sent with ``Expect: 100-continue`` may be read now: never
        under granian (:func:`.reads_on_for_expect`), and not while the server would
        answer 100 Continue to the read (:func:`.awaits_continue`: uvicorn, its start
        held by a middleware outside this one)."""
        return not (reads_on_for_expect(self._receive, self._own)
                    or awaits_continue(self._receive, self._own))

    def _status_refused(self) -> None:
        """The server refused the first body message after taking a start whose status
        was no int: it had kept the start, to write it with that message (daphne), and
        sent none of it. The status is logged as the app gave it (500, with a comment)."""
        status = self._odd_status
        if status is not None and not self._bodied:
            self.recorder.respond(INVALID_STATUS, repr(status), self.recorder.headers)

    def _short_of_length(self, chunk: Any) -> bool:
        """Whether the last body message the server refused ends the body short of the
        Content-Length the app declared: uvicorn (h11 and httptools) and hypercorn write
        its bytes, then refuse to end the response (h11: "Too little data for declared
        Content-Length") and close the connection; the client got them. (A message
        taking the body past the length is refused before any byte is written, and so
        is one before the start or after the end.)"""
        if not self._starting or self._ended:
            return False
        declared = content_length(self.recorder.headers)
        try:
            return self.recorder.body_size + len(chunk) < declared
        except TypeError:  # not bytes: refused as such
            return False

    def _ended_within_send(self, chunk: Any, gone: bool) -> None:
        """The app's last body message was cancelled inside the server's ``send``, which
        told the app ``http.disconnect`` meanwhile: the server had taken it and ended
        the response. hypercorn's trio worker does so once the response is written
        (its stream closed); Starlette's ``FileResponse`` and ``StreamingResponse``,
        listening for the disconnect in a task group, then cancel the sending task
        before the ``send`` returns. The client got that message: it is logged as sent,
        and the response as ended then."""
        self._bodied = True
        if not gone:
            self._record(chunk)
        self._ended = time.perf_counter()

    def _record(self, chunk: Any, sent: bool = False) -> None:
        try:
            self.recorder.record(chunk, sent)
        except Exception:  # not bytes: the server will tell the app, not us
            pass

    def _start_refused(self, message: Message) -> None:
        """The server refused the app's start (a status or header it cannot write), and
        raised into the app: the head never went out. hypercorn answers its own 500 once
        the app's call ends (logged so: no status was recorded); uvicorn, and hypercorn
        whose h11 connection the start broke (a final 101 no client asked for), close
        the connection with no answer at all (:func:`.closes_on_refused_start`)."""
        self._starting = False
        if closes_on_refused_start(self._own):
            self.recorder.no_answer("refused the app's start", message.get("status"))
