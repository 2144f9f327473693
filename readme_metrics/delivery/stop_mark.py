"""A server's stop's mark: whether the exit's close after the ASGI lifespan's flush at
shutdown ends within that flush's bound (delivery34), or has one of its own (a mark too
old to be this close's stop: delivery35)."""

from __future__ import annotations

__all__ = ["EXIT_AFTER", "holds"]

#: The server's exit after its stop's flush, at least: it does not grow with
#: shutdown_timeout, and on a loaded machine it is slow (flaky55: at load ~30 a close
#: 0.5 s past a 0.5 s flush's end had a bound of its own, the stop twice its bound).
EXIT_AFTER = 1.0


def holds(began: float, ended: float, start: float, bound: float) -> bool:
    """Does a close that starts at ``start`` belong to the stop that began at ``began``
    (its flush ended at ``ended``, if at or after ``began``)? Within twice ``bound`` of
    ``began`` (the flush takes up to the bound, the server's exit up to one more), and,
    the flush having ended, within ``bound`` (:data:`EXIT_AFTER` at least) of that end:
    a flush that ended late (its thread scheduled late on a loaded machine) takes
    nothing from the exit's share."""
    until = began + 2 * bound
    if ended >= began:
        until = max(until, ended + max(bound, EXIT_AFTER))
    return began <= start < until
