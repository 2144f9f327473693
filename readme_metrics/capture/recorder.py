"""One exchange while it happens: timing, response, finish-once; then one pending record.

API for every adapter (WSGI, Django, ASGI), plain values only:

.. code-block:: python

    recorder = Recorder(pipeline.new_id(), config.max_body_bytes, BodyRecord(limit, length))
    recorder.request_body.feed(chunk)            # request chunks as they pass (bytes)
    recorder.respond(200, "OK", [("Content-Type", "text/plain")])  # response started
    recorder.record(chunk)                       # each response chunk (bytes), bounded
    recorder.omit_body(size)                     # or: body not recorded (sendfile)
    if recorder.finish():                        # True once only, whatever the thread
        pipeline.submit(recorder.pending(request_source, group))

``Pending`` is the one type every adapter queues: it keeps the raw pieces and becomes an
:class:`~readme_metrics.exchange.Exchange` only on the delivery worker; its ``nbytes``
counts everything it holds (request pieces, headers, bodies) for ``max_queue_bytes``.
Header strings are WSGI-style (bytes read as latin-1, or text), or the raw bytes of an
ASGI message; they are turned into text on the worker. A recorder whose response never
started logs status 500. A body the server must not send (an answer to HEAD, a 1xx, 204
or 304 status: RFC 9110 6.4.1) is not logged as sent, whatever the app gave, unless the
adapter knows its server sends it all the same and sets ``no_body`` back to False.
"""

from __future__ import annotations

import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union, cast

from readme_metrics.capture.body import BodyRecord, Kept
from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.request_head import RequestSource, environ_head
from readme_metrics.exchange import INVALID_STATUS, Exchange, Group

if TYPE_CHECKING:
    from readme_metrics.pipeline import MetricsPipeline

#: (keys, values, bytes) of a WSGI environ's strings, as environ_strings gives them.
EnvironStrings = tuple[tuple[str, ...], tuple[str, ...], int]

__all__ = ["Pending", "Recorder", "response_content_length", "sets_docs_url",
           "status_parts"]

#: The header the library adds to a logged response (SPEC 7), as WSGI (text) and ASGI
#: (bytes) name it.
_DOCS_NAME, _DOCS_NAME_BYTES = "x-documentation-url", b"x-documentation-url"


def sets_docs_url(headers: Any) -> bool:
    """True when the app's response headers, WSGI's (text names) or ASGI's (bytes), hold
    an ``x-documentation-url`` (any case): its own is kept and the library adds none, so
    the client never gets two (never raises)."""
    try:
        for name, _ in headers:
            if len(name) != 19:
                continue
            if isinstance(name, str):
                if name.lower() == _DOCS_NAME:
                    return True
            elif bytes(name).lower() == _DOCS_NAME_BYTES:
                return True
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        pass
    return False


_CONTENT_LENGTH = ("content-length", b"content-length")


def response_content_length(headers: Any) -> int:
    """The Content-Length the app declared (the last one, as waitress and gunicorn read
    them; WSGI's str pairs or ASGI's bytes); -1 when none can be read (never raises)."""
    length = -1
    try:
        for name, value in headers:
            if name.lower() in _CONTENT_LENGTH:
                length = int(value)
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        return -1
    return length


# RFC 9112 4: three ASCII digits; PEP 3333: one space, then the reason phrase (HTAB, SP,
# VCHAR, obs-text; a WSGI string holds bytes as latin-1). int() alone would read
# "2_00", "+200" or Arabic-Indic digits as 200, which no client ever sees.
_STATUS_LINE = re.compile(r"([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?")


#: Most statuses whose parts are remembered. An app answers with a handful; the bound
#: keeps one that makes up a reason per request from growing memory.
KNOWN_STATUSES = 64
#: status_parts' cache (the pattern costs as much again as the rest of start_response: run
#: it once per status): an adapter may read it first, where a call counts.
KNOWN_STATUS_PARTS: dict[str, tuple[int, str]] = {}
_known = KNOWN_STATUS_PARTS


def status_parts(status: object) -> tuple[int, str]:
    """``"404 Not Found"`` -> ``(404, "Not Found")``; the standard phrase when none is given.

    A status no status line can carry (``"abc"``, ``"2000 OK"``, ``""``, bytes) gives
    ``(INVALID_STATUS, <the status as text>)``; the HAR builder logs that as 500 with a
    comment. Never raises: the app's status goes on to the server to judge.
    """
    if status.__class__ is not str:  # a subclass's own __hash__ could raise: no cache
        return _parse_status(status)
    text = cast(str, status)
    known = _known.get(text)
    if known is None:
        known = _parse_status(text)
        if len(_known) < KNOWN_STATUSES:
            _known[text] = known
    return known


def _parse_status(status: object) -> tuple[int, str]:
    if not isinstance(status, str):
        return INVALID_STATUS, repr(status)
    match = _STATUS_LINE.fullmatch(status)
    if match is None:
        return INVALID_STATUS, str(status)
    code_text, reason = match.groups()
    code = int(code_text)
    return code, reason or reason_phrase(code)


def server_answer_comment(status: int, why: str, started: int) -> str:
    """The HAR response comment of a ``status`` the server answered itself (``why``, in
    a few words), with the app's own status ``started`` when it had one: as a 499's
    comment quotes it, so that a 400 or 500 no app code sent is not searched for there."""
    comment = f"the server answered {status} itself ({why}) and sent none of the app's answer"
    if 100 <= started <= 999:
        comment += f"; the app answered {started}"
    return comment


def reason_phrase(code: int) -> str:
    """The standard reason phrase of a status code ("" for an unknown one)."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


class Recorder:
    """Timing, response status/headers/body and finish-once of one exchange."""

    __slots__ = (
        "log_id", "begin", "responded", "status", "reason", "headers",
        "first", "kept", "kept_size", "body_size", "limit", "omitted", "request_body", "head",
        "no_body", "cut_at_length", "comment", "answered", "broke_off", "ended",
        "_unfinished", "left_with",
    )

    def __init__(self, log_id: str, limit: int,
                 request_body: Optional[BodyRecord] = None, head: bool = False) -> None:
        self.log_id = log_id
        self.head = head  # a HEAD request: its answer has no body
        # True once the response is one that has no body (HEAD, 1xx, 204, 304): servers
        # drop what the app sends (gunicorn, uvicorn), or send it where no client reads
        # it as the body (wsgiref), so none is logged as sent.
        self.no_body = False
        # True under a server that sends no more of the body than the Content-Length the
        # app declared (waitress, gunicorn): the log is cut there too, on the worker.
        self.cut_at_length = False
        # The HTTP version of the server's status line where it is not the request's
        # (wsgiref answers HTTP/1.0 to any request): see wsgi_response.answered_version.
        self.answered: Optional[str] = None
        # One clock on the request thread: the wall-clock start is derived on the worker.
        self.begin = time.perf_counter()
        self.limit = limit
        self.request_body = request_body
        self.responded = 0.0
        self.status = 0  # 0: no response started yet
        self.reason = ""
        self.headers: Sequence[tuple[str, str]] = ()
        # The kept response body, at most ``limit`` bytes (by reference: copying a large
        # body into a buffer and out again costs more than the rest of the path). Most
        # bodies are one chunk: ``first`` holds it, and a Kept is made only for a second.
        self.first = b""
        self.kept: Optional[Kept] = None
        self.kept_size = 0
        self.body_size = 0
        self.omitted = False
        # Why the logged status is not one the client read in a status line (HAR's
        # response comment): see :meth:`client_left`.
        self.comment: Optional[str] = None
        # True when the app's answer broke off: its head went out, and the app's call
        # ended (raised, or returned) before its body's end (see Exchange.response_body_cut).
        self.broke_off = False
        # True when the app's answer came to its end as the app gave it (the WSGI
        # iterable ran out, the last ASGI body message went out), with the client there:
        # a body shorter than its Content-Length is then the app's (see
        # Exchange.response_body_short).
        self.ended = False
        self._unfinished = True  # deleted by the first finish() (see there)

    def respond(self, status: int, reason: str, headers: Sequence[tuple[str, str]]) -> None:
        """The response started (or its status/headers changed before the body)."""
        self.status = status
        self.reason = reason
        self.headers = headers
        self.comment = None
        self.no_body = self.head or 100 <= status < 200 or status in (204, 304)
        if not self.responded:
            self.responded = time.perf_counter()

    def client_left(self, status: int, reason: str, comment: str, started: int = 0) -> None:
        """The client was gone before the response started, and got none of it: logged
        as ``status`` (a code no server sent), no headers or body, and ``comment``;
        ``started`` is the app's own status (0: none a status line could carry)."""
        self.respond(status, reason, ())
        self.comment = comment
        self.left_with = started  # set here only: read by server_answered()

    def server_answered(self, status: int, reason: str, why: str) -> None:
        """The server sent none of the app's answer and answered this itself instead: its
        status, none of the app's headers or body, and a HAR response comment saying so
        (``why``, and the status the app had started, which no client got: not the
        status :meth:`client_left` logged in its place, which no app sent)."""
        started = self.status
        if self.comment is not None:  # client_left()'s still stands (respond() clears it)
            started = getattr(self, "left_with", started)
        self._answered_instead(status, reason)
        self.comment = server_answer_comment(status, why, started)

    def no_answer(self, why: str, started: object, closed: bool = True) -> None:
        """The server sent no answer at all (``why``, in a few words; ``started``: the
        app's status, which no client got) and closed the connection (``closed``; else
        left it open): logged 500, as no status line said otherwise, with no headers or
        body and a comment saying so."""
        self._answered_instead(500, "Internal Server Error")
        self.comment = no_answer_comment(why, started, closed)

    def _answered_instead(self, status: int, reason: str) -> None:
        """Logged as ``status``, with none of the app's headers or body: what the app
        sends after this goes nowhere (granian's 500 for a final 1xx has no body, whatever
        the app's iterable or body messages hold)."""
        self.respond(status, reason, ())
        self.first, self.kept, self.kept_size = b"", None, 0
        self.body_size = 0
        self.no_body = True

    def record(self, chunk: bytes, sent: bool = False) -> None:
        """Count one response chunk and keep what fits under the limit. Never raises.
        A body HTTP allows none (``no_body``) is not, unless the adapter knows the server
        ``sent`` this chunk all the same (runserver's HEAD ``write()``).

        A chunk that is not bytes (None, an int from ``return b"..."``, a str) is the
        server's to judge: it must get it exactly as the app gave it, so nothing here
        may raise before it does (gunicorn sends the headers first, waitress skips None).
        """
        if self.no_body and not sent:
            return
        if chunk.__class__ is bytes:
            n = len(chunk)
            self.body_size += n
            kept_size = self.kept_size
            room = self.limit - kept_size
            if room <= 0 or not n:
                return
            part: Any = chunk[:room] if n > room else chunk
            if not kept_size:  # the first part (most bodies are one): held as it is
                self.first = part
                self.kept_size = n if n <= room else room
                return
        else:
            try:
                view = memoryview(chunk).cast("B")
            except (TypeError, ValueError):  # not a flat buffer: nothing to count
                return
            n = view.nbytes
            self.body_size += n
            room = self.limit - self.kept_size
            if room <= 0 or not n:
                return
            part = view[:room]  # Kept copies a mutable buffer
        kept = self.kept
        if kept is None:
            kept = Kept()
            if self.kept_size:
                kept.add(self.first)
            self.kept = kept  # once it holds the first (a record cut short: take_back)
        kept.add(part)
        self.kept_size = kept.size

    def take_back(self, size: int) -> None:
        """Count and keep nothing past the first ``size`` bytes of the body: what was
        recorded after them never went out (a chunk whose record an exception cut
        short, the server never handed it)."""
        if self.body_size > size:
            self.body_size = size
        # By what is kept, not kept_size: the cut may have come before it was counted.
        kept = self.kept_body()[:size]
        self.first, self.kept, self.kept_size = kept, None, len(kept)

    def kept_body(self) -> bytes:
        """The kept response body (at most ``limit`` bytes): the one chunk itself when
        there was one."""
        kept = self.kept
        return self.first if kept is None else kept.content()

    def omit_body(self, size: int) -> None:
        """The body goes out untouched by us (sendfile): log its size (-1 unknown), no text."""
        self.omitted = True
        self.body_size = 0 if self.no_body else size

    def fail(self) -> None:
        """The app raised: status 500 unless a response had started."""
        if not self.status:
            self.status, self.reason = 500, "Internal Server Error"

    def finish(self) -> bool:
        """True for the first call only (thread-safe): the caller then queues the log."""
        # Deleting a slot tests and clears it in one C call, under the GIL: of two
        # threads, one deletes and the other gets AttributeError. No lock to take and
        # give back on every request (nor to renew in a forked child).
        try:
            del self._unfinished
        except AttributeError:
            return False
        return True

    def pending(self, request: RequestSource, group: Group) -> Pending:
        """The record to queue, timed now."""
        return Pending(self, request, group, time.perf_counter())

    def queue_cut_at_exit(self, pipeline: MetricsPipeline, request: RequestSource,
                          group: Group, ended: bool) -> None:
        """At exit, the response still open (a stream the server was still sending when
        the process was stopped, or one a server never closes): queue the log of what
        was recorded by then, its body marked incomplete unless ``ended`` (its iteration
        reached its end). Only queued: the exit flush that comes next sends it, within
        its bound. For the WSGI and Django middlewares' exit, once :meth:`finish` said
        so and the grouping function has answered: no code of the app's, no read."""
        self.broke_off = not ended
        pipeline.submit(CutAtExit(self, request, group, time.perf_counter()), False)


def _text(value: object) -> str:
    """A header name or value as a WSGI-style string (ASGI gives bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    return str(value)


def response_header_text(pairs: Sequence[tuple[object, object]]) -> list[tuple[str, str]]:
    """Response headers as text: names as WSGI-style strings, values as UTF-8 text when
    that is what their bytes were (see :func:`header_text`); what is no pair is left out."""
    out = []
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            # Not a (name, value) pair: no server sends it as a header (werkzeug's takes
            # it and fails while writing), and the app's call still gets its log.
            continue
        # ASCII strings, the usual case, are already what the log shows.
        if name.__class__ is not str:
            name = _text(name)
        if value.__class__ is not str or not value.isascii():
            value = header_text(_text(value))
        out.append((name, value))
    return out


def no_answer_comment(why: str, started: object, closed: bool = True) -> str:
    """The HAR response comment of an exchange no answer reached (see
    :meth:`Recorder.no_answer`)."""
    comment = f"no answer reached the client: the server {why}"
    if closed:
        comment += " and closed the connection"
    if isinstance(started, int) and 100 <= started <= 999:
        comment += f"; the app answered {started}"
    return comment


class Pending:
    """What the request thread queues: raw pieces; the worker builds the Exchange.

    ``request`` is a :class:`~readme_metrics.capture.request_head.RequestSource`, or, for a
    WSGI environ read with no proxy trusted, what
    :func:`~readme_metrics.capture.environ_strings.environ_strings` gave: (keys, values,
    bytes), taken as it is (no object per request for it). The response headers are
    taken as they are when they are a tuple (the WSGI middleware's own copy), else
    copied.
    """

    __slots__ = (
        "request", "log_id", "begin", "group", "request_body", "request_body_size",
        "request_body_incomplete", "request_body_declared", "request_body_read", "status",
        "reason", "response_headers",
        "response_body", "response_body_size", "response_body_omitted", "cut_at_length",
        "comment", "responded", "finished", "nbytes", "answered", "broke_off", "ended",
    )

    def __init__(self, recorder: Recorder, request: Union[RequestSource, EnvironStrings],
                 group: Group, finished: float) -> None:
        self.request = request
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
            # The length the client declared, for an incomplete body's comment (-1: none).
            declared = body.declared
            self.request_body_declared = (None if not body.incomplete
                                          else -1 if declared is None else declared)
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
        self.response_headers = headers
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
        self.ended = recorder.ended and bodied and not recorder.broke_off
        # Clock readings (a response never started: the end); the worker makes them the
        # log's times (to_exchange).
        self.responded = recorder.responded or finished
        self.finished = finished
        # A loop, not sum(map(len, chain.from_iterable(headers))): for the few pairs of
        # a response, the three iterator objects cost more than the loop (about 2.5k
        # instructions against 1k for three pairs).
        header_bytes = 0
        try:
            for name, value in headers:
                header_bytes += len(name) + len(value)
        except (TypeError, ValueError):  # no pairs of strings: the server refuses them
            header_bytes = 0  # count nothing
        self.nbytes = ((request[2] if request.__class__ is tuple
                        else request.nbytes)  # type: ignore[union-attr]
                       + header_bytes + len(self.request_body) + len(self.response_body))

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
        self.comment = no_answer_comment(why, started)

    def to_exchange(self) -> Exchange:
        """The plain-data record (on the worker: parsing happens here, not per request)."""
        request = self.request
        method, url, http_version, headers, client_ip = (
            environ_head(request[0], request[1])
            if request.__class__ is tuple else request.head())  # type: ignore[union-attr]
        body, size = self.response_body, self.response_body_size
        if self.cut_at_length:
            length = response_content_length(self.response_headers)
            if 0 <= length < size:  # what the server sent
                body, size = body[:length], length
        cut = None
        short = False
        if self.broke_off:
            length = response_content_length(self.response_headers)
            if length < 0 or size < length:  # else the client got all it was told of
                cut = length
        elif self.ended and self.response_headers and method != "HEAD":
            # (A HEAD answer's Content-Length is the GET's, RFC 9110 9.3.2: no client
            # reads a body for it, whatever the server sends.)
            length = response_content_length(self.response_headers)
            if size < length:  # the app's whole answer is short of its own length
                cut, short = length, True
        begin, finished, status = self.begin, self.finished, self.status
        wait = self.responded - begin
        if not wait > 0.0:
            wait = 0.0
        duration = finished - begin
        # Positionally, in Exchange's field order (tests/test_capture.py pins it): a
        # call by 20 keywords costs the worker about 5k instructions more per log.
        return Exchange(
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
            response_header_text(self.response_headers),  # response_headers
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


class CutAtExit(Pending):
    """A :class:`Pending` of a response the process exited while it was still being sent:
    its exchange says so (``Exchange.response_cut_at_exit``). Made only at exit: the
    usual path pays nothing for it."""

    __slots__ = ()

    def to_exchange(self) -> Exchange:
        exchange = Pending.to_exchange(self)
        exchange.response_cut_at_exit = True
        return exchange
