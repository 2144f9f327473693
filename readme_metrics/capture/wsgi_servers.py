"""What each WSGI server sends of an answer, where they differ: the empty chunk, the
body HTTP allows none, the Content-Length, the status line's version, a second
start_response, the answer's end and the app's list or tuple.

Each check reads only what the server puts in the environ (its own keys, or its
SERVER_SOFTWARE), so that the middleware asks it per request at the cost of a dict
lookup; :func:`plain_server` answers for all of them at once under the servers none of
them tells apart. What a client got when the app raised or a signal came is
``wsgi_failures``'s.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence

from readme_metrics.capture.response_headers import response_content_length

__all__ = ["ANSWERS_OWN_VERSION", "answered_version", "cuts_at_length", "ends_after_close",
           "ends_at_close", "holds_empty_chunks", "ignores_late_start",
           "keeps_earlier_headers", "not_latin_1", "plain_server", "sends_list_as_is",
           "sends_unallowed_body", "sends_written_head_body", "takes_raising_restart",
           "under_cheroot", "under_wsgiref"]


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


def ends_at_close(environ: Any, headers: Any) -> bool:
    """Whether the client of werkzeug's development server learns where the answer ends
    only when the connection closes, after the response's ``close()``: no Content-Length,
    and werkzeug does not chunk it (it answers HTTP/1.0 unless threaded or forked, or to
    an HTTP/1.0 request). A wait in ``close()`` would then hold back the answer's end."""
    if response_content_length(headers) >= 0:
        return False
    return not (environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and (
        environ.get("wsgi.multithread") or environ.get("wsgi.multiprocess")))


def sends_list_as_is(result: Any, environ: Any, headers: Sequence[Any]) -> bool:
    """Whether a list or tuple the app returned goes to the server as it is, its log
    finished now: not when the server may refuse its first chunk (not bytes: wsgiref) or
    the headers (not latin-1: waitress), so that the refusal is seen (``Response``)."""
    if result and result[0].__class__ is not bytes:
        return False
    return not (holds_empty_chunks(environ) and not_latin_1(headers))


def not_latin_1(headers: Sequence[Any]) -> bool:
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
