"""Alias module: ``from readme_metrics.MetricsMiddleware import MetricsMiddleware`` keeps working.

The official 3.x package's CamelCase module path, for compatibility; the code lives in
:mod:`readme_metrics.middleware`. ``readme_metrics.MetricsMiddleware`` is the class, as
there. The class is imported on first use, as from the package (requests and webob are
not loaded for the companions and the command line).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from readme_metrics.middleware import MetricsMiddleware

__all__ = ["MetricsMiddleware"]


def __getattr__(name: str) -> Any:
    if name == "MetricsMiddleware":
        from readme_metrics.middleware import MetricsMiddleware

        return MetricsMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
