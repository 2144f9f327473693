"""Reading the unread rest of a WSGI request body, server by server, without waiting.

:func:`record_rest` ``(record, stream, environ, grace)`` feeds a
:class:`~readme_metrics.capture.body.BodyRecord` what is left of a body the app did not
read, as far as it has arrived.

Why "without waiting": a client may declare a long body and send part of it. A server that
spools the whole body before calling the app (waitress) never lets that reach the app;
the others hand the app a stream over the socket, and a read there waits for the client,
which ties up the worker (gunicorn's sync worker is then killed by its timeout). So the
unread rest is read only from where it already is:

- an input that is memory or a regular file (waitress, Django's ASGI handler and test
  client, test environs): read it;
- gunicorn: read through its own ``wsgi.input``, so its bookkeeping of the connection
  stays right, in reads no longer than what its reader holds plus what the socket has
  received (``FIONREAD``); for a grouping function reading ahead of the app copied
  without consuming it (``MSG_PEEK``), which stops at what the socket's receive buffer
  holds; over TLS (whose received bytes are ciphertext) decrypted into gunicorn's own
  buffer, by reads that cannot wait; a chunked body the app never started reading is
  read out of its chunks, copied (``rest_gunicorn.py``);
- a buffered reader over a socket (werkzeug's development server, wsgiref, Django's
  runserver): reads with the socket switched to non-blocking for those calls only; they
  return what is buffered or received, else nothing (over TLS, ``ssl.SSLWantReadError``
  is that nothing: it is no ``BlockingIOError``). Those servers close the connection
  after the response and throw the rest away anyway. A chunked body the app never
  started reading (through werkzeug's dechunking reader; wsgiref and runserver do not
  de-chunk) is copied and read out of its chunks (``rest_chunked.py``);
- uWSGI: what it read with the request head, and what the socket holds, by reads that
  cannot wait (``rest_uwsgi.py``); with ``post-buffering``, the whole body; under
  ``--http11-socket``, all but the body's last byte.

With ``Expect: 100-continue`` under uWSGI only what is there without reading the
connection counts: a read could make it ask the client for the body after its answer;
the rest is left out, and the log says the body is incomplete. The other servers here
answer 100 Continue before they call the app (gunicorn, werkzeug, runserver), never
(wsgiref), or spool the body (waitress). Under wsgiref (:func:`continue_unsent`) what
has arrived is read but not waited for: a client that waits for the 100 sends its body
late (curl: after a second) or never, and the wait would hold wsgiref's one thread.

A body sent in full can still be in flight when an app that does not read it has already
answered. Once the response is out, the adapters give it ``GRACE`` (50 ms) at most; a
client that declared more than it sends costs that much, never the server's timeout.
The WSGI middleware and the Django one under WSGI wait in the response's ``close()``,
after the server has sent the end of the answer (:func:`waits_for_close`), except where
the server discards unread input before that (:func:`discards_before_close`: werkzeug,
runserver): there the WSGI middleware waits as the response iterable ends (the end of a
streamed answer waits with it), and the Django one before it returns the response.
Anything else is not read: recording a body must never cost the app its worker. That
includes granian, whose ``wsgi.input`` only has reads that wait for the body (no size of
what arrived, no socket, and the body stream is held by hyper, not the kernel); a read
left waiting in another thread also stops granian's Python thread, which takes the
body's lock when the app returns, until the client sends or closes. So an unread body is
not recorded there (mod_wsgi likewise; under cheroot, a body with a length is read as
the socket readers' is, through cheroot's input, and what cheroot reads of it itself, on a
connection it keeps alive, is recorded as it reads; a chunked one the app never started
reading is copied out of its chunks: ``rest_cheroot.py``).
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any, Mapping, Optional

from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.input_layers import is_buffered as _is_buffered
from readme_metrics.capture.input_layers import is_django_limited as _is_django_limited
from readme_metrics.capture.input_layers import server_stream
from readme_metrics.capture.rest_cheroot import (
    chunks_of,
    read_held,
    socket_of_input,
    unread_chunked,
)
from readme_metrics.capture.rest_chunked import dechunked_all, is_dechunking, socket_chunks
from readme_metrics.capture.rest_gunicorn import gunicorn_chunks, gunicorn_peek, gunicorn_read
from readme_metrics.capture.rest_uwsgi import (
    is_uwsgi_input,
    keeps_alive,
    post_buffered,
    read_uwsgi,
)
from readme_metrics.capture.sockets import WOULD_BLOCK, readable, socket_of

__all__ = ["arrives_later", "continue_unsent", "discards_before_close", "held_whole",
           "record_rest", "server_stream", "short_read_ends", "waits_for_close",
           "withholds_chunks",
           "yields_nothing_in_close"]


def record_rest(record: BodyRecord, stream: Any, environ: Mapping[str, Any],
                grace: float = 0.0, ahead: bool = False, app_read: Optional[bytes] = None
                ) -> int:
    """Feed ``record`` the unread rest of a WSGI body that is there now; never blocks.

    ``stream`` is what the app reads the body from (``wsgi.input``, or a framework's
    wrapper of it, read through so its own count stays right). Stops at the record's
    limit and at the declared length. ``grace`` (seconds, at most) lets bytes still in
    flight arrive; callers give it once the response has gone out (see ``GRACE``). What
    could not be had is left out and the record marked incomplete. Returns how many
    bytes were taken from ``stream`` (0 when they were only copied).
    ``ahead``: read ahead of the app (for a grouping function), which reads on from where
    this stops: under uWSGI no read may lose bytes nor leave the connection shut
    (``read_uwsgi``'s ``lossless``), and under its keep-alive the body's last byte is read
    too (the grouping function needs all of it). ``app_read``: the bytes the app has read
    of a chunked body the server leaves framed (wsgiref, which gives the app the chunks
    as sent): the rest is copied framed from where they stop, never read out of chunks
    from the middle of one (see ``chunked.framing_end``). Never raises.
    """
    if record.eof:
        return 0
    remaining = record.remaining
    want = record.room if remaining is None else min(record.room, remaining)
    if want <= 0:
        return 0  # all that is kept was kept: a longer body is simply truncated
    taken = 0
    try:
        base = server_stream(stream)
        uwsgi = is_uwsgi_input(base)
        if _is_buffered(base) or (uwsgi and post_buffered()):
            return _read_buffered(record, stream, want)
        if grace and continue_unsent(environ):
            grace = 0.0  # the body is not on its way: do not wait for it
        deadline = time.monotonic() + grace
        if remaining is None:  # without a length, only the chunks tell the end
            if is_dechunking(base) and dechunked_all(base):
                record.end()  # read to its last chunk already (werkzeug's own state)
                return 0
            chunks = None if uwsgi else gunicorn_chunks(base, environ, want, deadline)
            if chunks is None and not uwsgi:
                chunks = chunks_of(base, want, deadline)  # cheroot's, untouched
            if chunks is None and (not record.size or is_dechunking(base)):
                framed = environ.get("wsgi.input_terminated") is not True
                chunks = socket_chunks(base, framed, want, deadline, app_read)
            if chunks is not None:
                record.feed(chunks[0])
                if chunks[1]:
                    record.end()
        else:
            data = None
            if not uwsgi and not ahead:  # ahead: the app reads on from here, copy it
                read = gunicorn_read(stream, base, environ, want, deadline)
                if read is not None:
                    data, taken = read
            if data is None and not uwsgi:
                data = gunicorn_peek(base, environ, want, deadline)
            if data is None:
                if uwsgi:
                    if environ.get("HTTP_EXPECT"):
                        # The client sends that body only when asked, and uWSGI may ask
                        # when the app reads (100 Continue after its answer).
                        want = 0
                    elif not ahead and keeps_alive():  # see rest_uwsgi
                        want = min(want, remaining - 1)
                    data = read_uwsgi(stream, base, want, deadline,
                                      lossless=ahead) if want > 0 else b""
                else:
                    # The servers over a socket reader (werkzeug, runserver, wsgiref) send
                    # 100 Continue before they call the app, or never: a read cannot
                    # make them ask for the body after the answer (nor is it waited for
                    # where it was never asked for: see continue_unsent).
                    # (cheroot's input read as it is: it counts what is left of the body)
                    sock = socket_of(base) or socket_of_input(base)
                    # (cheroot over TLS: what its reader holds, no socket read)
                    data = read_held(stream, base, want) if sock is None else (
                        _read_nonblocking(stream, sock, want, deadline))
                taken = len(data)
            record.feed(data)
    except Exception:  # noqa: BLE001 - a server we misjudged: record nothing more
        pass
    if not record.eof and record.room > 0:
        record.give_up()
    return taken


def arrives_later(stream: Any, environ: Mapping[str, Any]) -> bool:
    """True when more of the body may arrive over a live connection this module can read
    without waiting (gunicorn, a socket reader, werkzeug's dechunking one, uWSGI): worth
    reading after the response."""
    try:
        base = server_stream(stream)
        return (type(base).__module__ == "gunicorn.http.body"
                and isinstance(environ.get("gunicorn.socket"), socket.socket)
                ) or socket_of(base) is not None or is_dechunking(base) or (
                    is_uwsgi_input(base) and not post_buffered()
                ) or socket_of_input(base) is not None or unread_chunked(base)
    except Exception:  # noqa: BLE001 - unknown: read what is there now
        return False


def held_whole(stream: Any) -> bool:
    """True when the body read from ``stream`` is all in memory or a file already
    (waitress, a test client, uWSGI's post-buffering): its unread rest is read at once."""
    try:
        base = server_stream(stream)
        return _is_buffered(base) or (is_uwsgi_input(base) and post_buffered())
    except Exception:  # noqa: BLE001 - unknown: not known to be whole
        return False


def short_read_ends(stream: Any) -> bool:
    """True when a read of ``stream`` that gave fewer bytes than asked reached the body's
    end: a body in memory or a regular file (Django's ASGI body file, waitress's), never
    a socket's reader. Never raises."""
    try:
        return _is_buffered(server_stream(stream))
    except Exception:  # noqa: BLE001 - unknown: a short read says nothing
        return False


def yields_nothing_in_close(stream: Any) -> bool:
    """True for granian's own ``wsgi.input``: once the answer is out it gives b"" to every
    read, whatever of the body is left (bare too), so a read in ``close()`` tells nothing
    of where the body ends."""
    try:
        return type(server_stream(stream)).__module__.startswith("granian.")
    except Exception:  # noqa: BLE001 - unknown: its reads are taken as they come
        return False


def withholds_chunks(stream: Any) -> bool:
    """True for Django runserver's ``wsgi.input`` of a chunked body: a LimitedStream of
    limit 0 (no CONTENT_LENGTH), over the connection's reader, which neither de-chunks nor
    ends the input. Its empty reads are that limit, not the body's end: the body the
    client sent is still on the connection, whole, and is copied out of its chunks as an
    unread one (a read that gave nothing is no read of it)."""
    return _is_django_limited(stream) and getattr(stream, "limit", None) == 0


def continue_unsent(environ: Mapping[str, Any]) -> bool:
    """True for a request with ``Expect: 100-continue`` under wsgiref's simple_server,
    which never answers ``100 Continue`` (its handler speaks HTTP/1.0): a client waiting
    for it has not sent its body. Django's runserver, built on it, speaks HTTP/1.1 and
    answers before it calls the app (its ``wsgi.input`` is a Django LimitedStream)."""
    try:
        if "100-continue" not in str(environ.get("HTTP_EXPECT", "")).lower() or not str(
                environ.get("SERVER_SOFTWARE", "")).startswith("WSGIServer/"):
            return False
        server_input = environ.get("wsgi.input")
        # Under the WSGI middleware wsgi.input is its InputTee: the server's is under it.
        server_input = getattr(server_input, "_input", server_input)
        return not _is_django_limited(server_input)
    except Exception:  # noqa: BLE001 - unknown: as any unread body
        return False


def discards_before_close(stream: Any, environ: Mapping[str, Any]) -> bool:
    """True under the servers that throw unread input away once the response iterable is
    exhausted, before they call its ``close()``: werkzeug's development server, and
    Django's runserver (its handler reads its LimitedStream out). Elsewhere the wait for a
    body in flight can be left to ``close()``, after the server has sent the end of the
    response (a streamed answer's last chunk), so the client never sees it."""
    try:
        return "werkzeug.socket" in environ or _is_django_limited(stream)
    except Exception:  # noqa: BLE001 - unknown: read before the server could discard
        return True


def waits_for_close(stream: Any, environ: Mapping[str, Any], server_input: Any) -> bool:
    """True when the unread rest of a body read from ``stream`` is best read in the
    response's ``close()``: it may still arrive (:func:`arrives_later`), and the server,
    whose own ``wsgi.input`` is ``server_input``, keeps it until then
    (:func:`discards_before_close`). The wait for it then costs the client nothing."""
    return arrives_later(stream, environ) and not discards_before_close(server_input,
                                                                        environ)


def _read_buffered(record: BodyRecord, stream: Any, want: int) -> int:
    """The whole rest is in memory or a file: read it (to the limit), an empty read ends it."""
    taken = 0
    while taken < want:
        data = stream.read(min(65536, want - taken))
        if not data:
            record.end()
            break
        taken += len(data)
        record.feed(data)
    return taken


def _read_nonblocking(stream: Any, sock: socket.socket, want: int, deadline: float
                      ) -> bytes:
    """What is buffered or received, up to ``want``; stops when nothing more comes by
    ``deadline``.

    The socket is switched to non-blocking for these reads only: a read that would wait
    returns what it has (or None, or raises BlockingIOError) instead.
    """
    read = stream.read1 if isinstance(stream, io.BufferedReader) else stream.read
    parts: list[bytes] = []
    got = 0
    woke = False
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        while got < want:
            try:
                data = read(want - got)
            except (*WOULD_BLOCK, TypeError, AssertionError):
                data = b""  # TypeError, AssertionError: a wrapper choking on a None read
            except Exception:  # noqa: BLE001 - a reset, a TLS error: stop there, and
                break  # keep what was read (the app's own bytes, read ahead of it)
            if not data:
                left = deadline - time.monotonic()
                # Readable yet nothing to read twice in a row: the client closed.
                if woke or left <= 0 or not readable(sock, left):
                    break
                woke = True
                continue
            woke = False
            parts.append(data)
            got += len(data)
    finally:
        sock.settimeout(timeout)
    return b"".join(parts)
