"""What the WSGI and ASGI middlewares share of their public face: ``flush``, ``close``
and ``stats`` (:class:`PipelineControls`), and the options given to a middleware said to
be MetricsApiConfig's before its ``__init__`` refuses them in Python's words.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from readme_metrics.delivery import zero_stats
from readme_metrics.middleware_arguments import no_app_given, no_options_given

if TYPE_CHECKING:
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["PipelineControls"]


def _takes(init: Callable[..., Any], args: tuple[Any, ...],
           arguments: Mapping[str, Any]) -> bool:
    """Whether ``init`` (a middleware class's ``__init__``) takes ``args`` and the
    keywords ``arguments``; True when its signature cannot be read (left to it)."""
    try:
        inspect.signature(init).bind(None, *args, **arguments)
    except TypeError:
        return False
    except ValueError:
        return True
    return True


class PipelineControls:
    """``flush``, ``close`` and ``stats`` of a middleware, shared by the WSGI and ASGI ones.

    ``pipeline`` is None when metrics are turned off (``enabled=False``): nothing was
    started, so there is nothing to flush or close, and every counter stays at 0.
    """

    if TYPE_CHECKING:
        # For type checkers only: MetricsPipeline (pipeline.py, which imports this module)
        # is no name here at run time, where a framework's typing.get_type_hints on the
        # middleware would stop with a NameError (newcomer16; since house54's split).
        pipeline: Optional[MetricsPipeline]
    else:
        # Options given to the middleware (MetricsMiddleware(app, grouping_function=...),
        # FastAPI's add_middleware(ReadMeMetricsMiddleware, api_key=...)) are said to be
        # MetricsApiConfig's before __init__ refuses them in Python's words. Here, in the
        # base, unseen by type checkers: the middlewares' __init__ stays their signature
        # for mypy (Starlette's add_middleware checks its arguments against it) and for
        # inspect and help(), which read a class's own __init__ before a base's __new__.
        # Only keywords the class's __init__ refuses: a subclass of the app's whose own
        # __init__ takes api_key=... (and builds the config) is made as before.
        def __new__(cls, *args: Any, **arguments: Any) -> Any:
            if arguments and not _takes(cls.__init__, args, arguments):
                no_options_given(cls.__name__, arguments)
                no_app_given(cls.__name__, args, arguments,
                             inspect.iscoroutinefunction(cls.__call__))
            return super().__new__(cls)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send every queued log now; True when all were delivered. Blocks: not on a loop."""
        return True if self.pipeline is None else self.pipeline.flush(timeout)

    def close(self) -> None:
        """Flush within shutdown_timeout and stop the worker (idempotent; run at exit)."""
        if self.pipeline is not None:
            self.pipeline.close()

    @property
    def stats(self) -> dict[str, int]:
        """Counters: captured, skipped, queued, sent, dropped, failed_batches, retries."""
        return zero_stats() if self.pipeline is None else self.pipeline.stats
