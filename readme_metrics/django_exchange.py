"""One exchange under the Django middleware: Django's request and response objects
translated for the shared capture core (:mod:`readme_metrics.django` holds the
middleware, its settings and its steps).

What it translates: ``request.META`` into WSGI strings (the raw path bytes back from
Django's decoded text), the request's stream into a :class:`~.capture.stream_tee.StreamTee`
that keeps a copy while the view reads, what the grouping function is lent of the body,
the response's status, headers and cookies, and its streamed chunks (sync or async);
the log is finished once, when the answer ends or the response is closed (a response
dropped unclosed hands it over: ``capture/unclosed.py``). META as WSGI strings is
:mod:`readme_metrics.django_meta`', the response's end (streamed chunks, the finish at
close) :mod:`readme_metrics.django_streams`', its log when cut short (a raise as it is
queued, the process's exit) :mod:`readme_metrics.django_cut`'.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Optional

from django.http import HttpRequest, HttpResponseBase

from readme_metrics.capture import unclosed
from readme_metrics.capture.asgi_inline import InlineSends
from readme_metrics.capture.asgi_scope import scope_version
from readme_metrics.capture.asgi_server_quirks import (
    loaded_answered_version,
    loaded_sends_later_bodies,
)
from readme_metrics.capture.body import GRACE, BodyRecord
from readme_metrics.capture.daphne_wire import DaphneWire
from readme_metrics.capture.pending import Pending
from readme_metrics.capture.recorder import Recorder
from readme_metrics.capture.request_head import EnvironRequest
from readme_metrics.capture.request_headers import chunked_coding, content_length
from readme_metrics.capture.stream_tee import StreamTee
from readme_metrics.capture.wsgi_response import (
    ANSWERS_OWN_VERSION,
    answered_version,
    cuts_at_length,
    sends_unallowed_body,
)
from readme_metrics.delivery.interrupted import handed
from readme_metrics.django_cut import cut_at_exit, queue_cut
from readme_metrics.django_meta import wsgi_meta
from readme_metrics.django_rest import RestOnRead
from readme_metrics.django_streams import async_stream, finish_at_close, sync_stream
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

# (META as WSGI strings moved to django_meta, the response's end to django_streams,
# the stream lent while the grouping function runs to django_rest: importable from
# here as before)
__all__ = ["Capture", "async_stream", "finish_at_close", "sync_stream", "wsgi_meta"]


# The body Django parses into request.POST reading the stream (not request.body).
_MULTIPART = "multipart/form-data"


class Capture:
    """One exchange seen by the Django middleware: Django's objects -> the shared core."""

    def __init__(self, pipeline: MetricsPipeline, request: HttpRequest) -> None:
        self.pipeline = pipeline
        self.request = request
        meta = wsgi_meta(request)
        self.source = EnvironRequest(meta, pipeline.config.trusted_proxies)
        self.limit = limit = pipeline.config.max_body_bytes
        self.declared = content_length(meta)
        if self.declared is not None and chunked_coding(meta.get("HTTP_TRANSFER_ENCODING")):
            # A Content-Length sent beside Transfer-Encoding: chunked means nothing (RFC
            # 9112 6.3): the chunks tell the body's end. Under ASGI the server de-chunked
            # the body, whole (h11 keeps both headers); under WSGI werkzeug de-chunks it
            # (wsgi.input_terminated) and wsgiref and runserver leave it framed, and the
            # rest the view left unread is read out of its chunks (as the WSGI middleware
            # does). Read by that length, a whole body was logged incomplete of it, or
            # the framing and what came after it (the next request) made the body.
            self.declared = None
        self.group: Optional[Group] = None
        self.asking = False  # the grouping function was called
        self.asked = False  # the grouping function has answered (group is its answer)
        self.pending: Optional[Pending] = None  # the log made (handed once queued)
        self.in_call = False  # the sync chain's call runs (django_interrupted)
        # Not false while the log waits for what went out of a call Django's handler no
        # longer waits for (django_verdict.await_verdict): the server's send the chain's
        # task was given (True: none found); finished then, not as the view returns, nor
        # at a streamed answer's end or the response's close() (delivery62).
        self.verdict: object = False
        self.client_ended = False  # (hypercorn's, as the view returned: flaky52)
        self.tee: Optional[StreamTee] = None
        # Inline mode under the async chain (ASGI): the sends, and the loop whose
        # executor makes them, wherever the log is finished (on the loop, or in the
        # thread Django consumes a sync stream in: then a thread of their own), so that
        # neither the loop nor the answer waits on the Metrics API (SPEC 7).
        self.inline: Optional[tuple[InlineSends, asyncio.AbstractEventLoop]] = None
        # True when a body still in flight is waited for in the response's close(), once
        # the answer has gone out (see settle_request_body).
        self.rest_in_close = False
        self.read_started = False  # the view had read part of the body (then)
        self.streaming = False  # the response is streamed: the view may read on
        # A streamed answer's iterator reached its end (sync_stream, async_stream): what
        # the exit logs of a response still open then is whole (cut_at_exit).
        self.stream_ended = False
        # While the response is open (finish_at_close): its finalizer and its reference in
        # unclosed's responses in flight, for the exit (cut_at_exit).
        self.in_flight: Optional[tuple[weakref.finalize[Any, Any],
                                       weakref.ref[unclosed.InFlight]]] = None
        # What the grouping function is lent in place of the view's body (see grouped()):
        # a RestOnRead as request._stream, True for request._body set from the copy.
        self.lent: Any = None
        # The grouping function reads the body from the copy (not the view's own read):
        # the start of one longer than max_body_bytes (given_copy).
        self.from_copy = False
        # Under WSGI Django reads no chunked body that comes without a CONTENT_LENGTH (it
        # reads CONTENT_LENGTH bytes: none): all of it is still the server's to copy.
        self.unseen_chunked = (self.declared is None and "HTTP_TRANSFER_ENCODING" in meta
                               and getattr(request, "scope", None) is None)
        # Chunked: a body is there, of a length unknown until its last chunk (one not
        # arrived yet is logged incomplete, not as none).
        record = BodyRecord(limit, self.declared, bool(meta.get("HTTP_TRANSFER_ENCODING")))
        stream = getattr(request, "_stream", None)
        if stream is not None and not hasattr(request, "_body") and not getattr(
            request, "_read_started", False
        ):
            self.tee = StreamTee(stream, record)
            request._stream = self.tee
        self.recorder = Recorder(pipeline.new_id(), limit, record, request.method == "HEAD")

    def settle_request_body(self, streaming: bool) -> None:
        """After the view: record the body, and make it readable by the grouping function.

        An unread rest is read only as far as it has arrived, giving a body still in
        flight ``GRACE`` at most; a body the grouping function could not have whole is
        given to it as what arrived, one longer than ``max_body_bytes`` as its start.
        Where the server keeps unread input until it closes the response (gunicorn,
        uWSGI, wsgiref: ``rest.waits_for_close``), the rest is
        read in ``close()``, once the answer has gone out, as the WSGI middleware does:
        the answer is not held back, unless the grouping function reads the body (it
        then gets it as the log will). runserver throws unread input away before it
        closes the response: there the rest is read here, before the answer.
        """
        request, tee = self.request, self.tee
        if hasattr(request, "_body") or tee is None:
            return
        # Each way on lends the copy, or leaves request.body unread; but a multipart form
        # the view parsed (request.POST, request.FILES) is whole (review96).
        self.from_copy = not (hasattr(request, "_post")
                              and getattr(request, "content_type", None) == _MULTIPART)
        self.streaming = streaming
        record = tee.record
        unread = not getattr(request, "_read_started", False)
        if not unread and streaming and not record.eof and self.declared is not None:
            # Read in part by a view whose streamed answer may read on: request.body
            # raised RawPostDataException in the grouping function. It is lent the body
            # as the log will have it (what the view read, then what has arrived), and
            # the view's stream is put back after it, the rest read ahead waiting in the
            # tee for the view (grouped()).
            self.read_started = True
            request._stream = self.lent = RestOnRead(tee, request.META)
            request._read_started = False
            return
        if not unread and (record.eof or streaming):
            pass  # read to the end, or a streaming response that may read on
        elif self.declared is not None:
            meta = request.META
            if tee.waits_for_close(meta, meta.get("wsgi.input")):
                self.rest_in_close = True
                self.read_started = not unread
                request._stream = self.lent = RestOnRead(tee, meta)
                request._read_started = False  # request.body reads it, as if unread
                return
            tee.read_rest(meta, GRACE)
            self.lent = True
            if not record.eof and not record.room:
                # Longer than max_body_bytes: request.body is its start, as the log's.
                request._body = record.content()
                return
        if record.eof or record.incomplete:
            # Consumed (request.POST for multipart, read()) or read here: request.body
            # comes back from the copy (the start of one longer than max_body_bytes, as
            # the log's: Django's request.body would raise RawPostDataException).
            request._body = record.content()

    def given_copy(self) -> Optional[BodyRecord]:
        """The record of the body the grouping function reads from the copy (see
        Identifier); None when it reads the view's own (request.body, read whole)."""
        return self.tee.record if self.from_copy and self.tee is not None else None

    @property
    def finish_in_close(self) -> bool:
        """The log is finished in the response's close(), once the server has sent the
        answer: for the rest of the body (see settle_request_body), or in inline mode,
        but for the async chain's sends off the loop, for the POST of a full batch,
        which the answer must not wait for (as the WSGI middleware's inline mode)."""
        return self.rest_in_close or (
            self.inline is None and not self.pipeline.config.background_worker_mode)

    def grouped(self) -> None:
        """After the grouping function: a body it left unread is the app's again, as it
        was (a streamed answer's iterator may read it as it goes, whole, as without the
        middleware); what is still unread then is read in close(). Under a streamed
        answer, a body it read is the app's again too: the view reads all of it, what
        the grouping function read and then the rest, waiting for it as bare."""
        lent, self.lent = self.lent, None
        if lent is None or not (self.streaming or (
                isinstance(lent, RestOnRead) and not lent.read_from)):
            return
        request = self.request
        request._stream = self.tee
        request._read_started = self.read_started
        if self.streaming:  # what the grouping function's reads cached
            for name in ("_body", "_post", "_files"):
                request.__dict__.pop(name, None)

    def request_body(self, read: bool = True) -> None:
        """Before queueing: the body Django already held, or the start of a long one
        (not ``read``: only what is held, no read)."""
        record = self.recorder.request_body
        raw = getattr(self.request, "_body", None)
        if self.unseen_chunked and record is not None and record.eof and not record.size:
            record.restart()  # the empty end Django read is not the body's end
        if self.tee is None and isinstance(raw, bytes) and record is not None:
            record.feed(raw)  # read before this middleware ran
            record.end()
        elif read and self.tee is not None and not record.eof:  # type: ignore[union-attr]
            self.tee.read_rest(self.request.META, GRACE if self.rest_in_close else 0.0)

    def respond(self, response: HttpResponseBase) -> None:
        headers = [(str(name), str(value)) for name, value in response.items()]
        for cookie in response.cookies.values():
            headers.append(("Set-Cookie", cookie.output(header="").strip()))
        recorder = self.recorder
        recorder.respond(response.status_code, response.reason_phrase, headers)
        # The WSGI server may send only the Content-Length's bytes (ASGI: no such keys).
        meta = self.request.META
        if recorder.no_body and sends_unallowed_body(meta, recorder.head):
            # Django leaves a HEAD answer's body to the server: waitress and uWSGI send it
            recorder.no_body = False
        self.recorder.cut_at_length = cuts_at_length(meta, response)
        # The status line's version where the server's is not the request's: runserver
        # answers HTTP/1.1 to HTTP/1.0 (as the WSGI middleware says).
        software = meta.get("SERVER_SOFTWARE")
        if software.__class__ is str and software[:1] == ANSWERS_OWN_VERSION:
            self.recorder.answered = answered_version(meta, software)
        else:
            # Under Django's ASGI handler: uvicorn and hypercorn answer HTTP/1.1 (as the
            # ASGI middleware says), known from the servers loaded (the handler keeps
            # the server's send from its middlewares).
            scope = getattr(self.request, "scope", None)
            if isinstance(scope, dict) and scope_version(scope) == "1.0":
                self.recorder.answered = loaded_answered_version()

    def body_recorder(self) -> Callable[[bytes], None]:
        """What records the answer's chunks: the recorder's ``record``, but for an answer
        HTTP allows no body (HEAD, 204, 304) under Django's ASGI handler served by daphne,
        which sends all of it but the handler's first message (``sends_later_bodies``):
        the first ``chunk_size`` bytes of the first chunk (the whole of a shorter one)."""
        recorder = self.recorder
        if not (recorder.no_body and hasattr(self.request, "scope")
                and loaded_sends_later_bodies()):
            return recorder.record
        from django.core.handlers.asgi import ASGIHandler

        skip = [ASGIHandler.chunk_size]

        def record(chunk: bytes) -> None:
            cut, skip[0] = skip[0], 0
            recorder.record(chunk[cut:] if cut else chunk, True)
        return record

    def finish(self, read: bool = True) -> None:
        """Queue the log, exactly once. Never raises, but a signal handler's raise
        (SystemExit, KeyboardInterrupt: in the main thread, runserver --nothreading),
        which goes on once the log is queued (delivery50: before, lost unsaid).
        ``read``: the start of a long request body may be read (not in a raise's
        handler: :mod:`readme_metrics.django_interrupted`)."""
        if self.verdict.__class__ is DaphneWire:  # (its settle() finishes it: delivery69)
            return
        held = self.in_flight
        if held is not None and not held[0].alive:  # (finalized, left to the verdict)
            unclosed.sent(held[1])
        if not self.recorder.finish():
            return
        pending = None
        try:
            if self.group is not None:
                self.request_body(read)
                pending = self.pending = self.recorder.pending(self.source, self.group)
                self._submit(pending)
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")
        except BaseException as error:
            # Queued first, as it is (a queue put: no send), then it goes on. Whether it
            # was the log says (handed), not how far _submit got (as WSGI's finish_log).
            if self.group is not None and (pending is None or not handed(pending)):
                self.queue_cut(pending, error)
            raise

    # The log of an exchange cut short (django_cut.py): by a raise in finish(), or at
    # exit (unclosed's exit hook calls cut_at_exit); bound as they are, no call added.
    queue_cut = queue_cut
    cut_at_exit = cut_at_exit

    def _submit(self, pending: Pending) -> None:
        """Queue the log; inline under the async chain, off the loop and in turn. Not
        when the exit finishes it (``MetricsPipeline.finish_at_exit``): only queued then,
        where a thread of InlineSends' own would post it bounded by ``timeout`` alone."""
        if self.inline is not None and not self.pipeline.exit_finishing:
            self.inline[0].send(pending, self.inline[1])
        else:
            self.pipeline.submit(pending)
