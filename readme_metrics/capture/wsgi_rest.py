"""The part of ``wsgi.input``'s body the app did not read, recorded without waiting.

:class:`InputRest`, a base of :class:`~readme_metrics.capture.wsgi_input.InputTee`,
records the rest of the body the app leaves unread, as far as it has arrived (``rest.py``
reads it, server by server): once the app is done (:meth:`InputRest.record_rest`), as
werkzeug's development server discards it (:meth:`InputRest.record_discarded`), or before
the app closes the input. Mirroring the app's own reads is the tee's job, not this one's.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from readme_metrics.capture import discard_tap
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.chunked import dechunk
from readme_metrics.capture.rest import (
    arrives_later,
    discards_before_close,
    held_whole,
    record_rest,
    server_stream,
    waits_for_close,
    yields_nothing_in_close,
)
from readme_metrics.capture.rest_chunked import (
    dechunked_all,
    held,
    is_dechunking,
    reader_only,
    untouched,
)
from readme_metrics.capture.sockets import socket_of
from readme_metrics.capture.werkzeug_lengths import handler_of

__all__ = ["InputRest"]


class InputRest:
    """The recording of what the app left unread of ``_input``'s body: a base of
    :class:`~readme_metrics.capture.wsgi_input.InputTee`, which holds the state both work
    on (set in its ``__init__``, as its slots):
    """

    if not TYPE_CHECKING:  # mypy would refuse the assignments here to the tee's slots
        __slots__ = ()  # none of its own: a tee has no __dict__

    _input: Any  #: the server's ``wsgi.input``
    record: BodyRecord  #: the body's bounded copy
    _left: Optional[int]  #: bytes of the body still unread (None: no length)
    #: bytes read off the server's stream ahead of the app, which it receives next
    _pending: bytes
    _ahead: int  #: bytes at the stream's position already recorded from a copy
    _tapped: Any  #: werkzeug's reader whose discard is recorded (``discard_tap``), or None
    #: werkzeug's handler whose failing write of the answer has its discard tapped first
    #: (``discard_tap.watch``), or None
    _watched: Any
    #: A chunked body's bytes as werkzeug's discard reads them, framed (what its reader
    #: held first), read out of their chunks in record_rest; None when not tapped for one
    _framed: Optional[bytearray]
    terminated: bool  #: a chunked body on a server that ends wsgi.input at its end
    settled: bool  #: the rest was recorded: later reads pass through, unrecorded
    #: What a read of the server's stream raised (for the app), or None: the stream's
    #: place in the body is then unknown (werkzeug's reader raises on a chunk extension
    #: after taking its size line), so no rest is read after it.
    failed: Optional[BaseException]
    #: Set by the middleware: the request's environ (or None), for recording the body
    #: before the app closes the input; a weak reference (no cycle through the environ,
    #: which holds the input).
    environ_of: Optional[Callable[[], Optional[Mapping[str, Any]]]]

    def _rest_unread(self) -> bool:
        """Part of the body is unread, and could be read later: a body with a length, or a
        chunked one the app has not started reading (only then can its chunks be read
        out of a copy); not after a read of the server's stream raised."""
        record = self.record
        return not (self.settled or record.eof or self.failed is not None) and (
            record.declared is not None or (record.chunked and not record.size))

    def arrives_later(self, environ: Mapping[str, Any]) -> bool:
        """True when part of the body is unread and may still arrive over the connection
        (so it is better read once the response is out)."""
        return self._rest_unread() and arrives_later(self._input, environ)

    def waits_for_close(self, environ: Mapping[str, Any]) -> bool:
        """True when the unread rest is best read in the response's ``close()``: it may
        still arrive, and the server keeps it until then (see
        :func:`~readme_metrics.capture.rest.waits_for_close`). Or when it is a chunked
        body the server ends (gunicorn, cheroot, granian) that the app has started
        reading: nothing can be copied past the server's chunk state, but the app's
        ``close()`` may read on, which the tee records (no read of the rest waits then).
        Or when it is a body with a length the app has started reading on a server whose
        unread rest cannot be read without waiting (cheroot): its ``close()`` may read on
        too (one held whole, as waitress's, is read at once and logged whole already).
        Not under granian, whose input gives b"" in ``close()`` (bare too): a chunked
        body the app read 10 bytes of was logged whole at 10 bytes there."""
        record = self.record
        if self._rest_unread():
            if waits_for_close(self._input, environ, self._input):
                return True
            if record.declared is None or held_whole(self._input):
                return False
        elif not self.terminated:
            return False
        return (record.size > 0
                and not (self.settled or record.eof or self.failed is not None)
                and not discards_before_close(self._input, environ)
                and not yields_nothing_in_close(self._input))

    def record_discarded(self, environ: Mapping[str, Any]) -> bool:
        """werkzeug's development server, the app's iterable exhausted: record what has
        arrived of the unread body (no wait), and what werkzeug reads of the rest when it
        discards it, after the end of the answer (``discard_tap``; a chunked body read
        out of its chunks, :meth:`_tap_chunked`). True when its discard is tapped (or a
        chunked body's rest is left to the app's close()): the rest is then recorded in
        ``close()`` (:meth:`record_rest`)."""
        record = self.record
        if "werkzeug.socket" not in environ:
            return False
        if record.chunked:
            return self._tap_chunked(environ)
        if not self._rest_unread():
            return False
        # Kept for the app: a body in werkzeug's reader's buffer stays there, for a read in
        # close(), unless its discard finds the connection readable (and reads the buffer
        # out with the rest): the tap's first read drops them then (_discarded). Only
        # what the reader holds is read: bytes left in the connection are werkzeug's
        # discard's to find, as bare (read off it here, the discard found none, and the
        # app's close() read them, where bare it reads b"" once the client hangs up).
        reader = server_stream(self._input)  # under a lint or validator wrapper too
        with reader_only(reader):
            self._record_arrived(environ, 0.0, keep=True, ahead=False)
        if (record.eof or not self._left) and not self._pending:
            return False
        self._tapped = discard_tap.tap(reader, self._discarded)
        if self._tapped is None:
            self._pending = b""  # no telling whether werkzeug throws them away: as before
        return self._tapped is not None

    def watch_writes(self, start_response: Any) -> None:
        """werkzeug's development server, the answer about to go out with part of the body
        unread: a write of it that fails (the client left) has werkzeug stop iterating
        and throw the unread input away before ``close()``; its discard is tapped first,
        as at the iterable's end (:meth:`record_discarded`). Never raises."""
        if self._rest_unread():
            handler = handler_of(start_response)
            if handler is not None:
                self._watched = discard_tap.watch(handler, self._write_failed)

    def _write_failed(self) -> None:
        """werkzeug's write of the answer raised: it discards next (see watch_writes)."""
        environ = self.environ_of() if self.environ_of is not None else None
        if environ is not None and self._tapped is None:
            self.record_discarded(environ)

    def _tap_chunked(self, environ: Mapping[str, Any]) -> bool:
        """:meth:`record_discarded` for a chunked body (werkzeug's dechunking reader).

        One the app has started reading is copied from where it is in its chunk
        (werkzeug's state says how much of it is left), as far as it has arrived, before
        the discard (which reads the reader's buffer out with the rest once the
        connection is readable); its close() may read on: the log waits for it, the tee
        records what it reads past the copy.

        One it has not: what has arrived is copied, without the wait for the rest
        (GRACE), which moved werkzeug's discard later: chunks arriving in it, which bare
        werkzeug leaves to the app's close(), were thrown away, and the discard read on
        until the client hung up. What the discard reads is kept framed, after what the
        connection's reader held, and read out of its chunks in :meth:`record_rest`;
        what comes after it is copied there, as bare it reaches the app's close()."""
        stream = self._input
        if (self.settled or self.record.eof or self.failed is not None
                or not is_dechunking(stream) or dechunked_all(stream)):
            return False
        if not untouched(stream):
            # In a chunk (werkzeug's state says how much of it is left): what has arrived
            # is copied now, before the discard, which reads the connection's reader out
            # to the client's end once the connection is readable (its end, or more of
            # the body still in the socket): left to close(), the log had only what the
            # app read, "incomplete", of a body sent whole (hostile15).
            self._record_arrived(environ, 0.0, keep=False, ahead=True)
            return not self.record.eof
        reader = getattr(stream, "_rfile", None)
        sock = socket_of(reader)
        if sock is None or not isinstance(reader, io.BufferedReader):
            return False
        self._record_arrived(environ, 0.0, keep=False, ahead=True)
        if self.record.eof:
            return False
        framed = bytearray(held(reader, sock))
        self._tapped = discard_tap.tap(reader, self._discarded_framed)
        if self._tapped is not None:
            self._framed = framed
        return self._tapped is not None

    def _discarded_framed(self, data: memoryview) -> None:
        """Bytes of a chunked body werkzeug read off the connection to throw away: kept
        framed, as many as the record could take with framing around them."""
        framed = self._framed
        if framed is not None:
            room = 2 * (self._ahead + self.record.room) + 8192 - len(framed)
            if room > 0:
                framed += data[:room]

    @property
    def discard_tapped(self) -> bool:
        """True while werkzeug's discard of the unread body is recorded (see
        :meth:`record_discarded`), until :meth:`record_rest`."""
        return self._tapped is not None

    def discard_over(self) -> None:
        """werkzeug's discard is over: it calls the iterable's ``close()`` next. The socket
        is put back before the app's ``close()``, whose own reads the tee records (through
        the tap they were recorded twice); :attr:`discard_tapped` holds until
        :meth:`record_rest`."""
        if self._tapped is not None:
            discard_tap.untap(self._tapped)
        self._unwatch()

    def _unwatch(self) -> None:
        """The answer is out, or stopped: werkzeug's ``wfile`` put back."""
        watched, self._watched = self._watched, None
        if watched is not None:
            discard_tap.unwatch(watched)

    def _discarded(self, data: memoryview) -> None:
        """Bytes werkzeug read off the connection to throw away (none: it found the
        client's end): the body's are recorded. It read its buffer out first, which held
        what was kept for the app."""
        self._pending = b""
        left = self._left
        if self.settled or not left or left < 0:
            return
        if len(data) > left:
            data = data[:left]
        self._left = left - len(data)
        self.record.feed(data)

    def record_rest(self, environ: Mapping[str, Any], grace: float = 0.0) -> None:
        """Record what the app left unread, as far as it has arrived (once; never blocks).

        ``grace``: how long bytes still in flight may take (only once the response is out).
        With ``Expect: 100-continue`` under uWSGI only what it already holds is taken (see
        :mod:`~readme_metrics.capture.rest`).
        """
        if self._tapped is not None:
            discard_tap.untap(self._tapped)
            self._tapped = None
        self._unwatch()
        framed, self._framed = self._framed, None
        if self.settled:
            return
        self.settled = True
        record = self.record
        if framed is not None and not record.eof and untouched(self._input):
            # What werkzeug's discard read (the app's close() read none of it).
            data, whole = dechunk(bytes(framed), self._ahead + record.room)
            if len(data) > self._ahead:
                record.feed(data[self._ahead:])
                self._ahead = len(data)
            if whole:
                record.end()
            elif not record.room:
                return  # all that is kept was kept: a longer body is truncated
        if record.eof:
            return
        if record.declared is None and not (self.terminated or record.chunked):
            return  # no length and no Transfer-Encoding: there is no body
        # What is read off the server's stream stays the app's: the close() of its
        # iterable may still read the body, and gets it whole bare (waitress calls it
        # before it drops its copy of the body; a test client's input is memory), not
        # b"" nor the bytes past max_body_bytes. Not where the server throws unread
        # input away before close() (werkzeug, runserver): bare, such a read gets none.
        keep = not discards_before_close(self._input, environ)
        if self._record_arrived(environ, grace, keep=keep, ahead=False) and record.room:
            # (Not once a copy filled what is kept: the rest is past max_body_bytes, a
            # longer body truncated. Read again from the stream's position, werkzeug's
            # discard had thrown the copied bytes away: a chunked body the app read part
            # of, sent whole, was "incomplete: <max_body_bytes> of a body of unknown
            # length".)
            record.give_up()

    def _record_before_close(self) -> bool:
        """The app closes the server's input: record what has arrived of the unread body
        first (no wait), kept for the app's reads (uWSGI's ``close()`` does nothing).
        True when not all of it was there."""
        environ = self.environ_of() if self.environ_of is not None else None
        if environ is None or not self._rest_unread():
            return False
        try:
            return self._record_arrived(environ, 0.0, keep=True, ahead=True)
        except Exception:  # noqa: BLE001 - never raise into the app
            return False

    def _record_arrived(self, environ: Mapping[str, Any], grace: float, keep: bool,
                        ahead: bool) -> bool:
        """Record the unread body from the server's stream's position, as far as it has
        arrived, past the ``_ahead`` bytes a copy recorded already. Bytes read off the
        stream (not copied) go to ``_pending`` with ``keep``, for the app; ``ahead``: the
        app reads on from where this stops (``record_rest``'s). True when the body is
        incomplete (not all of it could be had, and there was room to keep more).
        """
        record = self.record
        if self.failed is not None:
            # Copied from where the stream stands, the bytes could be framing and the
            # next request on the connection (its credentials in clear): none are taken.
            return True
        skip = self._ahead
        read = None
        if record.chunked and record.declared is None and record.size and not self.terminated:
            # A chunked body the app has started reading from a server that leaves it
            # framed (wsgiref): where the stream stands in the chunks is told by the
            # framed bytes before it, which the record must hold (all but the ``skip``
            # copied past it already).
            read = record.content()
            if len(read) != record.size or skip > len(read):
                return bool(record.room)  # that place is not known: nothing is copied
            read = read[:len(read) - skip]
        # From the stream's position: the bytes recorded from a copy, then the rest.
        # (A chunked body left framed is read out of its chunks, not by the length the
        # app's reads are held to: the record has no declared length then.)
        scratch = BodyRecord(skip + record.room,
                             None if record.declared is None else self._left, record.chunked)
        taken = record_rest(scratch, self._input, environ, grace, ahead=ahead, app_read=read)
        data = scratch.content()
        if taken:  # read off the stream, from its position (copied bytes included)
            if self._left is not None:
                self._left -= taken
            if keep:
                self._pending += data
        else:
            self._ahead = max(skip, len(data))
        if len(data) > skip:
            record.feed(data[skip:])
        if scratch.eof:
            record.end()
        return scratch.incomplete
