"""The bytes a delivery holds, counted by their real size: a batch once encoded by its
JSON, not by what was captured.

A base of :class:`~readme_metrics.delivery.queue.LogQueue` (its state is the queue's,
under its one lock). ``queued_bytes`` counts every log accepted and not settled: the
logs waiting by their captured bytes, a batch from the moment it is encoded by the bytes
of its JSON (what a POST in flight or a batch waiting for a retry holds). The JSON of a
log is 2.8 times its captured bytes for a small GET, 6 times for a body of control
characters, up to about 19 times for a Cookie header of tiny cookies (each value sent as
its 100-character mask, SPEC 2): counted by its captured bytes, 4 MiB of
``max_queue_bytes`` held 68.6 MB of JSON with the API unreachable (cpu23).

So that the bound holds whatever the ratio:

- a batch is encoded only up to the room left in ``max_queue_bytes`` (the captured
  bytes of its logs encoded so far added to it, as their JSON replaces them) and
  ``max_post_bytes``: the logs past it are split off (:meth:`HeldBytes.encoded_locked`)
  and wait, not yet encoded, first in line; at least one log is encoded (a single log
  larger than the cap goes alone); the room is claimed while it encodes, so that the
  logs accepted meanwhile do not take it;
- no batch is encoded (:meth:`HeldBytes.may_encode_locked`) while the queue is full and
  some JSON is held, checked as it is taken (``Batcher.take_locked``) and again as its
  encoding begins (``Attempt._encode``: another sender's may have filled it): the logs
  wait as captured until a POST settles.

So the bytes held stay within ``max_queue_bytes`` plus one log's JSON (docs/DELIVERY.md,
Bounded memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from readme_metrics.delivery.encode import Body
    from readme_metrics.delivery.queue import Batch

__all__ = ["HeldBytes"]


class HeldBytes:
    """The JSON held by a :class:`~readme_metrics.delivery.queue.LogQueue`."""

    queued_bytes: int
    max_bytes: int
    max_post_bytes: int
    in_flight: set[Batch]
    retries: list[Batch]
    #: The bytes of the batches held encoded (in ``queued_bytes`` too): POSTs in flight
    #: and batches waiting for a retry.
    encoded_bytes = 0

    def requeue_locked(self, batch: Batch) -> None:  # (LogQueue's)
        raise NotImplementedError

    def may_encode_locked(self) -> bool:
        """True if a batch may be encoded now: the queue has room, or no JSON is held
        (then one batch goes, whatever the bound: else nothing would ever be sent)."""
        return self.queued_bytes < self.max_bytes or not self.encoded_bytes

    def encode_limit_locked(self, batch: Batch) -> tuple[int, int, int]:
        """How much JSON ``batch`` may become: at most ``max_post_bytes``, and the room
        left in ``max_bytes`` besides the batch (its logs' captured bytes add to it as
        they are encoded: those left out stay counted); and the bytes of that room
        claimed meanwhile (counted in ``queued_bytes`` until :meth:`encoded_locked`):
        else a log that came during the encoding took the room the JSON then filled."""
        room = self.max_bytes - self.queued_bytes
        claimed = max(0, min(self.max_post_bytes - batch.nbytes, room))
        self.queued_bytes += claimed
        return self.max_post_bytes, room, claimed

    def encoded_locked(self, batch: Batch, body: Optional[Body], rest: list[Any],
                       claimed: int) -> None:
        """``batch`` was encoded as ``body`` (None: no log could be built) from its
        logs but the last ``len(rest)``, which did not fit (:meth:`encode_limit_locked`,
        which claimed ``claimed`` bytes, given back here): those become a batch of
        their own, first in line, not encoded yet. The batch is counted by its JSON
        from now on. Not if a close gave it up meanwhile (its logs counted already,
        ``rest`` with them): it stays without a body."""
        self.queued_bytes -= claimed
        if not batch.count:
            return
        if rest:
            first = batch.last - len(rest) + 1
            # Captured bytes as counted (a build error's share was an average: never
            # more than the batch still has).
            nbytes = min(sum(item.nbytes for item in rest), batch.nbytes)
            part = type(batch)(rest, first, nbytes)
            part.last = batch.last
            batch.last = first - 1
            batch.count -= len(rest)
            batch.nbytes -= nbytes
            self.requeue_locked(part)
        if body is None:
            return
        size = len(body)
        self.queued_bytes += size - batch.nbytes
        self.encoded_bytes += size
        batch.nbytes = size
        batch.body = body

    def unheld_locked(self, batch: Batch) -> None:
        """``batch`` is settled or split: its JSON is no longer held."""
        if batch.body is not None:
            self.encoded_bytes -= batch.nbytes
