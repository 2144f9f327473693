"""Starlette's import path for the FastAPI/Starlette middleware:
``from readme_metrics.starlette import ReadMeMetricsMiddleware`` is
:mod:`readme_metrics.fastapi`'s very class (which needs Starlette, not FastAPI), under the
name a Starlette app's author looks for.
"""

from readme_metrics.fastapi import ReadMeMetricsMiddleware

__all__ = ["ReadMeMetricsMiddleware"]
