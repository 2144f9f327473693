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
middleware's start), for the exit's cut (delivery54); one whose log was queued already
has it made again as what the client got (:func:`queued_unsent`, delivery57).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from readme_metrics.capture.asgi_server_quirks import loaded_answers_500
from readme_metrics.capture.unclosed import calling
from readme_metrics.capture.wsgi_response import answers_500, unanswered_at
from readme_metrics.delivery.interrupted import handed, said_dropped

if TYPE_CHECKING:
    from django.http import HttpRequest

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
    KeyboardInterrupt, a SystemExit) after its log was queued and before Django's handler
    sent the answer: the raise ends the event loop, the app's answer never goes out. The
    queued log (the sender builds the HAR from it later) is made again as what the client
    gets: the server's own 500 where the server answers one to an app's call ended with
    no response (hypercorn: the client had "500" and no body, the log said the view's
    200, delivery57), else no answer. A sender that took the log in the instant between
    has it as it was. Never raises."""
    try:
        pending = capture.pending
        if pending is None or not handed(pending) or capture.group is None:
            return  # not queued (yet): the exit's cut has it (held in unclosed's calls)
        recorder = capture.recorder
        name = type(error).__name__
        if loaded_answers_500():
            recorder.server_answered(500, "Internal Server Error",
                                     f"the event loop ended at a {name} before Django "
                                     "sent the app's answer")
        else:
            recorder.no_answer(f"stopped serving the request at a {name}", recorder.status)
        made = recorder.pending(capture.source, capture.group)
        for slot in made.__slots__:
            if slot != "handed" and hasattr(made, slot):
                setattr(pending, slot, getattr(made, slot))
    except Exception:  # pragma: no cover - never into the server
        pass


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
