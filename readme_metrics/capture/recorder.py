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

``Pending`` (:mod:`.pending`) is the one type every adapter queues: it keeps the raw
pieces and becomes an :class:`~readme_metrics.exchange.Exchange` only on the delivery
worker; its ``nbytes`` counts everything it holds (request pieces, headers, bodies) for
``max_queue_bytes``. The status line is read here (:func:`status_parts`); the headers in
:mod:`.response_headers`, the comment of an answer the app did not give in
:mod:`.answer_comments`. Header strings are WSGI-style (bytes read as latin-1, or text),
or the raw bytes of an ASGI message; they are turned into text on the worker. A recorder
whose response never started logs status 500. A body the server must not send (an answer
to HEAD, a 1xx, 204 or 304 status: RFC 9110 6.4.1) is not logged as sent, whatever the
app gave, unless the adapter knows its server sends it all the same and sets ``no_body``
back to False.
"""

from __future__ import annotations

import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional, Sequence, cast

from readme_metrics.capture.answer_comments import no_answer_comment, server_answer_comment
from readme_metrics.capture.body import BodyRecord, Kept
from readme_metrics.capture.pending import CutAtExit, EnvironStrings, Pending
from readme_metrics.capture.request_head import RequestSource
from readme_metrics.capture.response_headers import (
    response_content_length,
    response_header_text,
    sets_docs_url,
)
from readme_metrics.exchange import INVALID_STATUS, Group

if TYPE_CHECKING:
    from readme_metrics.pipeline import MetricsPipeline

# Pending, CutAtExit and the header and comment helpers are pending's, response_headers'
# and answer_comments': importable from here too, as they always were.
__all__ = ["CutAtExit", "EnvironStrings", "Pending", "Recorder", "no_answer_comment",
           "response_content_length", "response_header_text", "server_answer_comment",
           "sets_docs_url", "status_parts"]

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
        "no_body", "cut_at_length", "comment", "answered", "broke_off", "ended", "left",
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
        # True when the client left after the answer started, before its end: what the
        # app sent later reached no one (see Exchange.response_client_left);
        # pending.LEFT_IN_WRITE when the server's write of a chunk failed then (WSGI).
        self.left: int = False
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

    def finished(self) -> bool:
        """Whether :meth:`finish` was called (the log queued, or being)."""
        return not hasattr(self, "_unfinished")

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
