"""One exchange of the WSGI middleware (:mod:`readme_metrics.capture.wsgi`), from the
app's call to the end of its response: :class:`WSGICapture`, its own recorder.

It wraps what the server gave the app (``start_response``, ``write``, ``wsgi.input``
when the request may have a body), calls the grouping function once, hands the app's
response back wrapped (or a ``wsgi.file_wrapper`` one as the very same object) and
queues one pending record when the response ends, fails, or the process exits first
(the log of an exchange cut short, at exit or by a signal's raise: :mod:`.wsgi_cut`).
The request thread only copies references and counts bytes.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from readme_metrics.capture import wsgi_cut
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.file_rest import file_rest
from readme_metrics.capture.pending import LEFT_IN_WRITE, Pending
from readme_metrics.capture.recorder import KNOWN_STATUS_PARTS, Recorder, status_parts
from readme_metrics.capture.request_head import EnvironRequest
from readme_metrics.capture.response_headers import response_content_length, sets_docs_url
from readme_metrics.capture.uwsgi_sendfile import NOTHING
from readme_metrics.capture.weak_server_calls import let_go
from readme_metrics.capture.wsgi_failures import (
    client_left,
    head_unsent,
    log_failure,
    refused,
    signals_land,
)
from readme_metrics.capture.wsgi_grouping import NO_BODY, UNKNOWN, identify
from readme_metrics.capture.wsgi_input import InputTee
from readme_metrics.capture.wsgi_request_body import settle_body, tee_input, weak_environ
from readme_metrics.capture.wsgi_response import Response, SizedResponse, read_along
from readme_metrics.capture.wsgi_servers import (
    ANSWERS_OWN_VERSION,
    answered_version,
    cuts_at_length,
    ignores_late_start,
    keeps_earlier_headers,
    sends_list_as_is,
    sends_unallowed_body,
    sends_written_head_body,
    takes_raising_restart,
)
from readme_metrics.delivery.interrupted import handed
from readme_metrics.pipeline import MetricsPipeline

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from readme_metrics.capture.wsgi import MetricsMiddleware

__all__ = ["NO_BODY", "WSGICapture"]


class WSGICapture(Recorder):
    """One exchange while the app runs and its response is sent (its own recorder).

    ``wsgi.input`` is replaced by an :class:`InputTee` only when the request may have a
    body; without one the app keeps the server's input, untouched, and the log has none.
    """

    # server_start_response, server_write: the server's callables (held weakly once the
    # answer is over: weak_server_calls.let_go).
    __slots__ = ("middleware", "pipeline", "environ", "request", "tee", "group",
                 "server_start_response", "server_write", "wrote", "write_failed", "sent",
                 "returned", "__weakref__")

    def __init__(self, middleware: MetricsMiddleware, pipeline: MetricsPipeline,
                 environ: WSGIEnvironment, start_response: StartResponse) -> None:
        self.middleware = middleware
        self.pipeline = pipeline
        self.environ = environ
        config = pipeline.config
        limit = config.max_body_bytes
        # With no proxy trusted, what environ_strings gives, (keys, values, bytes), is the
        # queued record's request as it is (Pending): no object made for it; the values
        # one string (joined: no GC container queued for them, cpu34).
        trusted = config.trusted_proxies
        self.request: Any = (EnvironRequest(environ, trusted) if trusted
                             else environ_strings(environ, True))
        self.group: Any = UNKNOWN
        self.server_start_response = start_response
        self.wrote = False
        self.write_failed = False  # the server's write() raised (the client left)
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
                self.tee = tee = tee_input(environ, wsgi_input, start_response, limit)
                body = tee.record
                # Weak: the environ holds the tee, which would otherwise hold it back.
                tee.environ_of = weak_environ(self)
                environ["wsgi.input"] = tee
                # An outer webob layer may have marked the input seekable; the tee is
                # not, and webob in the app would call seek() on it. Unmarked, webob
                # copies the body.
                environ.pop("webob.is_body_seekable", None)
        Recorder.__init__(self, pipeline.new_id(), limit, body,
                          environ.get("REQUEST_METHOD") == "HEAD")

    def identified(self) -> bool:
        """True once the grouping function has answered: :meth:`finish_log` then calls no
        code of the app's (the exit may run it in its own thread)."""
        return self.group is not UNKNOWN

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Optional[OptExcInfo] = None) -> Callable[[bytes], Any]:
        # status_parts' cache read here: a call fewer for the statuses seen before.
        known = KNOWN_STATUS_PARTS.get(status) if status.__class__ is str else None
        code, reason = status_parts(status) if known is None else known
        environ = self.environ
        if self.returned and ignores_late_start(environ):
            # granian took the status when the call returned: this one never goes out.
            if exc_info is None:
                self.server_write = self.server_start_response(status, headers)
            else:
                self.server_write = self.server_start_response(status, headers, exc_info)
            return self.write
        group = self.group
        if group is UNKNOWN:
            group = identify(self)
        # A second call under gunicorn adds its headers to the first one's.
        kept = self.headers if self.status and keeps_earlier_headers(environ) else ()
        extra = None
        if group is not None and not (kept and sets_docs_url(kept)):
            pipeline = self.pipeline
            base = pipeline.fixed_base
            # (Delivery.accepting written out: its property's call cost ~600 Ir a
            # request; cpu27.)
            batcher = pipeline.delivery._batcher
            if base is not None and not (batcher.closed or batcher.queue.refusing
                                         or batcher.health.paused_until):
                # documentation_url() written out for a base_log_url: a call fewer.
                extra = ("x-documentation-url", f"{base}/logs/{self.log_id}")
            else:
                url = pipeline.documentation_url(self.log_id)
                if url is not None:
                    extra = ("x-documentation-url", url)
        recorded: Any
        # (PEP 3333's list, the usual, has no __next__: not asked, a call fewer.)
        if type(headers) is not list and hasattr(headers, "__next__"):
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
                self.server_write = self.server_start_response(status, headers)
            else:
                self.server_write = self.server_start_response(status, headers, exc_info)
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

    def write(self, data: bytes) -> Any:
        """The ``write`` callable the app gets: recorded, then the server's."""
        first = not self.wrote
        self.wrote = self.sent = True
        # (runserver sends a HEAD answer's write() chunks, not its iterable's.)
        self.record(data, self.no_body and self.head
                    and sends_written_head_body(self.environ))
        try:
            return self.server_write(data)
        except BaseException as error:
            # The client left, or the server answered its own 500 instead: nothing broke
            # off when the app's call raises on (fail()). Else (a signal landing in the
            # server's write, a refused chunk) the answer broke off there.
            if client_left(error):
                self.write_failed = True
                self.left = LEFT_IN_WRITE  # (the log says it left)
            elif first and self.refused(error):
                self.write_failed = True
            raise

    def finish_log(self, grace: float = 0.0) -> None:
        """Turn the exchange into one queued log (exactly once). Never raises."""
        # Recorder.finish() written out (a call fewer per request): deleting the slot
        # tests and clears it in one C call, so only the first of two threads goes on.
        try:
            del self._unfinished
        except AttributeError:
            return
        pending = None
        try:
            if self.tee is not None:
                settle_body(self, grace)
            group = self.group
            if group is UNKNOWN:
                group = identify(self)
            if group is None:
                self.pipeline.skip()
                return
            pending = Pending(self, self.request, group, perf_counter())
            self.pipeline.submit(pending)
        except Exception:
            self.pipeline.logger.exception("readme_metrics: could not record a request")
        except BaseException as error:
            # A signal handler's raise (SystemExit, KeyboardInterrupt) landing here, in
            # the main thread: the log is queued first (submit did, once begun), then
            # it goes on unchanged (delivery/interrupted.py). Whether it was queued the
            # log says (handed), not the traceback: the raise lands after submit
            # returned too, here, where it went through no submit (review134).
            if pending is None or not handed(pending):
                wsgi_cut.queue_interrupted(self, pending, error)
            raise

    # The server's calls held weakly from the iterable's end (weak_server_calls.py), and
    # the server's refusal of the first chunk (wsgi_failures.py): bound as they are.
    let_go = let_go
    head_unsent = head_unsent
    refused = refused

    # The exchange cut short (capture/wsgi_cut.py): at exit, unclosed's hook calls these
    # in the exiting thread; bound as they are, no call added.
    finish_at_exit = wsgi_cut.finish_at_exit
    cut_at_exit = wsgi_cut.cut_at_exit

    def fail(self, unsent: bool = False, in_call: bool = False,
             error: Optional[BaseException] = None) -> None:
        """The app raised ``error``: log what the client gets (SPEC 5,
        :func:`~.wsgi_failures.log_failure`), and finish the log."""
        log_failure(self, unsent, in_call, error)
        Recorder.fail(self)
        self.finish_log()

    def wrap(self, result: Iterable[bytes], sent_file: Any = NOTHING) -> Iterable[bytes]:
        """What goes back to the server for the app's ``result``; ``sent_file``: what
        uWSGI's file_wrapper returned in the app's call (see uwsgi_sendfile)."""
        environ = self.environ
        # One question instead of four for the servers that need none of them
        # (plain_server() written out: a call fewer per request).
        software = environ.get("SERVER_SOFTWARE")
        waitress = "waitress.client_disconnected" in environ
        gunicorn = "gunicorn.socket" in environ
        plain = not (waitress or gunicorn or "uwsgi.version" in environ
                     or software == "Granian")
        if plain:
            if software.__class__ is str and software[:1] == ANSWERS_OWN_VERSION:
                self.answered = answered_version(environ, software)
        elif gunicorn and not waitress and software != "Granian":
            # gunicorn's answers written out too (cpu22, four calls fewer): no late
            # start ignored, cut at the Content-Length, a list of bytes sent as it is.
            self.cut_at_length = True
        else:
            gunicorn = False
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
        kind = type(result)
        # A list or a tuple is no server's file_wrapper object (gunicorn's, waitress's,
        # wsgiref's are classes of their own): not asked of the usual list answer, two
        # calls fewer under those servers.
        if (file_wrapper is not None and kind is not list and kind is not tuple
                and isinstance(file_wrapper, type)
                and isinstance(result, file_wrapper)) or result is sent_file:
            # Same object back, so the server keeps its sendfile fast path.
            length = response_content_length(self.headers)
            self.omit_body(length if self.no_body else file_rest(result, environ, length))
            self.finish_log()
            return result
        if ((kind is list or kind is tuple) and self.status
                and not (self.tee is not None and self.tee.arrives_later(environ))
                and ((not result or (result[0].__class__ is bytes  # type: ignore[index]
                                     # wsgiref's or werkzeug's server (under_wsgiref()
                                     # written out: a call fewer on each list answer)
                                     and not ((software.__class__ is str
                                               and software.startswith("WSGIServer/")
                                               or "werkzeug.socket" in environ)
                                              and signals_land())))
                     if plain  # sends_list_as_is's answer under such a server
                     else (not result or result[0].__class__ is bytes)  # type: ignore[index]
                     if gunicorn  # its answer under gunicorn
                     else sends_list_as_is(result, environ, self.headers))):
            # Nothing to wait for after the response: the list goes back as it is (some
            # servers frame a list differently from other iterables). Not where a
            # signal may stop the server's write of it (signals_land): see Response.
            # The usual one chunk of bytes, nothing kept yet and all of it fits: kept
            # as Recorder.record() keeps a first chunk, written out (a call fewer).
            chunk: Any = result[0] if len(result) == 1 else None  # type: ignore[index,arg-type]
            if (chunk.__class__ is bytes and not self.kept_size and not self.no_body
                    and len(chunk) <= self.limit):
                self.first = chunk
                self.body_size += len(chunk)
                self.kept_size = len(chunk)
            else:
                record = self.record
                for chunk in result:
                    record(chunk)
            self.ended = True
            self.finish_log()
            return result
        tee = self.tee
        if tee is not None and "werkzeug.socket" in environ:
            tee.watch_writes(self.server_start_response)  # (a body left unread: see there)
        if hasattr(result, "__len__"):
            return SizedResponse(self, result)
        return Response(self, result)
