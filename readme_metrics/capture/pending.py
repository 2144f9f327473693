"""The one record every adapter queues: an exchange's raw pieces, made an
:class:`~readme_metrics.exchange.Exchange` only on the delivery worker.

:class:`Pending` takes what a :class:`~readme_metrics.capture.recorder.Recorder` holds
when the exchange ends (by reference, no copy of a body) and counts the bytes it holds
(``nbytes``, for ``max_queue_bytes``); :class:`CutAtExit` is one whose response the
process exited while it was still being sent; :class:`Remade` one made again once
queued (:func:`remake`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from readme_metrics.capture.answer_comments import no_answer_comment
from readme_metrics.capture.environ_strings import Values
from readme_metrics.capture.request_head import RequestSource, environ_head
from readme_metrics.capture.response_headers import joined_header_read, response_header_read
from readme_metrics.exchange import Exchange, Group

if TYPE_CHECKING:
    from readme_metrics.capture.recorder import Recorder

#: (keys, values, bytes) of a WSGI environ's strings, as environ_strings gives them (the
#: values a tuple, or one string of them joined).
EnvironStrings = tuple[tuple[str, ...], Values, int]

__all__ = ["CutAtExit", "EnvironStrings", "LEFT_IN_WRITE", "Pending", "Remade", "remake"]

#: ``Recorder.left`` (else a bool) when the server's write of a chunk of the answer raised
#: as the client was gone (WSGI): that chunk did not all reach the client, so the log says
#: it left even where the chunks taken add up to the Content-Length (capture13).
LEFT_IN_WRITE = 2


class Pending:
    """What the request thread queues: raw pieces; the worker builds the Exchange.

    ``request`` is a :class:`~readme_metrics.capture.request_head.RequestSource`, or, for a
    WSGI environ read with no proxy trusted, what
    :func:`~readme_metrics.capture.environ_strings.environ_strings` gave: (keys, values,
    bytes), kept as two slots (``request`` the keys, ``request_values`` the values; None
    for a RequestSource), not as the tuple: one GC container less a queued log (cpu24).
    The values are one string where they can be, and so are the response headers
    (``to_exchange`` splits them): a queued small GET holds one GC
    container, itself (cpu34), where it held four, each counted by the cyclic GC on the
    request thread while the queue is deep.
    """

    __slots__ = (
        "request", "request_values", "log_id", "begin", "group", "request_body",
        "request_body_size", "request_body_incomplete", "request_body_declared",
        "request_body_read", "status", "reason", "response_headers",
        "response_body", "response_body_size", "response_body_omitted", "cut_at_length",
        "comment", "responded", "finished", "nbytes", "answered", "broke_off", "ended",
        "left", "handed",  # (handed: set by Batcher.put only, read with getattr)
    )

    def __init__(self, recorder: Recorder, request: Union[RequestSource, EnvironStrings],
                 group: Group, finished: float) -> None:
        # The 3-tuple is unpacked, not kept: it dies with the request's capture, on the
        # request thread, and the queue holds one container fewer a log until a sender
        # frees it (tests/test_cpu24_queued_containers.py).
        self.request: Union[RequestSource, tuple[str, ...]]
        self.request_values: Optional[Values]
        if request.__class__ is tuple:  # (environ_strings' own; a RequestSource is none)
            self.request, self.request_values, nbytes = request
        else:
            self.request, self.request_values = request, None  # type: ignore[assignment]
            nbytes = request.nbytes  # type: ignore[union-attr]
        self.log_id = recorder.log_id
        self.begin = recorder.begin
        self.group = group
        body = recorder.request_body
        if body is None:
            self.request_body, self.request_body_size = b"", 0
            self.request_body_incomplete = False
            self.request_body_declared: Optional[int] = None
            self.request_body_read: Optional[int] = None
        else:
            # No bytes seen, none kept (an ASGI GET's ended record): no call for them.
            self.request_body = body.content() if body.size else b""
            self.request_body_size = body.body_size
            self.request_body_incomplete = body.incomplete
            # The length the client declared, for an incomplete body's comment (-1: none;
            # WITHHELD_CHUNKED: uWSGI kept it out of wsgi.input).
            declared = body.declared
            self.request_body_declared = (None if not body.incomplete
                                          else body.unknown if declared is None else declared)
            # A body neither the app nor the capture read to its end (the capture stops
            # at max_body_bytes): how much was read, for its comment.
            self.request_body_read = (body.size if not (body.eof or body.incomplete)
                                      and body.size and body.room <= 0 else None)
        # As the recorder has them (0: no response started); the worker reads them.
        self.status = recorder.status
        self.reason = recorder.reason
        headers = recorder.headers
        if headers.__class__ is not tuple:  # a list may still change: this one won't
            headers = list(headers)
        # One kept chunk (the usual case) is handed over as is, no copy (kept_body(),
        # read here without a call).
        kept = recorder.kept
        self.response_body = recorder.first if kept is None else kept.content()
        self.response_body_size = recorder.body_size
        self.response_body_omitted = recorder.omitted
        self.cut_at_length = recorder.cut_at_length
        self.answered = recorder.answered
        self.comment = recorder.comment
        # (A status the server answered itself, or a client gone before the start, has
        # a comment and none of the app's body.)
        bodied = recorder.comment is None and not (recorder.no_body or recorder.omitted)
        self.broke_off = recorder.broke_off and bodied
        # (A client gone mid-answer ended it: not the app, nor a short Content-Length.)
        left = self.left = bodied and recorder.left  # (LEFT_IN_WRITE kept as it is)
        self.ended = recorder.ended and bodied and not (recorder.broke_off or left)
        # Clock readings (a response never started: the end); the worker makes them the
        # log's times (to_exchange).
        self.responded = recorder.responded or finished
        self.finished = finished
        # The pairs' strings as one, joined by NUL (to_exchange splits it): a
        # string is no GC container, where the tuple and each pair made for this
        # response (the x-documentation-url one) are, counted by the cyclic GC on the
        # request thread until a sender frees them (cpu34). Pairs of strings holding no
        # NUL only; else (never from a server that sends them) kept as they are. The NUL
        # looked for by one memchr over their plain join, not counted char by char in
        # the joined text (cpu36: a count walks all of a large header's text).
        parts: list[object] = []
        add = parts.append
        try:
            for name, value in headers:
                add(name)
                add(value)
            # (An ASGI answer's pairs are bytes: kept as they are, asked first, not by a
            # TypeError raised and caught on each usual exchange; test_asgi's
            # raises-nothing test, CI79.)
            text = ("\0".join(parts)  # type: ignore[arg-type]
                    if not parts or parts[0].__class__ is str else None)
        except (TypeError, ValueError):  # no pairs of strings: the server refuses them
            text = None
        gaps = len(parts) - 1
        self.response_headers: Union[str, tuple[Any, ...], list[Any]]
        if text is None:
            self.response_headers = headers
            header_bytes = 0  # count nothing
            try:
                for name, value in headers:
                    header_bytes += len(name) + len(value)
            except (TypeError, ValueError):
                header_bytes = 0
        elif gaps < 0:  # none
            self.response_headers = ()
            header_bytes = 0
        else:
            self.response_headers = text if "\0" not in "".join(parts) else headers  # type: ignore[arg-type]
            header_bytes = len(text) - gaps
        self.nbytes = (nbytes + header_bytes + len(self.request_body) + len(self.response_body))

    def unanswered(self, why: str) -> None:
        """:meth:`Recorder.no_answer` on this record, once made: at exit, for a request
        whose thread may still be setting its status and headers (start_response), which
        the record made after marking the recorder then took instead (a 200 logged for
        an answer that never went out)."""
        started = self.status
        self.status, self.reason = 500, "Internal Server Error"
        self.response_headers = ()
        self.response_body, self.response_body_size = b"", 0
        self.response_body_omitted = self.cut_at_length = self.broke_off = False
        self.left = False
        self.comment = no_answer_comment(why, started)

    def to_exchange(self) -> Exchange:
        """The plain-data record (on the worker: parsing happens here, not per request)."""
        values = self.request_values
        method, url, http_version, headers, client_ip = (
            self.request.head() if values is None  # type: ignore[union-attr]
            else environ_head(self.request, values))  # type: ignore[arg-type]
        body, size = self.response_body, self.response_body_size
        # The headers as text and their Content-Length (-1: none), read once (cpu18).
        pairs: Any = self.response_headers
        response_headers, length = (joined_header_read(pairs) if pairs.__class__ is str
                                    else response_header_read(pairs))  # (str: joined above)
        if self.cut_at_length and 0 <= length < size:  # what the server sent
            body, size = body[:length], length
        cut = None
        short = False
        if self.broke_off:
            if length < 0 or size < length:  # else the client got all it was told of
                cut = length
        elif self.ended and self.response_headers and method != "HEAD" and size < length:
            # The app's whole answer is short of its own length. (A HEAD answer's
            # Content-Length is the GET's, RFC 9110 9.3.2: no client reads a body for it,
            # whatever the server sends.)
            cut, short = length, True
        begin, finished, status = self.begin, self.finished, self.status
        wait = self.responded - begin
        if not wait > 0.0:
            wait = 0.0
        duration = finished - begin
        # Positionally, in Exchange's field order (tests/test_capture.py pins it): a
        # call by 20 keywords costs the worker about 5k instructions more per log.
        exchange = Exchange(
            self.log_id,  # id
            # started: the request's wall-clock start, now less the time since it began
            time.time() - (time.perf_counter() - begin),
            method,
            url,
            http_version,
            headers,  # request_headers
            client_ip,
            self.group,
            self.request_body,
            self.request_body_size,
            self.request_body_incomplete,
            status or 500,  # status; no response started: the server's 500
            self.reason if status else "Internal Server Error",  # status_text
            response_headers,
            body,  # response_body
            size,  # response_body_size
            self.response_body_omitted,
            self.comment,  # response_comment
            wait,
            duration if duration > wait else wait,  # duration
            self.answered,  # response_http_version
            cut,  # response_body_cut
            False,  # response_cut_at_exit
            self.request_body_declared,
            short,  # response_body_short
            self.request_body_read,
        )
        # (Rare: set after, as CutAtExit does.) A client gone once it had all the
        # Content-Length told it, or after a HEAD answer's head (no body to read: RFC
        # 9110 9.3.2), left nothing unread: no word (CI37: review56's whole answer,
        # twins19's HEAD under werkzeug, when the client's close reached the server
        # before the app's end). But a write that failed (LEFT_IN_WRITE) delivered not
        # all of its chunk.
        if self.left and method != "HEAD" and (
                length < 0 or size < length or self.left == LEFT_IN_WRITE):
            exchange.response_client_left = True
        return exchange


class CutAtExit(Pending):
    """A :class:`Pending` of a response the process exited while it was still being sent:
    its exchange says so (``Exchange.response_cut_at_exit``). Made only at exit: the
    usual path pays nothing for it."""

    __slots__ = ()

    def to_exchange(self) -> Exchange:
        exchange = Pending.to_exchange(self)
        exchange.response_cut_at_exit = True
        return exchange


#: What each :class:`Remade` (by its id, while it lives) became.
_REMADE: dict[int, Pending] = {}


class Remade(Pending):
    """A :class:`Pending` made again (:func:`remake`): built from the record it became."""

    __slots__ = ()

    def to_exchange(self) -> Exchange:
        return _REMADE[id(self)].to_exchange()

    # (The dict's pop bound here: at the interpreter's end the module's globals may be
    # cleared first, and a finalizer's error is printed.)
    def __del__(self, _forget: Callable[..., object] = _REMADE.pop) -> None:
        _forget(id(self), None)


def remake(pending: Pending, made: Pending) -> None:
    """``pending``, made (queued, or held to be: a sender may be building it this very
    instant), becomes ``made``. Never changed in place: a build under way read it half
    old, half new (the view's 200 with the comment of the answer that replaced it, a 500
    with the view's body: delivery58, 29 of a sweep's 44 landing points in the build), or
    had read it all before the change (the view's 200: 11 of 44). Switched whole
    instead: ``made`` kept aside, then the class, one store. A build begun after it
    builds ``made``; one begun before builds the old record whole, and builds again once
    it sees the class changed (``pipeline._build``). Only a sender past its build (its
    POST encoded or on its way) posts the old one. Its counts (``nbytes``) and whether
    it was queued (``handed``) stay the old record's. Once: a second call does nothing."""
    if pending.__class__ is Remade:
        return
    _REMADE[id(pending)] = made
    pending.__class__ = Remade
