"""Alias module: ``from readme_metrics.MetricsApiConfig import MetricsApiConfig`` keeps working.

The official 3.x package's CamelCase module path, for compatibility; the code lives in
:mod:`readme_metrics.config`. ``readme_metrics.MetricsApiConfig`` is the class, as there.
"""

from readme_metrics.config import MetricsApiConfig

__all__ = ["MetricsApiConfig"]
