"""The WSGI response on its way to the server: the app's iterable, and its headers.

:class:`Response` passes the app's iterable through chunk by chunk (each recorded,
bounded) and finishes the exchange's log when the server closes it (in background mode
already when it is read to its end), or, when nobody does, when it is dropped; a chunk
whose record an exception stopped, the server never got, is taken back from the log.
:func:`read_along` hands the server headers an app gave as an iterator the way it gave
them, keeping what the server read for the log.

What each server does with the answer is ``wsgi_servers``'s, what its client got when
the answer failed ``wsgi_failures``'s, and the size of a ``wsgi.file_wrapper`` answer
``file_rest``'s: their names are importable from here too, as they always were.
"""

from __future__ import annotations

import sys
import weakref
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from readme_metrics.capture import unclosed
from readme_metrics.capture.body import GRACE
from readme_metrics.capture.file_rest import file_rest
from readme_metrics.capture.pending import LEFT_IN_WRITE
from readme_metrics.capture.response_headers import sets_docs_url
from readme_metrics.capture.wsgi_failures import (
    answers_500,
    client_left,
    refuses_unsent,
    signals_land,
    unanswered_at,
    wsgiref_head_unsent,
)
from readme_metrics.capture.wsgi_request_body import rest_in_close, settle_body
from readme_metrics.capture.wsgi_servers import (
    ANSWERS_OWN_VERSION,
    answered_version,
    cuts_at_length,
    ends_after_close,
    ends_at_close,
    holds_empty_chunks,
    ignores_late_start,
    keeps_earlier_headers,
    not_latin_1,
    plain_server,
    sends_list_as_is,
    sends_unallowed_body,
    sends_written_head_body,
    takes_raising_restart,
    under_cheroot,
    under_wsgiref,
)

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["ANSWERS_OWN_VERSION", "Response", "SizedResponse", "answered_version",
           "answers_500", "client_left", "cuts_at_length", "ends_after_close",
           "ends_at_close", "file_rest", "holds_empty_chunks", "ignores_late_start",
           "keeps_earlier_headers", "plain_server", "read_along", "refuses_unsent",
           "sends_list_as_is", "sends_unallowed_body", "sends_written_head_body",
           "signals_land", "takes_raising_restart", "unanswered_at", "under_cheroot",
           "under_wsgiref", "wsgiref_head_unsent"]


def read_along(headers: Iterator[Any], seen: list[Any], extra: Optional[tuple[str, str]]
               ) -> Iterator[Any]:
    """``headers`` (then ``extra``, unless the app set that header) as the server reads
    them, each kept in ``seen``."""
    for pair in headers:
        seen.append(pair)
        yield pair
    if extra is not None and not sets_docs_url(seen):
        seen.append(extra)
        yield extra


class Response:
    """The app's iterable, passed through chunk by chunk; closing it (in background mode
    also reading it to its end) finishes the log.

    A caller that never closes it (PEP 3333 says the server must; werkzeug's and Flask's
    test clients leave it open unless asked, werkzeug's server when the client resets
    the connection after the answer) gets the log finished when it drops the response
    instead of never (``unclosed.py``). The app's own ``close`` is still only the caller's
    to call.
    """

    __slots__ = ("_capture", "_result", "_iterator", "_closed", "_unsent", "_first",
                 "_open", "_ended", "_known", "__weakref__")

    def __init__(self, capture: WSGICapture, result: Iterable[bytes]) -> None:
        self._capture = capture
        self._result = result
        self._iterator: Optional[Iterator[bytes]] = None
        self._closed = False
        self._unsent = True  # the server has sent nothing yet, not even the status
        # The chunk last handed over is the one the server sends the status with, and it
        # has asked for no other since: a server refusing it closes with the error live.
        self._first = False
        # The log of a response dropped unclosed goes out from there, in background mode
        # too: one neither read to its end nor closed (a test client's, only its status
        # looked at) had its log wait for this middleware's next request, lost at exit or
        # when the app was dropped (as Django's adapter, which always asked for it).
        # Counted as open until its log is queued (background mode: at the iteration's
        # end), closed or finalized: the exit collects if any is left.
        # Weakly in unclosed's set of responses in flight too, until then: one the
        # server still holds at exit is logged as far as it went (cut_at_exit).
        self._open: Optional[weakref.ref[unclosed.InFlight]] = unclosed.sending(self)
        self._ended = False  # the iteration reached its end
        # The exception close() does not take for one that stopped the answer: the one
        # the server was handling when it first asked for a chunk (it serves from an
        # except block: still live at close()), or the app's own raise, logged already.
        self._known: Optional[BaseException] = None

    def __iter__(self) -> Response:
        return self

    def __next__(self) -> bytes:
        iterator = self._iterator
        try:
            if iterator is None:
                self._known = sys.exc_info()[1]  # (once per response)
                iterator = self._iterator = iter(self._result)
            chunk = next(iterator)
        except StopIteration:
            # The server may discard unread input now, before close() (werkzeug does):
            # record it first. Background mode queues the log now too (no I/O): test
            # clients leave close() to the test. Inline mode may send: it waits for close().
            # A body still in flight that the server keeps is waited for in close()
            # instead, once the server has sent the end of a streamed answer; werkzeug's
            # discard of it, after that end, is recorded as werkzeug reads.
            self._ended = True  # first: an exception landing after this cut nothing off
            self._first = False
            capture = self._capture
            capture.ended = True
            capture.let_go()  # no cycle through the server's handler (runserver's)
            tee = capture.tee
            if tee is not None and rest_in_close(capture):
                raise
            if capture.pipeline.config.background_worker_mode:
                # (Not where close() may still change what the client got: see
                # _close_raised(). Those servers always call it.)
                if not ends_after_close(capture.environ):
                    if self._unsent:  # the log goes out before close(): see head_refused()
                        self.head_refused()
                    capture.finish_log(GRACE)
                    self._settled()  # queued: nothing left for the exit to collect
                else:
                    # A close() still running when the middleware closes (the process
                    # exits) has the log queued then, as it is: else neither sent nor
                    # counted.
                    capture.pipeline.held_by(self._hand_over)
            elif tee is not None:
                settle_body(capture, GRACE)
            raise
        except BaseException as error:
            self._first = False
            self._known = error
            capture = self._capture
            if not self._unsent or (capture.status and under_cheroot(capture.environ)):
                # (cheroot sends the started head all the same, and no end: answers_500)
                # After the head went out: the servers close the connection with no
                # last chunk, or short of the Content-Length (Exchange.response_body_cut).
                self._capture.broke_off = True
            self._capture.fail(unsent=self._unsent, error=error)
            raise
        if self._unsent:
            # Servers send the status with the first chunk, an empty one too, but those
            # following PEP 3333 to the letter (waitress) wait for a non-empty one.
            self._unsent = not chunk and holds_empty_chunks(self._capture.environ)
            self._first = self._capture.sent = not self._unsent
        elif self._first:
            self._first = False
        capture = self._capture
        size = capture.body_size  # noqa: F841 - read from this frame (_size_before)
        capture.record(chunk)
        return chunk

    def head_refused(self) -> None:
        """Nothing sent yet (only empty chunks, or none): waitress builds the head only
        after close(), and refuses headers that are not Latin-1 there with its own 500.
        Asked at the iterable's end too, in background mode, whose log is queued then."""
        capture = self._capture
        if (holds_empty_chunks(capture.environ) and capture.status
                and not_latin_1(capture.headers)):
            capture.server_answered(500, "Internal Server Error",
                                    "headers that are not Latin-1")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        capture = self._capture
        # Each step in a finally of the one before: a signal handler's raise landing in
        # the library's part (SystemExit from a SIGTERM handler, KeyboardInterrupt, in
        # the main thread of wsgiref, bottle.run, a development server) still has the
        # app's close() called and the log queued before it goes on, unchanged, to the
        # server (delivery/interrupted.py). The raise of the app's own close() goes on
        # the same way, after the log.
        tee = capture.tee
        try:
            if self._unsent:
                self.head_refused()
            if not self._ended and self._iterator is not None:
                # An exception that stopped the server's iteration or its write of a
                # chunk is live here (wsgiref's except, the others' finally): a
                # signal's, landing after the app's next() returned, or the server's
                # refusal of the chunk.
                error = sys.exc_info()[1]
                while isinstance(error, GeneratorExit):
                    # A generator outside (a middleware's) was closed early, closing
                    # this: what had it closed is its context (the server's error).
                    error = error.__context__
                if error is not None and error is not self._known:
                    self._stopped(error)
            if tee is not None:
                tee.discard_over()  # the app's reads in close() are its own, not werkzeug's
        finally:
            try:
                close = getattr(self._result, "close", None)
                if close is not None:
                    close()
            except BaseException:
                self._close_raised()
                raise
            finally:
                try:
                    # werkzeug's discard read what came after the answer (discard_tap):
                    # wait for more only where the client has its answer's end already.
                    capture.finish_log(0.0 if tee is not None and tee.discard_tapped and
                                       ends_at_close(capture.environ, capture.headers)
                                       else GRACE)
                except BaseException:
                    capture.finish_log(0.0)  # (a raise at its very entry left it undone)
                    raise
                finally:
                    # Counted in flight until its log is queued: a close() of the app's
                    # still running at exit (waitress, cheroot: the log waits for it) has
                    # it cut then.
                    self._settled()

    def _stopped(self, error: BaseException) -> None:
        """``error`` stopped the answer after the app's ``next()`` returned a chunk: in
        this middleware's handling of it (``__next__``: the server did not get the
        chunk), or in the server's (its write). The log says what the client got: the
        server's own 500 when none of the answer went out (as for the app's raise there:
        :meth:`WSGICapture.fail`; wsgiref's when its write of the first chunk stopped
        before it marked the head sent), or when it refused the answer's start; nothing more
        when the client left (:func:`client_left`), and that it left; else the answer broke
        off."""
        capture = self._capture
        try:
            if self._unsent or (self._first and _raised_in(error, _NEXT)):
                capture.fail(unsent=True, error=error)
            elif self._first and capture.refused(error):
                pass  # (its refusal is logged, with its reason)
            elif self._first and not client_left(error) and capture.head_unsent():
                capture.fail(unsent=True, error=error)
            elif not client_left(error):
                # The servers close the connection with no last chunk, or short of the
                # Content-Length (Exchange.response_body_cut).
                capture.broke_off = True
                size = _size_before(error)
                if size is not None:  # stopped here: the server never got this chunk
                    capture.take_back(size)
            else:  # the client left mid-answer: the log says so (Exchange.response_client_left)
                capture.left = LEFT_IN_WRITE
        except Exception:  # pragma: no cover - never raise into the server
            pass

    def _close_raised(self) -> None:
        """The app's ``close()`` raised: under a server that writes the answer's end only
        after it (:func:`ends_after_close`), the client got no end (the log says the
        answer broke off: a chunked one, or one short of its Content-Length), or, from
        waitress with nothing sent yet, its own 500."""
        capture = self._capture
        if capture.status and ends_after_close(capture.environ):
            if self._unsent and holds_empty_chunks(capture.environ):
                capture.server_answered(500, "Internal Server Error",
                                        "the app's close() raised")
            else:
                capture.broke_off = True
        capture.fail()

    def _hand_over(self, timeout: Optional[float]) -> None:
        """A holder's (:meth:`MetricsPipeline.held_by`): the middleware flushes or closes
        while the log of this response, read to its end, waits for its ``close()``
        (waitress, cheroot): it is queued now, as it is, unless close() queued it (once
        only: :meth:`WSGICapture.finish_log`). Never raises."""
        self._capture.finish_log(0.0)

    def _settled(self) -> None:
        """No longer counted open (once: the iteration's end, close() and the finalizer
        may each come)."""
        ref = self._open
        if ref is not None:
            self._open = None
            unclosed.sent(ref)

    def cut_at_exit(self) -> tuple[MetricsPipeline, str]:
        """At exit (unclosed's exit hook, in the exiting thread), this response still in
        flight: its log queued as far as it went (see ``WSGICapture.finish_at_exit``). Its
        pipeline, and what was done (one of unclosed's outcomes). Never raises."""
        self._settled()
        capture = self._capture
        return capture.pipeline, capture.finish_at_exit(self._ended)

    def __del__(self) -> None:
        # (getattr: a signal landing in __init__ leaves a half-made object behind)
        if not getattr(self, "_closed", True):
            # Only handed over: this may run inside any code, the delivery's included, in
            # whatever thread the GC runs. No grace: nothing waits here for a client.
            try:
                self._settled()
                capture = self._capture
                pipeline = capture.pipeline
                # Quick once the grouping function has answered: the exit may run it.
                pipeline.hand_over(capture.finish_log, capture.identified())
                unclosed.wake(pipeline)  # now, not at the next request
            except BaseException:  # at interpreter exit anything may fail, and
                pass  # Python would print what a finalizer raises


_NEXT = Response.__next__.__code__  # (SizedResponse's too)


def _size_before(error: BaseException) -> Optional[int]:
    """The body's size before the chunk whose record in :meth:`Response.__next__`
    ``error`` stopped (that frame's ``size``); None when it was raised elsewhere (in the
    server's write: the server had the chunk), or before that frame counted. Another
    such frame before it (a middleware of another project's outside this one: its
    ``next()`` of this response raised) has no ``size`` yet, and is passed over."""
    trace = error.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code is _NEXT:
            size = frame.f_locals.get("size")
            if size.__class__ is int:
                return size
        trace = trace.tb_next
    return None


def _raised_in(error: BaseException, code: Any) -> bool:
    """Whether ``error`` was raised in (or passed through) a frame running ``code``."""
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code is code:
            return True
        trace = trace.tb_next
    return False


class SizedResponse(Response):
    """Same, for iterables with a length (servers use ``len() == 1`` for Content-Length)."""

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)  # type: ignore[arg-type]
