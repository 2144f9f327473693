"""One exchange of the WSGI middleware (:mod:`readme_metrics.capture.wsgi`), from the
app's call to the end of its response: :class:`WSGICapture`, its own recorder.

It wraps what the server gave the app (``start_response``, ``write``, ``wsgi.input``
when the request may have a body), calls the grouping function once, hands the app's
response back wrapped (or a ``wsgi.file_wrapper`` one as the very same object) and
queues one pending record when the response ends, fails, or the process exits first.
The request thread only copies references and counts bytes.
"""

from __future__ import annotations

import sys
import types
import weakref
from time import perf_counter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from readme_metrics.capture import unclosed
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.recorder import (
    KNOWN_STATUS_PARTS,
    Pending,
    Recorder,
    response_content_length,
    sets_docs_url,
    status_parts,
)
from readme_metrics.capture.request_head import EnvironRequest
from readme_metrics.capture.request_headers import chunked_coding, content_length
from readme_metrics.capture.rest_cheroot import is_cheroot_input, tap
from readme_metrics.capture.uwsgi_sendfile import NOTHING
from readme_metrics.capture.webob_request import Request
from readme_metrics.capture.webob_request import new as new_object
from readme_metrics.capture.werkzeug_lengths import least_length
from readme_metrics.capture.wsgi_input import InputTee, server_ends_input
from readme_metrics.capture.wsgi_response import (
    ANSWERS_OWN_VERSION,
    Response,
    SizedResponse,
    answered_version,
    answers_500,
    client_left,
    cuts_at_length,
    file_rest,
    ignores_late_start,
    keeps_earlier_headers,
    read_along,
    refuses_unsent,
    sends_list_as_is,
    sends_unallowed_body,
    sends_written_head_body,
    signals_land,
    takes_raising_restart,
    unanswered_at,
    under_wsgiref,
    wsgiref_head_unsent,
)
from readme_metrics.exchange import Group
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from readme_metrics.capture.wsgi import MetricsMiddleware

__all__ = ["NO_BODY", "WSGICapture"]

_UNKNOWN: Any = object()  # the grouping function has not run yet


# gunicorn answers 400 for its own errors reading a malformed chunked body, raised out of
# the app from wsgi.input (gunicorn.workers.base.Worker.handle_error), not 500.
_GUNICORN_BAD_BODY = frozenset({"InvalidChunkSize", "ChunkMissingTerminator",
                                "InvalidChunkExtension"})


def _server_answer(error: Optional[BaseException], tee: Optional[InputTee]
                   ) -> tuple[int, str]:
    """The status a server answers for ``error`` raised out of the app before anything
    was sent: 400 for gunicorn's own malformed-body errors from ``wsgi.input``, else 500."""
    if (error is not None and tee is not None and error is tee.failed
            and type(error).__module__ == "gunicorn.http.errors"
            and type(error).__name__ in _GUNICORN_BAD_BODY):
        return 400, "Bad Request"
    return 500, "Internal Server Error"


class _NoBody:
    """``wsgi.input`` of the grouping request when the request declares no body."""

    __slots__ = ()

    def read(self, *args: Any) -> bytes:
        return b""

    def readline(self, *args: Any) -> bytes:
        return b""

    def readlines(self, *args: Any) -> list[bytes]:
        return []

    def __iter__(self) -> Iterator[bytes]:
        return iter(())


NO_BODY = _NoBody()


def _environ_of(capture: WSGICapture) -> Callable[[], Optional[WSGIEnvironment]]:
    """``capture``'s environ while it lives, not holding it (:attr:`InputTee.environ_of`)."""
    ref = weakref.ref(capture)

    def environ() -> Optional[WSGIEnvironment]:
        alive = ref()
        return None if alive is None else alive.environ

    return environ


class WSGICapture(Recorder):
    """One exchange while the app runs and its response is sent (its own recorder).

    ``wsgi.input`` is replaced by an :class:`InputTee` only when the request may have a
    body; without one the app keeps the server's input, untouched, and the log has none.
    """

    __slots__ = ("middleware", "pipeline", "environ", "request", "tee", "group",
                 "_start_response", "_write", "_wrote", "_write_failed", "sent", "returned",
                 "__weakref__")

    def __init__(self, middleware: MetricsMiddleware, pipeline: MetricsPipeline,
                 environ: WSGIEnvironment, start_response: StartResponse) -> None:
        self.middleware = middleware
        self.pipeline = pipeline
        self.environ = environ
        config = pipeline.config
        limit = config.max_body_bytes
        # With no proxy trusted, what environ_strings gives, (keys, values, bytes), is the
        # queued record's request as it is (Pending): no object made for it.
        trusted = config.trusted_proxies
        self.request: Any = (EnvironRequest(environ, trusted) if trusted
                             else environ_strings(environ))
        self.group: Any = _UNKNOWN
        self._start_response = start_response
        self._wrote = False
        self._write_failed = False  # the server's write() raised (the client left)
        self.sent = False  # the server has been handed the status with a first chunk
        self.returned = False  # the app's call has returned
        self.tee: Optional[InputTee] = None
        body = None
        # Whether the request may have a body: not an HTTP/1.x one whose framing says
        # none (RFC 9112 6.3: no Transfer-Encoding, and a CONTENT_LENGTH absent, empty or
        # "0"); other protocols (HTTP/2 through a WSGI server) may carry one without a
        # length. Written out here: a call fewer per request.
        length_text = environ.get("CONTENT_LENGTH")
        protocol = environ.get("SERVER_PROTOCOL")
        if (environ.get("HTTP_TRANSFER_ENCODING") or (length_text and length_text != "0")
                or not (protocol.__class__ is str and protocol.startswith("HTTP/1."))):
            wsgi_input = environ.get("wsgi.input")
            if wsgi_input is not None:
                # Chunked input the server ends (werkzeug): the Transfer-Encoding wins
                # over a Content-Length sent with it (RFC 9112 6.3), and the app may read
                # to the end, past that length, as it does bare.
                coding = environ.get("HTTP_TRANSFER_ENCODING")
                chunked = bool(coding)
                # The server ends the input at the body's end: the app's reads go to it
                # as they are, not held to the length (granian gives read() of a body
                # cut short b"", read(length) what arrived).
                ends = server_ends_input(environ, wsgi_input)
                terminated = chunked and ends
                length = None if terminated else content_length(environ)
                # ``chunked``: a body is there even where the server leaves it framed
                # (wsgiref, runserver): an unread one is copied from the connection and
                # read out of its chunks. A length sent beside them does not frame it
                # (read by it, the rest took in the next request on the connection),
                # though the app's reads are still held to it.
                # werkzeug's server reads the body by the last of two Content-Length
                # lines: the log keeps no more than the smaller (werkzeug_lengths).
                kept = limit
                if length and "werkzeug.socket" in environ and not chunked:
                    least = least_length(start_response)
                    if least is not None and least < limit:
                        kept = least
                body = BodyRecord(kept, None if length is not None and chunked
                                  and chunked_coding(coding) else length, chunked)
                self.tee = InputTee(wsgi_input, body, terminated, clamp=not ends,
                                    left=length)
                if length and is_cheroot_input(wsgi_input):
                    # cheroot reads an unread rest itself, past the tee (rest_cheroot)
                    tap(wsgi_input, body)
                # Weak: the environ holds the tee, which would otherwise hold it back.
                self.tee.environ_of = _environ_of(self)
                environ["wsgi.input"] = self.tee
                # An outer webob layer may have marked the input seekable; the tee is
                # not, and webob in the app would call seek() on it. Unmarked, webob
                # copies the body.
                environ.pop("webob.is_body_seekable", None)
        Recorder.__init__(self, pipeline.new_id(), limit, body,
                          environ.get("REQUEST_METHOD") == "HEAD")

    def identified(self) -> bool:
        """True once the grouping function has answered: :meth:`finish_log` then calls no
        code of the app's (the exit may run it in its own thread)."""
        return self.group is not _UNKNOWN

    def _identify(self) -> Optional[Group]:
        if self.group is _UNKNOWN:
            try:
                middleware = self.middleware
                if middleware.own_request and self.tee is None:
                    # grouping_request() written out for a request without a body (a
                    # call fewer): a copy of the environ with no input, in a bare request.
                    request_environ = dict(self.environ)
                    request_environ["wsgi.input"] = NO_BODY
                    request_environ.pop("webob.is_body_seekable", None)
                    request = new_object(Request)
                    request.__dict__["environ"] = request_environ
                    self.group = self.pipeline.identify(request)
                    return self.group  # type: ignore[no-any-return,unused-ignore]
                request = middleware.grouping_request(self.environ, self.tee)
                tee = self.tee
                # given_copy() written out for this class's own request (a call fewer).
                copy = ((None if tee is None else tee.record) if middleware.own_request
                        else middleware.given_copy(request, tee))
                if middleware.hands_back:
                    try:
                        self.group = self.pipeline.identify(request, copy)
                    finally:
                        middleware.grouped(request)
                else:
                    self.group = self.pipeline.identify(request, copy)
            except Exception:
                self.group = None
        return self.group  # type: ignore[no-any-return,unused-ignore]

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Optional[OptExcInfo] = None) -> Callable[[bytes], Any]:
        # status_parts' cache read here: a call fewer for the statuses seen before.
        known = KNOWN_STATUS_PARTS.get(status) if status.__class__ is str else None
        code, reason = status_parts(status) if known is None else known
        environ = self.environ
        if self.returned and ignores_late_start(environ):
            # granian took the status when the call returned: this one never goes out.
            if exc_info is None:
                self._write = self._start_response(status, headers)
            else:
                self._write = self._start_response(status, headers, exc_info)
            return self.write
        group = self.group
        if group is _UNKNOWN:
            group = self._identify()
        # A second call under gunicorn adds its headers to the first one's.
        kept = self.headers if self.status and keeps_earlier_headers(environ) else ()
        extra = None
        if group is not None and not (kept and sets_docs_url(kept)):
            pipeline = self.pipeline
            base = pipeline.fixed_base
            if base is not None and pipeline.delivery.accepting:
                # documentation_url() written out for a base_log_url: a call fewer.
                extra = ("x-documentation-url", f"{base}/logs/{self.log_id}")
            else:
                url = pipeline.documentation_url(self.log_id)
                if url is not None:
                    extra = ("x-documentation-url", url)
        recorded: Any
        if hasattr(headers, "__next__"):
            # An iterator (a generator), not the list PEP 3333 asks for: the server reads
            # it as it does bare (waitress twice, the second time empty), and the log
            # what the server read.
            recorded = []
            headers = read_along(headers, recorded, extra)  # type: ignore[assignment]
        else:
            # The list the server gets may be edited in place on its way (a gzip
            # middleware outside this one): the log keeps a copy of what the app sent,
            # a tuple, which the queued record then takes as it is.
            try:
                recorded = tuple(headers)
            except TypeError:  # not even iterable: the server's to refuse, as bare
                recorded = ()
            else:
                kind = headers.__class__
                if extra is not None and (kind is list or kind is tuple) and not (
                        sets_docs_url(recorded)):
                    # In the app's container: wsgiref (and runserver) refuse anything
                    # but a list, a tuple too, with a 500 that must stay the bare
                    # app's. Another class is passed as it is, without the header.
                    recorded += (extra,)
                    headers = list(recorded) if kind is list else recorded
        try:
            if exc_info is None:
                self._write = self._start_response(status, headers)
            else:
                self._write = self._start_response(status, headers, exc_info)
        except BaseException:
            if exc_info is not None and not self.sent and takes_raising_restart(environ):
                self.respond(code, reason, recorded)
            raise
        # Only once the server took it: a status or header it refuses (gunicorn raises
        # for "2000 OK") is answered 500 by the server, and the log must say so.
        # Recorder.respond() written out (a call fewer per request).
        self.status = code
        self.reason = reason
        self.headers = (*kept, *recorded) if kept else recorded
        self.comment = None
        # A body HTTP allows none is logged as the server treats it: left out, or sent.
        self.no_body = ((self.head or 100 <= code < 200 or code == 204 or code == 304)
                        and not sends_unallowed_body(environ, self.head))
        if not self.responded:
            self.responded = perf_counter()
        return self.write

    def let_go(self) -> None:
        """The app's iterable is exhausted: the server's ``start_response`` and ``write``
        are held weakly from now on (they are still called, as long as the server
        lives). wsgiref's (Django's runserver) are methods of its handler, which holds
        the response, which holds this: a reference cycle. runserver drops the response
        unclosed when its ``close()`` raises reading the rest of a body whose client
        reset the connection; bare, the app's iterable goes with the handler at once,
        wrapped the cycle left it (and its log, in inline mode) to the cyclic GC, which
        an idle server may not run for hours (review86). Under wsgiref's server, a
        middleware outside this one may hand its own callables over the handler's (a
        closure, werkzeug's LintMiddleware's GuardedWrite): those too (review89)."""
        wsgiref = under_wsgiref(self.environ)
        self._start_response = _weakly(self._start_response, wsgiref, _started)
        write = getattr(self, "_write", None)
        if write is not None:
            self._write = _weakly(write, wsgiref, _late_write)

    def write(self, data: bytes) -> Any:
        """The ``write`` callable the app gets: recorded, then the server's."""
        first = not self._wrote
        self._wrote = self.sent = True
        # (runserver sends a HEAD answer's write() chunks, not its iterable's.)
        self.record(data, self.no_body and self.head
                    and sends_written_head_body(self.environ))
        try:
            return self._write(data)
        except BaseException as error:
            # The client left, or the server answered its own 500 instead: nothing broke
            # off when the app's call raises on (fail()). Else (a signal landing in the
            # server's write, a refused chunk) the answer broke off there.
            if client_left(error) or (first and self.refused(error)):
                self._write_failed = True
            raise

    def head_unsent(self) -> bool:
        """Whether wsgiref's handler has not sent the answer's head yet
        (:func:`wsgiref_head_unsent`), asked when an exception stopped its write of the
        first chunk. Never raises."""
        try:
            return wsgiref_head_unsent(self._start_response)
        except Exception:  # pragma: no cover - never raise into the server
            return False

    def refused(self, error: BaseException) -> bool:
        """The server's write of the answer's first chunk raised ``error``: log the 500 it
        answers instead when it sent none of the app's answer (``refuses_unsent``). True
        when it did."""
        try:
            if refuses_unsent(self.environ, error):
                self.server_answered(500, "Internal Server Error",
                                     "it refused the answer's start")
                return True
        except Exception:  # pragma: no cover - never raise into the server
            pass
        return False

    def settle_body(self, grace: float = 0.0) -> None:
        """Record the unread rest of the request body that has arrived (never blocks).

        ``grace`` only once the response is out: a body still in flight may arrive.
        """
        tee = self.tee
        if tee is not None and not tee.settled:
            try:
                tee.record_rest(self.environ, grace)
            except Exception:  # pragma: no cover - record_rest is written not to raise
                self.pipeline.logger.debug("readme_metrics: body rest not read",
                                                  exc_info=True)

    def rest_in_close(self) -> bool:
        """At the iterable's end, with a tee: True when the unread rest of the body is
        recorded in ``close()`` (it may still arrive and the server keeps it, or
        werkzeug's discard is tapped). Never raises: on a fault of the capture's own, the
        rest is settled now, as for any other server."""
        tee = self.tee
        environ = self.environ
        try:
            return bool(tee.waits_for_close(environ)  # type: ignore[union-attr]
                        or tee.record_discarded(environ))  # type: ignore[union-attr]
        except Exception:
            self.pipeline.logger.debug("readme_metrics: body rest not looked at",
                                       exc_info=True)
            return False

    def finish_log(self, grace: float = 0.0) -> None:
        """Turn the exchange into one queued log (exactly once). Never raises."""
        # Recorder.finish() written out (a call fewer per request): deleting the slot
        # tests and clears it in one C call, so only the first of two threads goes on.
        try:
            del self._unfinished
        except AttributeError:
            return
        try:
            if self.tee is not None:
                self.settle_body(grace)
            group = self.group
            if group is _UNKNOWN:
                group = self._identify()
            if group is None:
                self.pipeline.skip()
                return
            self.pipeline.submit(Pending(self, self.request, group, perf_counter()))
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")

    def finish_at_exit(self, ended: bool) -> str:
        """At exit, with the response not closed (the server holds it: a stream in flight
        when the process is stopped, or a server that never closes its last response):
        queue the log of what was recorded by then, its body marked incomplete unless
        ``ended`` (the iteration reached its end): ``unclosed.CUT``. Calls no code of the
        app's (the grouping function answered when the response started) and reads
        nothing more (the request body as far as the app read it): bounded, for the
        exit's thread. ``DROPPED`` when the grouping function had not answered (the
        response had not started): not logged, for the caller to count; ``SKIPPED`` when
        it answered None (counted skipped, as it would have been); ``DONE`` when its own
        thread finished it meanwhile. Never raises."""
        if not self.finish():  # once: the server's thread may still end it meanwhile
            return unclosed.DONE
        group = self.group
        if group is _UNKNOWN:
            return unclosed.DROPPED
        try:
            if group is None:
                self.pipeline.skip()
                return unclosed.SKIPPED
            self.queue_cut_at_exit(self.pipeline, self.request, group, ended)
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")
        return unclosed.CUT

    def cut_at_exit(self) -> tuple[MetricsPipeline, str]:
        """At exit (unclosed's exit hook, in the exiting thread), the app still computing
        this request (its call has not returned: :func:`unclosed.calling`). Nothing of
        its answer reached the client, who gets the connection closed as the process
        ends, unless it wrote some already (the legacy ``write()``): logged as far as it
        went then, else as unanswered (a 500 with a comment, as :meth:`no_answer`) when
        the grouping function has answered (it did at ``start_response``). Before that it
        is not asked (it may block, and is the app's code): counted dropped. Its
        pipeline and the outcome. Never raises."""
        pipeline = self.pipeline
        if self.sent:
            return pipeline, self.finish_at_exit(False)
        if not self.finish():
            return pipeline, unclosed.DONE
        group = self.group
        if group is _UNKNOWN:
            return pipeline, unclosed.DROPPED
        try:
            if group is None:
                pipeline.skip()
                return pipeline, unclosed.SKIPPED
            # Marked on the record, once made: the app's thread may be finishing
            # start_response meanwhile (its status, headers and comment set again).
            pending = Pending(self, self.request, group, perf_counter())
            pending.unanswered("exited while the app was still computing its answer")
            pipeline.submit(pending, False)
        except Exception:
            pipeline.logger.exception("readme_metrics: could not record a request")
        return pipeline, unclosed.UNANSWERED

    def fail(self, unsent: bool = False, in_call: bool = False,
             error: Optional[BaseException] = None) -> None:
        """The app raised ``error``: log what the client gets (SPEC 5).

        ``unsent``: it raised before handing the server a first chunk (a non-empty one
        under waitress); ``in_call``: from its call. A server sends the status and headers
        only with the first chunk or write() (PEP 3333), so the client then gets the
        server's own 500 (wsgiref, werkzeug, gunicorn, waitress), not the status the app
        had started (gunicorn's 400 for a malformed chunked body its ``wsgi.input``
        refused); after that, the status that went out. uWSGI and granian differ
        (``answers_500``). An ``error`` that is no Exception (a signal's) gets no answer
        at all from werkzeug, gunicorn's gthread worker, waitress and (from the call)
        cheroot (``unanswered_at``).
        """
        if in_call and self._wrote and not self._write_failed:
            # What write() was given went out: the servers close the connection with no
            # last chunk, or short of the Content-Length (Exchange.response_body_cut).
            # Not when the server's write() raised (the client left): the app raised
            # because of it, and broke nothing off.
            self.broke_off = True
        if in_call:  # wrap() never ran: the server's own 500 has its status line too
            software = self.environ.get("SERVER_SOFTWARE")
            if software.__class__ is str and software[:1] == ANSWERS_OWN_VERSION:
                self.answered = answered_version(self.environ, software)
        if unsent:
            status, reason = _server_answer(error, self.tee)
            closed = (None if error is None or self._wrote
                      else unanswered_at(self.environ, error, in_call, bool(self.status)))
            if closed is not None:  # a signal's (uWSGI: more): the server sent nothing at all
                name = type(error).__name__
                self.no_answer(f"stopped serving the request at a {name}" if closed else
                               f"left the request unanswered at a {name}, the connection "
                               "open", self.status, closed)
            elif status != 500 and not self._wrote:  # gunicorn's own answer: see above
                self.server_answered(status, reason, "a malformed request body")
            elif self.status and answers_500(self.environ, in_call, self._wrote):
                # none of what write() was given went out (granian has no write())
                self.server_answered(500, "Internal Server Error", "the app raised")
        Recorder.fail(self)
        self.finish_log()

    def wrap(self, result: Iterable[bytes], sent_file: Any = NOTHING) -> Iterable[bytes]:
        """What goes back to the server for the app's ``result``; ``sent_file``: what
        uWSGI's file_wrapper returned in the app's call (see uwsgi_sendfile)."""
        environ = self.environ
        # One question instead of four for the servers that need none of them
        # (plain_server() written out: a call fewer per request).
        software = environ.get("SERVER_SOFTWARE")
        plain = not ("waitress.client_disconnected" in environ or "gunicorn.socket" in environ
                     or "uwsgi.version" in environ or software == "Granian")
        if plain and software.__class__ is str and software[:1] == ANSWERS_OWN_VERSION:
            self.answered = answered_version(environ, software)
        if not plain:
            if ignores_late_start(environ):
                status = self.status
                if not status:
                    self.respond(200, "OK", [])  # granian's answer to a call that started none
                elif status < 200 and status != 101:
                    # granian refuses a final 1xx status (101 aside) with its own 500
                    self.server_answered(500, "Internal Server Error",
                                         "a final 1xx status")
            self.cut_at_length = cuts_at_length(environ, result)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if (file_wrapper is not None and isinstance(file_wrapper, type)
                and isinstance(result, file_wrapper)) or result is sent_file:
            # Same object back, so the server keeps its sendfile fast path.
            length = response_content_length(self.headers)
            self.omit_body(length if self.no_body else file_rest(result, environ, length))
            self.finish_log()
            return result
        if (type(result) in (list, tuple) and self.status
                and not (self.tee is not None and self.tee.arrives_later(environ))
                and ((not result or (result[0].__class__ is bytes  # type: ignore[index]
                                     # wsgiref's or werkzeug's server (under_wsgiref()
                                     # written out: a call fewer on each list answer)
                                     and not ((software.__class__ is str
                                               and software.startswith("WSGIServer/")
                                               or "werkzeug.socket" in environ)
                                              and signals_land())))
                     if plain  # sends_list_as_is's answer under such a server
                     else sends_list_as_is(result, environ, self.headers))):
            # Nothing to wait for after the response: the list goes back as it is (some
            # servers frame a list differently from other iterables). Not where a
            # signal may stop the server's write of it (signals_land): see Response.
            record = self.record
            for chunk in result:
                record(chunk)
            self.ended = True
            self.finish_log()
            return result
        tee = self.tee
        if tee is not None and "werkzeug.socket" in environ:
            tee.watch_writes(self._start_response)  # (a body left unread: see there)
        if hasattr(result, "__len__"):
            return SizedResponse(self, result)
        return Response(self, result)


def _weakly(call: Any, wsgiref: bool, gone: Callable[..., Any]) -> Any:
    """``call``, through a weak reference when it is a method of wsgiref's handler (which
    holds the response: runserver's, wsgiref's), or under wsgiref's server (``wsgiref``)
    any callable a weak reference can hold (an outer middleware's, which holds the
    handler's); any other callable as it is (gunicorn's and waitress's objects hold no
    response: 1.2 us a request saved). Once the callable is gone (nothing but this held
    an outer middleware's), ``gone`` is called in its place."""
    if type(call) is types.MethodType:
        handlers = sys.modules.get("wsgiref.handlers")  # (not imported: no such server)
        if not wsgiref and (handlers is None
                            or not isinstance(call.__self__, handlers.BaseHandler)):
            return call
        held: Callable[[], Any] = weakref.WeakMethod(call)
    elif not wsgiref or call.__class__ is _Weakly:
        return call
    else:
        try:
            held = weakref.ref(call)
        except TypeError:  # (no weak reference to it: kept)
            return call
    return _Weakly(held, gone)


class _Weakly:
    """A server's callable held weakly (:func:`_weakly`)."""

    __slots__ = ("held", "gone")

    def __init__(self, held: Callable[[], Any], gone: Callable[..., Any]) -> None:
        self.held = held
        self.gone = gone

    def __call__(self, *args: Any) -> Any:
        call = self.held()
        return (self.gone if call is None else call)(*args)


def _started(status: str, headers: Any, exc_info: Any = None) -> Any:
    """wsgiref's ``start_response`` once the headers went out (they have at the
    iterable's end): in place of an outer middleware's, gone (:func:`_weakly`)."""
    if exc_info is not None:
        raise exc_info[1].with_traceback(exc_info[2])
    raise AssertionError("Headers already set!")


def _late_write(data: bytes) -> None:
    """An outer middleware's ``write`` called after the iterable's end, once gone
    (:func:`_weakly`): nothing more goes out (wsgiref would put the bytes on the
    connection after the body's end), and nothing is raised into the app."""
