"""The request body of one WSGI exchange: the :class:`InputTee` put over ``wsgi.input``.

:func:`tee_input` sizes the copy as the server frames the body (chunked or by its
Content-Length, ended by the server or held to the length, werkzeug's two lengths,
cheroot reading an unread rest itself); :data:`NO_BODY` is the input of the grouping
request when the request declares none; :func:`weak_environ` lets the tee find the
exchange's environ without holding the exchange.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional

from readme_metrics.capture.body import BodyRecord, WithheldChunks
from readme_metrics.capture.request_headers import chunked_coding, content_length
from readme_metrics.capture.rest_cheroot import is_cheroot_input, tap
from readme_metrics.capture.werkzeug_lengths import least_length
from readme_metrics.capture.wsgi_input import InputTee, server_ends_input

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from readme_metrics.capture.wsgi_exchange import WSGICapture

__all__ = ["rest_in_close", "settle_body", "tee_input", "weak_environ"]


def tee_input(environ: WSGIEnvironment, wsgi_input: Any, start_response: StartResponse,
              limit: int) -> InputTee:
    """The tee over ``wsgi_input`` (the server's, not None) of a request that may have a
    body, its record (``.record``) keeping at most ``limit`` bytes."""
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
    # uWSGI gives a chunked body with no length to uwsgi.chunked_read() alone, none of
    # it in wsgi.input: its record says so in the log (only a chunked request asks).
    record = (WithheldChunks if chunked and length is None and "uwsgi.version" in environ
              else BodyRecord)
    body = record(kept, None if length is not None and chunked
                  and chunked_coding(coding) else length, chunked)
    tee = InputTee(wsgi_input, body, terminated, clamp=not ends, left=length)
    if length and is_cheroot_input(wsgi_input):
        # cheroot reads an unread rest itself, past the tee (rest_cheroot)
        tap(wsgi_input, body)
    return tee


def weak_environ(capture: WSGICapture) -> Callable[[], Optional[WSGIEnvironment]]:
    """``capture``'s environ while it lives, not holding it (:attr:`InputTee.environ_of`)."""
    ref = weakref.ref(capture)

    def environ() -> Optional[WSGIEnvironment]:
        alive = ref()
        return None if alive is None else alive.environ

    return environ


def settle_body(capture: WSGICapture, grace: float = 0.0) -> None:
    """Record the unread rest of the request body that has arrived (never blocks).

    ``grace`` only once the response is out: a body still in flight may arrive.
    """
    tee = capture.tee
    if tee is not None and not tee.settled:
        try:
            tee.record_rest(capture.environ, grace)
        except Exception:  # pragma: no cover - record_rest is written not to raise
            capture.pipeline.logger.debug("readme_metrics: body rest not read",
                                              exc_info=True)

def rest_in_close(capture: WSGICapture) -> bool:
    """At the iterable's end, with a tee: True when the unread rest of the body is
    recorded in ``close()`` (it may still arrive and the server keeps it, or
    werkzeug's discard is tapped). Never raises: on a fault of the capture's own, the
    rest is settled now, as for any other server."""
    tee = capture.tee
    environ = capture.environ
    try:
        return bool(tee.waits_for_close(environ)  # type: ignore[union-attr]
                    or tee.record_discarded(environ))  # type: ignore[union-attr]
    except Exception:
        capture.pipeline.logger.debug("readme_metrics: body rest not looked at",
                                      exc_info=True)
        return False
