"""Ctrl-C and SIGTERM as a stop request that the main thread waits for, without polling.

The commands serve on threads and wait in the main thread until they are told to stop:
by a signal, or by their own work being done (``demo --requests N``). Python runs signal
handlers only in the main thread, between bytecodes; an exception raised from a handler
can land anywhere (in the middle of a flush, inside a lock), and a sleeping main thread
would only notice after its timeout. So the handlers here do nothing in Python: the
interpreter's C-level handler writes the signal number to a socket
(:func:`signal.set_wakeup_fd`), and :meth:`StopSignals.wait` blocks on reading that
socket, which also wakes up when a worker calls :meth:`StopSignals.wake`.

.. code-block:: python

    with StopSignals() as stop:
        server.start()
        reason = stop.wait()        # a signal number, or WORK_DONE after stop.wake()
    server.stop()
"""

from __future__ import annotations

import signal
import socket
import threading
from types import TracebackType
from typing import IO, Any, Optional

__all__ = ["WORK_DONE", "StopSignals", "end_the_ctrl_c_line"]

#: What :meth:`StopSignals.wait` answers when :meth:`StopSignals.wake` was called.
WORK_DONE = 0

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore(signum: int, frame: Any) -> None:
    """Installed so SIGINT does not raise and SIGTERM does not kill: the fd carries it."""


class StopSignals:
    """A context manager turning SIGINT and SIGTERM into a wake-up of :meth:`wait`.

    Outside the main thread signals cannot be handled; then only :meth:`wake` ends a
    wait. A second signal while the command is stopping is ignored: the shutdown (flush,
    closing the HAR file) is bounded by its own timeouts.
    """

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous: dict[int, Any] = {}
        self._previous_fd: Optional[int] = None
        self.received: Optional[int] = None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(),
                                                     warn_on_full_buffer=False)
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, _ignore)
        return self

    def __exit__(self, kind: Optional[type[BaseException]], value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self._previous_fd is not None:
            signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()

    def wake(self) -> None:
        """End :meth:`wait` with :data:`WORK_DONE` (safe from any thread)."""
        try:
            self._writer.send(bytes([WORK_DONE]))
        except OSError:
            pass  # closed (the command is over) or full (a wake-up is pending anyway)

    def wait(self) -> int:
        """Block until a signal or :meth:`wake`; return the signal number or WORK_DONE.

        After the first signal, later ones are answered at once (the command is stopping).
        """
        if self.received is not None:
            return self.received
        data = self._reader.recv(1)
        self.received = data[0] if data else WORK_DONE
        return self.received


def end_the_ctrl_c_line(reason: int, stream: IO[str]) -> None:
    """After Ctrl-C at a terminal, which echoes ``^C`` and no line break, end that line,
    so that what the command prints next starts a line of its own."""
    try:
        if reason == signal.SIGINT and stream.isatty():
            stream.write("\n")
            stream.flush()
    except (OSError, ValueError):  # closed: nothing to tidy
        pass
