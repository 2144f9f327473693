"""A uWSGI master's SIGKILL that one of its own options times, as a close's bound.

At an ``--idle`` stop (:mod:`.uwsgi_idle`) and a graceful harakiri
(:mod:`.uwsgi_harakiri`), the master kills the worker sooner than its
``--worker-reload-mercy``: :func:`timed` reads that time from the worker's options
(never raising), :class:`KillLimit` says it in the close's lines.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from readme_metrics.delivery import uwsgi_exit
from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["KillLimit", "timed"]


class KillLimit(Limit):
    """uWSGI's kill of a worker at a time one of its options sets (not the mercy)."""

    def kills(self) -> str:
        return "ends this worker then"


def timed(seconds: Callable[[Any, dict[Any, Any]], Optional[float]]) -> Optional[float]:
    """``seconds(uwsgi, options)`` in a uWSGI worker: the time to the master's kill, or
    None; None outside uWSGI and where it raises (an uwsgi module of another shape)."""
    uwsgi, options = uwsgi_exit.uwsgi_options()
    if uwsgi is None:
        return None
    try:
        return seconds(uwsgi, options)
    except Exception:  # noqa: BLE001 - (an uwsgi module of another shape)
        return None
