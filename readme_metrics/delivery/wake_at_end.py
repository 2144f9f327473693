"""The sender's wake handed over at the request's end, under a gunicorn sync worker.

A sync worker serves one request at a time, in its one thread. The log that makes a
batch's worth (``buffer_length``) waiting wakes an idle sender
(:meth:`~readme_metrics.delivery.queue_door.QueueDoor.put_locked`); under gunicorn the
log of the usual list answer is queued in the app's call, before gunicorn writes the
answer, so the sender woken then took the GIL at the serving thread's first write and
built the batch while that request waited for it (issue 11; cpu37, cpu38). There the
wake is owed instead (:attr:`LogQueue.at_end`, set by the WSGI capture's first request
under such a worker) and given once gunicorn has written the answer and closes it: the
list goes back as a :class:`WakeAtClose`, and a streamed answer's ``close()`` gives it
(capture/wsgi_response.py). The batch, its logs, the bounds and ``flush_interval`` are
the same; a full queue wakes a sender at once, as before. A wake owed that no close gave
(the app raised; gunicorn's own 500 calls no ``close()``) is given at the next request's
start (capture/wsgi.py), and a sender's own look (``flush_interval``, at most 5 s idle)
takes a batch that is due anyway: nothing waits for it to be given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readme_metrics.delivery.queue import LogQueue

__all__ = ["WakeAtClose", "give", "one_at_a_time"]


def one_at_a_time(environ: dict[str, Any]) -> bool:
    """True under gunicorn's sync worker, asked of a request gunicorn serves: the one
    worker class that says its app is not called by several threads at once
    (``wsgi.multithread`` False; gthread, gevent, eventlet and the ASGI worker say True)."""
    return environ.get("wsgi.multithread") is False


def give(queue: LogQueue) -> None:
    """The wake the queue owes an idle sender, now (the request has ended). Never raises
    into the server."""
    try:
        queue.wake_owed()
    except Exception:  # pragma: no cover - never into the server
        pass


class WakeAtClose(list):
    """The app's list answer, the same chunks in a list of their own, whose ``close()``
    (gunicorn calls it once the answer is written, as for any iterable) gives the wake
    its log owes to ``queue`` (set once made: list's own constructor, no Python frame).
    Only for the request whose log made a batch's worth: the others' lists go back as
    they are."""

    __slots__ = ("queue",)
    queue: LogQueue

    def close(self) -> None:
        give(self.queue)
