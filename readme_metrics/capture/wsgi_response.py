"""The WSGI response on its way to the server: the app's iterable, and its headers.

:class:`Response` passes the app's iterable through chunk by chunk (each recorded,
bounded) and finishes the exchange's log when the server closes it (in background mode
already when it is read to its end), or, when nobody does, when it is dropped.
:func:`read_along` hands the server headers an app gave as an iterator the way it gave
them, keeping what the server read for the log.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import tempfile
import threading
import weakref
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

from readme_metrics.capture import unclosed
from readme_metrics.capture.body import GRACE
from readme_metrics.capture.recorder import response_content_length, sets_docs_url

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["Response", "SizedResponse", "answers_500", "client_left", "cuts_at_length",
           "ends_after_close", "ends_at_close", "file_rest", "holds_empty_chunks",
           "ignores_late_start", "keeps_earlier_headers", "plain_server", "read_along",
           "refuses_unsent", "sends_list_as_is", "sends_unallowed_body",
           "sends_written_head_body", "signals_land", "takes_raising_restart", "unanswered_at",
           "under_cheroot", "under_wsgiref", "wsgiref_head_unsent"]


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


def file_rest(wrapper: Any, environ: Any, length: int = -1) -> int:
    """Bytes a server sends of a ``wsgi.file_wrapper`` whose response declares ``length``
    (its Content-Length; -1: none): the rest of its file from where it stands, measured
    as the servers do (gunicorn's sendfile by fstat, waitress by a seek to the end and
    back, wsgiref reads to the end), and no more than ``length`` (gunicorn and waitress
    stop there, and at the end of a file shorter than it); under uWSGI, whose sendfile
    sends a file with a descriptor whole, from offset 0, and reads any other file to its
    end, whatever the header says, the file's. ``length`` when the file cannot be measured
    without reading it (-1 without one). Only a plain file (an ``open(..., "rb")``, a
    temporary file) or a ``BytesIO`` is measured: another object's size may not be its
    descriptor's (a gzip or bz2 file's is the compressed one), and its seek may cost
    (decompressing) or not come back. Neither moves nor rolls over the file (a
    SpooledTemporaryFile's fileno() would write it to disk), and never raises."""
    # wsgiref's, gunicorn's and werkzeug's FileWrapper keep it as filelike; waitress's
    # ReadOnlyFileBasedBuffer as file; uWSGI's file_wrapper returns the file itself.
    uwsgi = "uwsgi.version" in environ
    if uwsgi:
        filelike = wrapper
    else:
        filelike = getattr(wrapper, "filelike", None)
        if filelike is None:
            filelike = getattr(wrapper, "file", None)
    try:
        file = _plain_file(filelike)
        if file is None:
            return length
        position = file.tell()
        if position.__class__ is not int or position < 0:
            return length
        if file.__class__ is io.BytesIO:
            with file.getbuffer() as view:
                rest = max(view.nbytes - position, 0)
            return rest if uwsgi else _at_most(length, rest)
        descriptor = file.fileno()
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return length  # a pipe or a socket: its length is known once it is sent
        if uwsgi:
            # uWSGI's sendfile sends the whole file from offset 0 whatever its position
            # (a file without a descriptor, a BytesIO, it reads from where it stands).
            return status.st_size
        sent = _at_most(length, max(status.st_size - position, 0))
        if "gunicorn.socket" in environ:
            offset = os.lseek(descriptor, 0, os.SEEK_CUR)
            if (offset != position
                    and _at_most(length, max(status.st_size - offset, 0)) != sent):
                # A buffered file the app read from: gunicorn's sendfile starts at the
                # descriptor's offset (past what the buffer took), its loop (no
                # sendfile: TLS, --no-sendfile) at the file's position.
                return -1
        return sent
    except Exception:  # noqa: BLE001 - the app's object: unknown rather than an error
        return length


def _at_most(length: int, rest: int) -> int:
    """``rest`` bytes of a file, sent under a Content-Length of ``length`` (-1: none)."""
    return rest if length < 0 or rest < length else length


def _plain_file(filelike: Any) -> Any:
    """``filelike`` itself, or the file a tempfile object holds, when it is a file of the
    io module whose size and position are its bytes' (FileIO, BufferedReader or
    BufferedRandom over one, BytesIO); else None."""
    if filelike.__class__ is tempfile.SpooledTemporaryFile:
        filelike = filelike._file  # BytesIO, or the file it rolled over to
    elif filelike.__class__ is _TEMPORARY_WRAPPER:
        filelike = filelike.file  # NamedTemporaryFile's
    kind = filelike.__class__
    if kind is io.BytesIO or kind is io.FileIO:
        return filelike
    if (kind is io.BufferedReader or kind is io.BufferedRandom) \
            and filelike.raw.__class__ is io.FileIO:
        return filelike
    return None


_TEMPORARY_WRAPPER = getattr(tempfile, "_TemporaryFileWrapper", None)


def plain_server(environ: Any) -> bool:
    """True under a server none of the checks below tells apart (not waitress, gunicorn,
    uWSGI or granian): each then gives its plain answer (False; ``answers_500``: not
    ``wrote``), so that the middleware asks once per request instead of each."""
    return not ("waitress.client_disconnected" in environ or "gunicorn.socket" in environ
                or "uwsgi.version" in environ or environ.get("SERVER_SOFTWARE") == "Granian")


def holds_empty_chunks(environ: Any) -> bool:
    """True under a server that sends nothing for an empty chunk, the status included
    (waitress, which puts this key in every environ)."""
    return "waitress.client_disconnected" in environ


def under_cheroot(environ: Any) -> bool:
    """True under cheroot, CherryPy's server (SERVER_SOFTWARE "Cheroot/11.1.2 Server", or
    CherryPy's "CherryPy/18.10.0 Cheroot/11.1.2 Server"); it puts no key of its own in
    the environ. Asked only on the rare paths below, never once per request."""
    software = environ.get("SERVER_SOFTWARE")
    return software.__class__ is str and "Cheroot/" in software


def under_wsgiref(environ: Any) -> bool:
    """True under wsgiref's server (SERVER_SOFTWARE "WSGIServer/0.2 CPython/3.11"), and so
    under Django's runserver, built on it (:func:`_under_runserver` tells them apart)."""
    software = environ.get("SERVER_SOFTWARE")
    return software.__class__ is str and software.startswith("WSGIServer/")


def signals_land() -> bool:
    """Whether a signal's exception (Ctrl-C's KeyboardInterrupt, a SIGTERM handler's
    SystemExit) may land in this request's thread while a development server writes the
    answer: it is the process's main thread. Asked by ``WSGIExchange.wrap`` only under
    wsgiref's server (runserver ``--nothreading``) or werkzeug's (an unthreaded
    ``app.run()``), which it tells apart itself (``SERVER_SOFTWARE``, read there already,
    and ``werkzeug.socket``: no call on every list answer), and only for a non-empty
    list or tuple under a server :func:`plain_server` does not tell apart (gunicorn's
    sync worker, in the main thread too, keeps the list's fast path). A list or tuple
    answer is then passed through as an iterable, so that close() sees a stop."""
    return threading.get_ident() == threading.main_thread().ident


def wsgiref_head_unsent(start_response: Any) -> bool:
    """Whether wsgiref's handler (runserver's too), whose ``start_response`` the app was
    given, has not yet marked the answer's head sent: an exception landing in its
    ``write()`` of the first chunk before that (a signal's, at its entry) has it answer
    its own 500, none of the app's answer sent. False under any other server, and for a
    ``start_response`` an outer middleware made (not looked into). Asked only when such
    an exception stopped the answer at its first chunk."""
    handler = getattr(start_response, "__self__", None)
    handlers = sys.modules.get("wsgiref.handlers")
    return (handlers is not None and isinstance(handler, handlers.BaseHandler)
            and handler.headers_sent is False)


def sends_unallowed_body(environ: Any, head: bool) -> bool:
    """Whether the server sends the body an app gives to an answer HTTP allows none
    (RFC 9110 6.4.1: to HEAD when ``head``, else a 1xx, 204 or 304 status), so that the
    log has the bytes the client got. werkzeug's (``flask run``), wsgiref, cheroot and
    uWSGI send every such body (uWSGI 2.0.30 over --http-socket, shown by raw clients:
    HEAD, 103, 204 and 304, from the iterable and from ``write()``); Django's
    runserver all but HEAD's (it drops that one); waitress and gevent's pywsgi (alone, or
    gunicorn's ``-k gevent_pywsgi``: SERVER_SOFTWARE "gevent/...") only HEAD's. gunicorn
    and granian send none, and neither, as far as is known, do the others: nothing is
    logged there. Asked only for such an answer."""
    if "gunicorn.socket" in environ:
        return False
    if "uwsgi.version" in environ:
        return True
    if "waitress.client_disconnected" in environ:
        return head
    software = environ.get("SERVER_SOFTWARE")
    if software.__class__ is not str:
        return False
    if software.startswith("Werkzeug/") or "Cheroot/" in software:
        return True
    if software.startswith("WSGIServer/"):
        return not (head and _under_runserver(environ))
    return head and software.startswith("gevent/")


def sends_written_head_body(environ: Any) -> bool:
    """Whether the server sends what a HEAD answer's app gives to ``write()`` though it
    drops its iterable's body (``sends_unallowed_body`` False for HEAD): Django's
    runserver, whose HEAD consumes the iterable unsent, while wsgiref's ``write()``,
    which it keeps, sends each chunk at once. Asked only for such a chunk."""
    return under_wsgiref(environ) and _under_runserver(environ)


def _under_runserver(environ: Any) -> bool:
    """Under wsgiref's SERVER_SOFTWARE ("WSGIServer/"), whether it is Django's runserver,
    built on it: its ``wsgi.input`` is a Django LimitedStream (under the WSGI middleware's
    InputTee, if there)."""
    server_input = environ.get("wsgi.input")
    server_input = getattr(server_input, "_input", server_input)
    kind = type(server_input)
    return kind.__name__ == "LimitedStream" and kind.__module__ == "django.core.handlers.wsgi"


def answers_500(environ: Any, in_call: bool, wrote: bool) -> bool:
    """Whether the server answers its own 500 when an app that started a response raises
    before the server sent a chunk of it: from its call (``in_call``), or at its
    iterable's first chunk; ``wrote``: write() was called. PEP 3333 servers (wsgiref,
    werkzeug, gunicorn, waitress) do unless write() sent the status; uWSGI sends the
    started status whatever raised; granian answers 500 for a raise from the call, even
    after write(), and the started status for one from the iterable. So does cheroot,
    whose ``finally`` sends the started headers when the iterable raised (and, after
    write(), nothing more: 500 from the call only without it)."""
    if "uwsgi.version" in environ:
        return False
    if environ.get("SERVER_SOFTWARE") == "Granian":
        return in_call
    if under_cheroot(environ):
        return in_call and not wrote
    return not wrote


def unanswered_at(environ: Any, error: BaseException, in_call: bool,
                  started: bool = True) -> Optional[bool]:
    """Whether the server sends no answer at all when ``error``, raised out of the app
    before it had any of its answer, is no Exception (a signal's KeyboardInterrupt, a
    SystemExit, an app's ``sys.exit()``): None when it answers it as any error
    (:func:`answers_500`); else whether it closes the connection (True), or leaves the
    request unanswered with the connection open (False). werkzeug's handler (``flask
    run``), gunicorn's gthread worker (its app runs in a thread of its pool) and
    waitress's catch Exception only: the first two then close the connection with
    nothing sent, waitress's thread logs the exception and leaves the request as it is
    (False); gunicorn's gevent worker closes it with nothing sent at a SystemExit, and
    answers its 500 for a KeyboardInterrupt. cheroot lets it through too (a shutdown
    request: it stops the server) and closes the connection, with nothing sent when it
    came from the app's call (``in_call``); from the iterable its ``finally`` sent the
    started head first (:func:`answers_500`). wsgiref (and Django's runserver), whose
    ``except:`` takes anything, and gunicorn's sync worker, which catches BaseException,
    answer their 500. uWSGI sends the started status whatever raised (answers_500), but
    for a SystemExit, which ends its worker, and for anything raised before a status was
    ``started``: it closes the connection with nothing sent. granian is taken to answer
    as for any error (what it sends then varies from run to run). Asked only when the
    app raised before the server had a chunk."""
    if "uwsgi.version" in environ:
        return True if isinstance(error, SystemExit) or not started else None
    if isinstance(error, Exception):
        return None
    if "waitress.client_disconnected" in environ:
        return False
    if "gunicorn.socket" in environ:
        # The worker class's module is imported in its worker's process only. gevent's
        # worker swallows a SystemExit and closes the connection (its KeyboardInterrupt
        # gets the 500); asked first: its greenlets are no main thread either.
        if "gunicorn.workers.ggevent" in sys.modules:
            return True if isinstance(error, SystemExit) else None
        if ("gunicorn.workers.gthread" in sys.modules
                and threading.current_thread() is not threading.main_thread()):
            return True
        return None
    software = environ.get("SERVER_SOFTWARE")
    if software.__class__ is str and software.startswith("Werkzeug/"):
        return True
    if under_cheroot(environ):
        return True if in_call else None
    return None


def ends_after_close(environ: Any) -> bool:
    """Whether the server writes the end of the answer (a chunked body's last chunk;
    cheroot the head too, when no chunk went out) only once the app's iterable's
    ``close()`` returned, so that a ``close()`` that raises leaves the client's answer
    without its end (waitress and cheroot, which then close the connection; waitress
    answers its own 500 when nothing went out yet). gunicorn and werkzeug write the end
    before calling ``close()``; wsgiref answers HTTP/1.0, ended by the close. Asked only
    at the iterable's end and when its ``close()`` raised."""
    return "waitress.client_disconnected" in environ or under_cheroot(environ)


def keeps_earlier_headers(environ: Any) -> bool:
    """Whether a second start_response (with exc_info, before the status went out) adds
    its headers to those of the first instead of replacing them (gunicorn, cheroot)."""
    return "gunicorn.socket" in environ or under_cheroot(environ)


def takes_raising_restart(environ: Any) -> bool:
    """Whether a start_response with exc_info before the status went out takes the new
    status and headers, then raises all the same (uWSGI: it sets the exception as
    Python's current error and returns, so the call raises SystemError)."""
    return "uwsgi.version" in environ


def ignores_late_start(environ: Any) -> bool:
    """Whether the server takes the status and headers the app gave by the time its call
    returned, and ignores any start_response from its iterable (granian: none given by
    then is a 200 with no headers; a 1xx other than 101, its own 500)."""
    return environ.get("SERVER_SOFTWARE") == "Granian"


def cuts_at_length(environ: Any, result: Any) -> bool:
    """Whether the server sends no more of the body than the Content-Length the app
    declared (one too short: the length of a text, not of its bytes): waitress and
    gunicorn do; granian does, but for a list, which it sends whole. The others send it
    all, and the client reads the rest as the next answer's start."""
    return ("waitress.client_disconnected" in environ or "gunicorn.socket" in environ
            or (ignores_late_start(environ) and not isinstance(result, list)))


#: The first letter of the SERVER_SOFTWARE of every server :func:`answered_version`
#: knows (wsgiref's and runserver's "WSGIServer/", werkzeug's "Werkzeug/"): an adapter
#: asks it only then, one test per request for the other servers.
ANSWERS_OWN_VERSION = "W"


def answered_version(environ: Any, software: str) -> Optional[str]:
    """The HTTP version of the status line a development server writes whatever the
    request's (SERVER_PROTOCOL), for the HAR response's ``httpVersion``; None where it is
    the request's (gunicorn, waitress, uWSGI answer in the request's version).

    wsgiref's simple_server always answers ``HTTP/1.0`` (its handler's ``http_version``);
    Django's runserver, built on it with the same SERVER_SOFTWARE, ``HTTP/1.1`` (its
    ``wsgi.input`` is a Django LimitedStream); werkzeug's (``flask run``) the
    ``protocol_version`` of its request handler class, read there: ``HTTP/1.0`` by
    default, and ``HTTP/1.1`` once any server of the process was made threaded or forked
    (``make_server`` sets it on the class). A handler class of the app's own is not seen.
    """
    if software.startswith("WSGIServer/"):
        return "HTTP/1.1" if _under_runserver(environ) else "HTTP/1.0"
    if software.startswith("Werkzeug/"):
        serving = sys.modules.get("werkzeug.serving")
        version = getattr(getattr(serving, "WSGIRequestHandler", None), "protocol_version",
                          None)
        return version if version in ("HTTP/1.0", "HTTP/1.1") else None
    return None


def refuses_unsent(environ: Any, error: BaseException) -> bool:
    """Whether a server whose write of the answer's first chunk raised ``error`` sent none
    of the app's answer and answers its own 500 instead. waitress builds the status line
    and headers there, and one not latin-1 raises UnicodeEncodeError before any is
    queued (a str chunk fails after); wsgiref asserts the chunk is bytes before it sends
    anything (a str: AssertionError; a header not latin-1 fails after the status line
    went out). gunicorn and werkzeug send the status and headers before they check the
    chunk: the client got the app's status."""
    if holds_empty_chunks(environ):
        return isinstance(error, UnicodeEncodeError)
    return isinstance(error, AssertionError) and under_wsgiref(environ)


def ends_at_close(environ: Any, headers: Any) -> bool:
    """Whether the client of werkzeug's development server learns where the answer ends
    only when the connection closes, after the response's ``close()``: no Content-Length,
    and werkzeug does not chunk it (it answers HTTP/1.0 unless threaded or forked, or to
    an HTTP/1.0 request). A wait in ``close()`` would then hold back the answer's end."""
    if response_content_length(headers) >= 0:
        return False
    return not (environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and (
        environ.get("wsgi.multithread") or environ.get("wsgi.multiprocess")))


def client_left(error: BaseException) -> bool:
    """Whether ``error``, raised by the server's write of the answer, says the client is
    gone: an OSError (a broken pipe or reset connection, a timeout, an SSL error; uWSGI's
    "write error") or waitress's ClientDisconnected. The answer was then not cut short by
    its side: the servers drop the rest of it, and the log has no "broke off" comment (as
    under ASGI). Any other exception there (a signal's KeyboardInterrupt or SystemExit,
    a server's refusal of a chunk) ends the answer the client was still reading."""
    return isinstance(error, OSError) or type(error).__name__ == "ClientDisconnected"


def sends_list_as_is(result: Any, environ: Any, headers: Sequence[Any]) -> bool:
    """Whether a list or tuple the app returned goes to the server as it is, its log
    finished now: not when the server may refuse its first chunk (not bytes: wsgiref) or
    the headers (not latin-1: waitress), so that the refusal is seen (``Response``)."""
    if result and result[0].__class__ is not bytes:
        return False
    return not (holds_empty_chunks(environ) and _not_latin_1(headers))


def _not_latin_1(headers: Sequence[Any]) -> bool:
    """True when waitress cannot encode ``headers`` as latin-1 (or they are no pairs of
    strings): it refuses them when it sends the head, with its own 500."""
    try:
        for name, value in headers:
            if not (value.isascii() and name.isascii()):
                name.encode("latin-1")
                value.encode("latin-1")
    except Exception:  # noqa: BLE001 - not latin-1, or no str: waitress refuses it
        return True
    return False


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
            if tee is not None and capture.rest_in_close():
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
                capture.settle_body(GRACE)
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
                and _not_latin_1(capture.headers)):
            capture.server_answered(500, "Internal Server Error",
                                    "headers that are not Latin-1")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        capture = self._capture
        if self._unsent:
            self.head_refused()
        if not self._ended and self._iterator is not None:
            # An exception that stopped the server's iteration or its write of a chunk
            # is live here (wsgiref's except, the others' finally): a signal's, landing
            # after the app's next() returned, or the server's refusal of the chunk.
            error = sys.exc_info()[1]
            while isinstance(error, GeneratorExit):
                # A generator outside (a middleware's) was closed early, closing this:
                # what had it closed is its context (the server's error), if anything.
                error = error.__context__
            if error is not None and error is not self._known:
                self._stopped(error)
        tee = capture.tee
        if tee is not None:
            tee.discard_over()  # the app's reads in close() are its own, not werkzeug's
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        except BaseException:
            self._close_raised()
            raise
        finally:
            # werkzeug's discard read what came after the answer (see discard_tap): wait
            # for more only where the client has its answer's end already.
            capture.finish_log(0.0 if tee is not None and tee.discard_tapped and
                               ends_at_close(capture.environ, capture.headers) else GRACE)
            # Counted in flight until its log is queued: a close() of the app's still
            # running at exit (waitress, cheroot: the log waits for it) has it cut then.
            self._settled()

    def _stopped(self, error: BaseException) -> None:
        """``error`` stopped the answer after the app's ``next()`` returned a chunk: in
        this middleware's handling of it (``__next__``: the server did not get the
        chunk), or in the server's (its write). The log says what the client got: the
        server's own 500 when none of the answer went out (as for the app's raise there:
        :meth:`WSGICapture.fail`; wsgiref's when its write of the first chunk stopped
        before it marked the head sent), or when it refused the answer's start; nothing more
        when the client left (:func:`client_left`); else the answer broke off."""
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
