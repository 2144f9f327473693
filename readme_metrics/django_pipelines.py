"""One pipeline per Django configuration, however many middleware chains Django builds.

Each chain's middleware (:mod:`readme_metrics.django`) takes its configuration's shared
pipeline and inline sends here; :func:`flush_all` flushes them all (at an ASGI server's
shutdown: :mod:`readme_metrics.django_asgi`).
"""

from __future__ import annotations

import threading
import weakref
from typing import Optional

from readme_metrics.capture.asgi_inline import InlineSends
from readme_metrics.config import MetricsApiConfig
from readme_metrics.pipeline import MetricsPipeline

__all__ = ["Shared", "entry_for", "flush_all", "pipelines"]


class Shared:
    """One configuration's pipeline and inline sends, shared by every middleware chain
    Django builds with it (each test Client builds one, for instance)."""

    __slots__ = ("config", "pipeline", "inline", "__weakref__")

    def __init__(self, config: MetricsApiConfig) -> None:
        self.config = config
        self.pipeline = MetricsPipeline(config)
        self.inline = InlineSends(self.pipeline.submit, config.max_queue_size)
        # Its flush and close count what waits there.
        self.pipeline.held_by(self.inline.hand_over)


# One pipeline (one delivery worker) per configuration object and process, however many
# times Django builds its middleware chain. Held weakly, by id: the middlewares using
# it hold it, and so does _latest for the configuration seen last (production's only
# one, kept between two chains). A test suite making a configuration per test
# (override_settings) kept every one, each with its sender thread, for ever; one that no
# middleware uses any more now goes, its logs delivered by the pipeline's finalizer.
pipelines: weakref.WeakValueDictionary[int, Shared] = weakref.WeakValueDictionary()
_latest: list[Shared] = []
_pipelines_lock = threading.Lock()


def entry_for(config: MetricsApiConfig) -> Shared:
    """The pipeline and inline sends of a configuration: one of each, so that the sends
    take turns whichever handler or chain made them."""
    with _pipelines_lock:
        known = pipelines.get(id(config))
        if known is None or known.config is not config:
            known = Shared(config)
            pipelines[id(config)] = known
        _latest[:] = [known]
        return known


def flush_all(timeout: Optional[float] = None) -> bool:
    """Send the logs queued by every configuration's middleware in this process; True
    when all were delivered. Each within ``timeout`` (its ``shutdown_timeout`` by
    default). What :mod:`readme_metrics.django_asgi` runs at the server's shutdown."""
    with _pipelines_lock:
        known = list(pipelines.values())
    delivered = True
    for entry in known:
        delivered = entry.pipeline.flush(timeout) and delivered
    return delivered
