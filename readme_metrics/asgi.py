"""``readme_metrics.asgi.MetricsMiddleware(app, config)``: the ASGI 3 middleware (SPEC 2).

A thin public name for :class:`readme_metrics.capture.asgi.MetricsMiddleware`; for
FastAPI and Starlette apps see :mod:`readme_metrics.fastapi`.
"""

from readme_metrics.capture.asgi import MetricsMiddleware

__all__ = ["MetricsMiddleware"]
