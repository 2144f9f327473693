"""What the client of each WSGI server got when the answer failed: the app raised
before the server sent a chunk, a signal's exception (KeyboardInterrupt, SystemExit)
came before or within the answer, the server refused the first chunk, or the client
left. wsgiref (and Django's runserver), werkzeug, gunicorn (sync, gthread, gevent),
waitress, cheroot, uWSGI and granian each answer in their own way: their own 500, the
started status, a closed connection, or nothing at all; :func:`log_failure` marks it
on the exchange's log.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics.capture.wsgi_servers import (
    ANSWERS_OWN_VERSION,
    answered_version,
    holds_empty_chunks,
    under_cheroot,
    under_wsgiref,
)

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture
    from readme_metrics.capture.wsgi_input import InputTee

__all__ = ["answers_500", "client_left", "head_unsent", "log_failure", "refused",
           "refuses_unsent", "server_answer", "signals_land", "unanswered_at",
           "wsgiref_head_unsent"]


def signals_land() -> bool:
    """Whether a signal's exception (Ctrl-C's KeyboardInterrupt, a SIGTERM handler's
    SystemExit) may land in this request's thread while a development server writes the
    answer: it is the process's main thread. Asked by ``WSGICapture.wrap`` only under
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


def refused(capture: WSGICapture, error: BaseException) -> bool:
    """``WSGICapture.refused`` (bound as it is): the server's write of the answer's first
    chunk raised ``error``: log the 500 it answers instead when it sent none of the app's
    answer (:func:`refuses_unsent`). True when it did."""
    try:
        if refuses_unsent(capture.environ, error):
            capture.server_answered(500, "Internal Server Error",
                                    "it refused the answer's start")
            return True
    except Exception:  # pragma: no cover - never raise into the server
        pass
    return False


def head_unsent(capture: WSGICapture) -> bool:
    """``WSGICapture.head_unsent`` (bound as it is): whether wsgiref's handler has not sent
    the answer's head yet (:func:`wsgiref_head_unsent`), asked when an exception stopped
    its write of the first chunk. Never raises."""
    try:
        return wsgiref_head_unsent(capture.server_start_response)
    except Exception:  # pragma: no cover - never raise into the server
        return False


def client_left(error: BaseException) -> bool:
    """Whether ``error``, raised by the server's write of the answer, says the client is
    gone: an OSError (a broken pipe or reset connection, a timeout, an SSL error; uWSGI's
    "write error") or waitress's ClientDisconnected. The answer was then not cut short by
    its side: the servers drop the rest of it, and the log has no "broke off" comment (as
    under ASGI). Any other exception there (a signal's KeyboardInterrupt or SystemExit,
    a server's refusal of a chunk) ends the answer the client was still reading."""
    return isinstance(error, OSError) or type(error).__name__ == "ClientDisconnected"


# gunicorn answers 400 for its own errors reading a malformed chunked body, raised out of
# the app from wsgi.input (gunicorn.workers.base.Worker.handle_error), not 500.
_GUNICORN_BAD_BODY = frozenset({"InvalidChunkSize", "ChunkMissingTerminator",
                                "InvalidChunkExtension"})


def server_answer(error: Optional[BaseException], tee: Optional[InputTee]
                  ) -> tuple[int, str]:
    """The status a server answers for ``error`` raised out of the app before anything
    was sent: 400 for gunicorn's own malformed-body errors from ``wsgi.input``, else 500."""
    if (error is not None and tee is not None and error is tee.failed
            and type(error).__module__ == "gunicorn.http.errors"
            and type(error).__name__ in _GUNICORN_BAD_BODY):
        return 400, "Bad Request"
    return 500, "Internal Server Error"


def log_failure(capture: WSGICapture, unsent: bool = False, in_call: bool = False,
                error: Optional[BaseException] = None) -> None:
    """The app raised ``error``: mark on ``capture`` what the client gets (SPEC 5).

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
    if in_call and capture.wrote and not capture.write_failed:
        # What write() was given went out: the servers close the connection with no
        # last chunk, or short of the Content-Length (Exchange.response_body_cut).
        # Not when the server's write() raised (the client left): the app raised
        # because of it, and broke nothing off.
        capture.broke_off = True
    if in_call:  # wrap() never ran: the server's own 500 has its status line too
        software = capture.environ.get("SERVER_SOFTWARE")
        if software.__class__ is str and software[:1] == ANSWERS_OWN_VERSION:
            capture.answered = answered_version(capture.environ, software)
    if unsent:
        status, reason = server_answer(error, capture.tee)
        closed = (None if error is None or capture.wrote
                  else unanswered_at(capture.environ, error, in_call, bool(capture.status)))
        if closed is not None:  # a signal's (uWSGI: more): the server sent nothing at all
            name = type(error).__name__
            capture.no_answer(f"stopped serving the request at a {name}" if closed else
                              f"left the request unanswered at a {name}, the connection "
                              "open", capture.status, closed)
        elif status != 500 and not capture.wrote:  # gunicorn's own answer: see above
            capture.server_answered(status, reason, "a malformed request body")
        elif capture.status and answers_500(capture.environ, in_call, capture.wrote):
            # none of what write() was given went out (granian has no write())
            capture.server_answered(500, "Internal Server Error", "the app raised")
