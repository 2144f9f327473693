"""FastAPI's import path for the Starlette/FastAPI middleware (the official package's):
``from readme_metrics.fastapi import ReadMeMetricsMiddleware`` is
:mod:`readme_metrics.starlette`'s very class, which needs Starlette, not FastAPI.
"""

from readme_metrics.starlette import ReadMeMetricsMiddleware

__all__ = ["ReadMeMetricsMiddleware"]
