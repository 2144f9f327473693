"""Whether the server had a response started for the request of a ``send`` it gave.

Read from the server's own object behind ``send`` (hypercorn's stream, uvicorn's request
cycle, daphne's protocol), for a Django sync chain's verdict (:mod:`readme_metrics.
django_abandoned`): a client gone once the answer started left before its end, not
before any of it (review144). Never raises: a server that is not the one looked for
reads as "nothing known" (None).
"""

from __future__ import annotations

from typing import Any, Optional

from readme_metrics.capture.asgi_servers import hypercorn_started
from readme_metrics.capture.daphne_wire import daphne_wire

__all__ = ["hypercorn_stream_of", "response_started", "uvicorn_cycle_of"]


def hypercorn_stream_of(send: object) -> Any:
    """hypercorn's stream whose bound ``send`` (``app_send``) this is, or None."""
    owner = getattr(send, "__self__", None)
    return owner if type(owner).__module__.startswith("hypercorn.") else None


def uvicorn_cycle_of(send: object) -> Any:
    """uvicorn's request cycle (h11's, httptools') whose bound ``send`` this is, or None."""
    owner = getattr(send, "__self__", None)
    if owner is None or not type(owner).__module__.startswith("uvicorn."):
        return None
    return owner if isinstance(getattr(owner, "response_started", None), bool) else None


def response_started(send: object, daphne: bool = True) -> Optional[bool]:
    """Whether the server's request of ``send`` had a response started (hypercorn's
    stream, uvicorn's cycle, ``daphne``'s protocol); None where none tells (review144)."""
    stream = hypercorn_stream_of(send)
    if stream is not None:
        return hypercorn_started(stream)
    cycle = uvicorn_cycle_of(send)
    if cycle is not None:
        return cycle.response_started is not False
    wire = daphne_wire(send) if daphne else None  # (daphne's request, as its wire reads it)
    return None if wire is None else wire.started()
