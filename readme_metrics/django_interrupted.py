"""A signal handler's raise in the Django middleware's own steps (delivery50).

Under a server that runs the app in the process's main thread (``manage.py runserver
--nothreading --noreload``; wsgiref; gunicorn's sync worker), a signal handler that
raises (a SIGTERM handler's ``sys.exit``, as Django's own under its autoreloader; Ctrl-C's
KeyboardInterrupt) raises wherever that thread is: in the middleware's capture too,
from the request's start to the log's queueing. The raise leaves the app and the
server answers its own 500 (runserver and wsgiref take it for the app's error and
serve on). Before, a log cut short so was lost without a word (runserver
--nothreading: 182 of the 193 landing points of a GET). Now it is queued first, the
status the client got (the server's 500), then the raise goes on unchanged, as for one
landing in the view (``MetricsMiddleware._failed``): the grouping function is asked
then if it had not been; a raise that landed in it (no answer, no caller to log it
under) is counted dropped and said, as the WSGI middleware's (:mod:`.delivery.interrupted`).
A raise after the log was queued leaves it as it is: it has the app's answer, the client
the server's 500, as for one landing in Django's own code after the middleware.

Under ASGI (Django's handler, the event loop in the main thread: uvicorn, hypercorn,
daphne) the raise ends the loop and the process, no answer going out: the async chain's
request stays in unclosed's in-call requests (:func:`held_at_start` for one cut in the
middleware's start), for the exit's cut (delivery54); one whose log was made already,
or left to the response's close(), is logged as what the client got
(:func:`queued_unsent`, delivery57, delivery58).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from readme_metrics.capture import unclosed
from readme_metrics.capture.asgi_server_quirks import loaded_answers_500
from readme_metrics.capture.pending import remake
from readme_metrics.capture.unclosed import calling
from readme_metrics.capture.wsgi_response import answers_500, unanswered_at
from readme_metrics.delivery.interrupted import handed, said_dropped

if TYPE_CHECKING:
    from django.http import HttpRequest

    from readme_metrics.capture.recorder import Recorder
    from readme_metrics.django_exchange import Capture

__all__ = ["cut", "cut_at_start", "held_at_start", "queued_unsent", "server_answer",
           "unanswered"]


def cut_at_start(middleware: Any, request: HttpRequest, error: BaseException) -> None:
    """The middleware's start (``_start``) cut short by ``error`` before its capture was
    made: the view never runs; made again and logged as the server's 500 (or no answer:
    :func:`unanswered`). Never raises."""
    try:
        capture = middleware._start(request)
        if capture is not None:
            middleware._failed(capture, error)
    except Exception:  # pragma: no cover - never into the server
        pass


def held_at_start(middleware: Any, request: HttpRequest) -> None:
    """The async chain's start (ASGI) cut short so: the event loop, in the main thread,
    ends with the raise (no answer goes out), the view never runs. The capture made
    again and left in unclosed's in-call requests, for the exit's cut (counted dropped
    and said: the grouping function not asked; before, lost without a word, delivery54).
    Never raises."""
    try:
        capture = middleware._start(request)
        if capture is not None:
            calling(capture)
    except Exception:  # pragma: no cover - never into the server
        pass


def queued_unsent(capture: Capture, error: BaseException) -> None:
    """The async chain (ASGI) left by a signal handler's raise (``error``: a
    KeyboardInterrupt, a SystemExit) before Django's handler sent the answer: the raise
    ends the event loop, the app's answer never goes out. Its log says what the client
    gets: the server's own 500 where the server answers one to an app's call ended with
    no response (hypercorn: the client had "500" and no body), else no answer.

    A log made already (queued, or held by inline mode's sends until they queue it) is
    made again so (delivery57: it said the view's 200), switched whole
    (:func:`~.capture.pending.remake`): a sender building it meanwhile builds it again;
    one past its build (its POST encoded or on its way) posts it as it was (delivery58).
    One left to the response's close() (a streamed answer; inline mode's sync chain) is
    finished now so: the close never comes, and the exit's cut said the view's status,
    its answer "incomplete" (delivery58). Else the exit's cut has it (unclosed's calls).
    Never raises."""
    try:
        if capture.group is None:
            return  # not asked yet, or not logged
        pending = capture.pending
        recorder = capture.recorder
        if pending is None:
            held = capture.in_flight
            if held is None or held[0].detach() is None:
                return  # not made (yet), nor left to a close: the exit's cut has it
            unclosed.sent(held[1])
            if not recorder.finish():
                return  # (finished meanwhile: once only)
            capture.request_body(read=False)
        _client_gets(recorder, type(error).__name__)
        made = recorder.pending(capture.source, capture.group)
        if pending is None:
            capture.pending = made
            capture.pipeline.submit(made, send=False)  # (queued only: the loop ends)
        else:
            remake(pending, made)
    except Exception:  # pragma: no cover - never into the server
        pass


def _client_gets(recorder: Recorder, name: str) -> None:
    """The recorder says what the client gets once the loop ended at ``name`` before
    Django sent the answer (:func:`queued_unsent`)."""
    if loaded_answers_500():
        recorder.server_answered(500, "Internal Server Error",
                                 f"the event loop ended at a {name} before Django sent "
                                 "the app's answer")
    else:
        recorder.no_answer(f"stopped serving the request at a {name}", recorder.status)


def cut(middleware: Any, capture: Capture, error: BaseException) -> None:
    """The sync chain's steps cut short by ``error`` outside the view's own raise (which
    ``_failed`` logs): the log queued as far as it went, unless it was. Never raises."""
    try:
        pending = capture.pending
        recorder = capture.recorder
        if (pending is not None and handed(pending)) or recorder.finished():
            return  # queued (finish's own handler queues what it began)
        server_answer(capture, error)
        if not capture.asked:
            if capture.asking:  # it landed in the grouping function: no answer
                recorder.finish()
                said_dropped(middleware.pipeline, error)
                return
            if middleware._grouping.identify(capture) is None:
                if recorder.finish():
                    middleware.pipeline.skip()
                return
        capture.finish(read=False)
    except Exception:  # pragma: no cover - never into the server
        pass


def server_answer(capture: Capture, error: BaseException) -> bool:
    """The log says the answer the client gets when ``error`` leaves the app's call:
    the server's 500 (runserver, wsgiref), not the app's. Only while the middleware's
    call runs (``capture.in_call``): after it, the server had the app's answer. True
    when it changed the recorder (a log made before is made again)."""
    if not capture.in_call:
        return False
    recorder = capture.recorder
    if unanswered(capture, error):
        return True
    if not recorder.status:
        recorder.fail()
    elif answers_500(capture.request.META, in_call=True, wrote=False):
        recorder.server_answered(500, "Internal Server Error",
                                 f"the app's call ended at a {type(error).__name__}")
    else:
        return False
    return True


def unanswered(capture: Capture, error: BaseException) -> bool:
    """Log no answer at all where the server sends none when ``error``, no Exception (a
    signal's KeyboardInterrupt, a SystemExit), leaves the app's call (werkzeug's server
    without threads closes the connection and stops, gunicorn's gevent worker at a
    SystemExit; :func:`~.capture.wsgi_failures.unanswered_at`, the WSGI middleware's
    question): before review136 Django's log said the server's 500, which no client
    got. True when it did. Never raises."""
    try:
        if isinstance(error, Exception):
            return False
        closed = unanswered_at(capture.request.META, error, True, False)
        if closed is None:
            return False
        name = type(error).__name__
        capture.recorder.no_answer(
            f"stopped serving the request at a {name}" if closed else
            f"left the request unanswered at a {name}, the connection open", None, closed)
        return True
    except Exception:  # pragma: no cover - never into the server
        return False
