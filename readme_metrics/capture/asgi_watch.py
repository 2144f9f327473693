"""Waiting for a body's rest without letting the server read the client's end first.

While the capture waits (``GRACE`` at most) for the rest of a body the app left unread,
the event loop turns, and uvicorn and hypercorn (asyncio) read the socket in those
turns. A client's end read there (``shutdown(SHUT_WR)`` after a short body, or with the
rest of it) loses the app's answer: uvicorn takes it for a disconnect and drops what the
app sends after; hypercorn feeds it to h11, which fails a short body, and answers its
own 400. The bare app, answering without a wait, got its answer out first.

So while the capture waits, the server's reading is paused (its transport's
``pause_reading``) and the loop watches the socket in its stead (a reader on a
duplicate of the descriptor). When something comes: the client's end (the caller's
``half_closed``), and the capture stops waiting, the server reading it after the answer
went out, as from the bare app; else data, which the server is let read (its reading
resumed until the socket's unread bytes drop, :func:`_taken`, then paused again at
once: a client's end right behind the bytes is not read with them), and the wait goes
on. Nothing blocks: every wait is the loop's. A server that paused its own reading
(flow control) reads nothing meanwhile: then the wait is a plain one. Over TLS the
transport paused is the one under the server's (:func:`socket_reader`; the pause, the hold
and their looks at a closed transport are :mod:`.server_reading`'s): the TLS
transport's own pause leaves the socket read.

A wait that ended with no message keeps the server's reading paused for as long again
as the app was held back, the socket still watched (:class:`Hold`): the app does all
that follows that much later than the bare app, and a client's end is read that much
later too (else one the bare app's answer came before could drop an app's body that it
awaited before sending). So does a wait that ended with the read ahead's message while
the client's end waits in the socket behind the bytes (:func:`_held`). A transport
closed meanwhile (asyncio's TLS one closed twice raises from every call) makes the wait
a plain one.

Over TLS a client's close_notify is data, which the server's TLS layer takes for the
client's end (delivery75). The server is not let read there: the body's records (as
far as they came, delivery83; those before a close_notify that came with them too) are
read off the socket and handed to its TLS protocol (:mod:`.tls_feed`), the server kept
paused, so a close_notify landing behind them, even between a look at the socket
and the read, stays in the socket until the wait's hold ends (delivery78). Where they
cannot be handed over (the socket's head no record's header; a TLS protocol that takes
no buffer): one behind bytes the server took, whose message has not come,
waits with the server paused until it comes (or the time is up; a chunked body's, not
``sized``: :data:`TURNS` turns, 2 bytes of it being that size too: review147); a wait
that ended with the body's last message keeps the server paused, as at a client's end
(:func:`_tls_end`); a hold ends at its time only (the caller's ``half_closed`` tells a
close_notify that came with the body's rest: :func:`.tls_records.past_body`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from functools import partial
from typing import Any, Callable, Optional

from readme_metrics.asgi_types import Message
from readme_metrics.capture.server_reading import (
    Hold,
    pause,
    reading,
    resume,
    socket_reader,
    watching,
)
from readme_metrics.capture.tls_feed import UNTOLD, Owed, feed, tls_protocol
from readme_metrics.capture.tls_records import notify_next

__all__ = ["TURNS", "socket_reader", "watched_within"]

#: Event loop turns given to a read ahead even when its time is used up (for a message
#: in the socket that the server has not read yet, or one handed over from a thread).
TURNS = 2
#: Seconds between two looks at a socket whose bytes hold no whole record of the body yet
#: (:func:`.tls_feed.feed`): the watch wakes at once while they wait there.
FEED_LOOK = 0.001


def _wake(woke: asyncio.Future[None]) -> None:
    if not woke.done():
        woke.set_result(None)


def _message(task: asyncio.Future[Message]) -> Optional[Message]:
    """The read ahead's message; None when it was cancelled or failed (nothing read)."""
    if not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


async def _cancelled(task: asyncio.Future[Message]) -> None:
    if not task.done():
        task.cancel()
        await asyncio.wait([task])



def _unread(fd: int) -> int:
    """Bytes the socket ``fd`` holds that nobody has read (a client's end is none); -1
    when that cannot be told."""
    try:
        from readme_metrics.capture.sockets import unread_bytes  # POSIX: lazily

        return unread_bytes(fd)
    except Exception:  # noqa: BLE001 - no FIONREAD here, or the socket gone
        return -1


async def _taken(fd: int) -> bool:
    """The turns of the loop the server takes to read what woke the watch: until the
    socket's unread bytes drop, :data:`TURNS` at most. Under asyncio the server's reader
    runs after this task's step (two turns); uvloop's polls the socket before its
    queue runs (one turn): the poll after reads a client's end that came right behind
    the bytes (a short read returns, the end is read next), and uvicorn took it for a
    disconnect and dropped the answer (flaky45). True once they dropped."""
    there = _unread(fd)
    for _ in range(TURNS):
        await asyncio.sleep(0)
        if _unread(fd) < there:
            return True
    return False


def _tls_end(tls: bool, got: Optional[Message], half_closed: Callable[[], bool]) -> bool:
    """``half_closed()``, or over TLS the body's last message come: a close_notify right
    behind it, there or on its way, is read after the answer (delivery75)."""
    return half_closed() or (tls and got is not None and not got.get("more_body", False))


def _held(transport: Any, reader: Any, paused: bool, none: bool,
          half_closed: Callable[[], bool]) -> bool:
    """Whether the wait's end keeps the server's reading paused (:class:`Hold`): it ended
    with no message (``none``), the server paused; or with the message while the
    client's end waits in the socket (it came right behind the body's last bytes), the
    server paused now if the wait had let it read (and it had not paused itself):
    else it read the end before the answer went out, in whatever turn the app or the
    capture (an ``async`` grouping function) awaits first."""
    if none:
        return paused
    if not half_closed():
        return False
    return paused or (reading(transport, reader) and pause(reader))


async def _fed_first(task: asyncio.Future[Message], feeding: Any, transport: Any,
                     copy: socket.socket, reader: Any, remaining: Optional[int],
                     owed: Owed, left: float) -> bool:
    """Over TLS, the body's last records in the socket with the client's close_notify
    behind them: hand them over, the close_notify left there, the server kept paused,
    and wait for their message (True once it came). False where they do not carry all
    of the rest (a client's end before it): the caller stops at the end."""
    fed, plain = feed(feeding, transport, copy, remaining, owed, whole=True)
    if fed <= 0 or not pause(reader):  # (uvloop's TLS resumed the socket's reading)
        return False
    owed.left = None if remaining is None else remaining - plain
    await asyncio.wait([task], timeout=max(left, FEED_LOOK))
    return task.done()


async def watched_within(read_ahead: Callable[[], asyncio.Future[Message]],
                         timeout: float, transport: Any, half_closed: Callable[[], bool],
                         began: Optional[float] = None, sized: bool = True,
                         remaining: Optional[int] = None, owed: Optional[Owed] = None
                         ) -> tuple[Optional[Message], bool]:
    """(the message ``read_ahead()`` gives within ``timeout`` seconds, else None; whether
    the wait stopped at the client's end, before the server read it), the server's
    reading of ``transport`` paused while waiting (see the module). With no time left,
    :data:`TURNS` turns still. The read ahead is cancelled when no message came (safe
    with the servers' ``receive``: nothing is consumed), as :func:`.receive_within`
    does.

    A wait that ends with no message, the server's reading paused, keeps it paused for
    as long again as the app was held back (since ``began``, when the capture started
    to wait; not at all without it), the socket watched (:class:`Hold`): the app does
    all that follows that much later than the bare app, and may await between its
    start and its body; a client's end that the bare app's answer came before, read by
    the server meanwhile, lost the body (uvicorn took it for a disconnect, hypercorn
    closed the connection: asgi11 (b)). It is read that much later now, as the app
    answers. ``remaining``: the body's plaintext still to come (None: not known), which
    tells the body's records from what lands behind them over TLS (:mod:`.tls_feed`);
    ``owed``: what the feed left of this drain (:class:`.tls_feed.Owed`), given to each
    of its calls, none made a turn of the loop after another (a fresh one by default).
    """
    task = read_ahead()
    if task.done():
        return _message(task), False
    loop = asyncio.get_running_loop()
    deadline = time.perf_counter() + timeout
    reader, copy = watching(transport)
    tls = reader is not None and reader is not transport  # (socket_reader's: TLS)
    owed = Owed() if owed is None else owed
    remaining = owed.bound(remaining)
    ended = False
    paused = False
    failed = False
    lost = False  # the transport was closed meanwhile (its pause or resume raised)
    try:
        fd = -1 if copy is None else copy.fileno()
        turns = TURNS
        took = False  # the server took bytes in this wait (their message still to come)
        feeding = tls_protocol(transport) if tls and copy is not None else None
        held = False  # the server kept paused, the body's records handed over (tls_feed)
        while not task.done():
            left = deadline - time.perf_counter()
            if left <= 0:
                if turns <= 0:
                    break
                turns -= 1
                left = 0.0  # a turn: what came is seen, none is waited for
            if not held and (copy is None or not reading(transport, reader)):
                owed.bytes = 0  # (the server reads a record's rest itself, if at all)
                await asyncio.wait([task], timeout=left)  # (or paused by the server)
                break
            woke: asyncio.Future[None] = loop.create_future()
            paused = True  # (resumed at the end even when the pause raised part way)
            if not held and not pause(reader):  # closed meanwhile: a plain wait, no hold
                lost, owed.bytes = True, 0
                await asyncio.wait([task], timeout=left)
                break
            loop.add_reader(fd, _wake, woke)
            try:
                either: list[asyncio.Future[Any]] = [task, woke]
                await asyncio.wait(either, timeout=left,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                loop.remove_reader(fd)
            if task.done() or not woke.done():
                break
            if half_closed():
                ended = not (feeding is not None and copy is not None and await _fed_first(
                    task, feeding, transport, copy, reader, remaining, owed, left))
                break
            if feeding is not None and copy is not None:
                fed, plain = feed(feeding, transport, copy, remaining, owed)  # (delivery78)
                if fed != UNTOLD:
                    # (uvloop's TLS resumed the socket's reading; none went: no pause again)
                    if fed and not pause(reader):  # (_LimitsPause's: review151)
                        lost, owed.bytes = True, 0  # closed meanwhile: a plain wait
                        await asyncio.wait([task], timeout=left)
                        break
                    held = True
                    if remaining is not None:
                        remaining = owed.left = remaining - plain
                    if fed == 0:  # (nothing whole that is the body's: a look later)
                        await asyncio.wait([task], timeout=min(left, FEED_LOOK))
                    continue
            if took and tls and notify_next(transport):  # (its message first, paused)
                if sized:
                    await asyncio.wait([task], timeout=max(deadline - time.perf_counter(), 0))
                    break
                for _ in range(TURNS):  # (chunked: 2 bytes of it are that size too, review147)
                    await asyncio.sleep(0)
                if task.done():
                    break
            # Data: the server reads it, and is paused again (at the loop's top) as
            # soon as it took it, before it reads a client's end right behind it.
            paused = held = False
            owed.bytes = 0  # (the server reads a record's rest itself)
            if not resume(reader):
                lost = True  # closed meanwhile: nothing more to read
            took = await _taken(fd)
        if not task.done():
            await _cancelled(task)  # (a turn: the server still paused)
    except Exception:
        failed = True
        task.cancel()  # a transport built otherwise: no read ahead left in flight
        raise
    except BaseException:  # a cancellation: the read ahead goes on, owed to the app
        failed = True
        raise
    finally:
        got = _message(task)
        if (not failed and not lost and began is not None and copy is not None
                and _held(transport, reader, paused, got is None,
                          partial(_tls_end, tls, got, half_closed))):
            try:
                Hold(loop, reader, copy, half_closed, time.perf_counter() - began,
                      transport, tls)
            except Exception:  # noqa: BLE001 - a loop built otherwise: resumed, closed
                pass
        else:
            # resume never raises (uvloop's TLS transport closed meanwhile raised: a
            # cancellation became an AttributeError, the copy left to the collector)
            if paused:
                resume(reader)
            if copy is not None:
                copy.close()
    return _message(task), ended
