"""The exit's cut of what is still in flight, from the snapshots
:mod:`~readme_metrics.capture.unclosed` takes: each request or response asked to queue
its log as far as it went, or to count it (:meth:`InFlight.cut_at_exit
<readme_metrics.capture.unclosed.InFlight>`), then each pipeline told how many of each
outcome (:meth:`~readme_metrics.pipeline.MetricsPipeline.cut_at_exit`). No code of the
app's runs here; nothing raises into the exit. (Moved out of ``unclosed``: house39.)
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from readme_metrics.capture.unclosed import InFlight
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["cut"]


def cut(held: Iterable[InFlight], refs: Iterable[weakref.ref[InFlight]]) -> None:
    """Cut the requests ``held`` in the app's call, then the responses in flight (weakly,
    ``refs``), in that order; then each pipeline says how many of each outcome."""
    counts: dict[int, tuple[MetricsPipeline, dict[str, int]]] = {}
    for request in held:
        _count(counts, request)
    for ref in refs:
        _count(counts, ref())
    for pipeline, outcomes in counts.values():
        try:
            pipeline.cut_at_exit(outcomes)
        except Exception:  # noqa: BLE001 - never into the exit
            pass


def _count(counts: dict[int, tuple[MetricsPipeline, dict[str, int]]],
           held: Optional[InFlight]) -> None:
    if held is None:
        return
    try:
        pipeline, outcome = held.cut_at_exit()
    except Exception:  # noqa: BLE001 - never into the exit
        return
    outcomes = counts.setdefault(id(pipeline), (pipeline, {}))[1]
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
