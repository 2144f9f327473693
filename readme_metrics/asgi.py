"""The ASGI 3 middlewares: ``readme_metrics.asgi.MetricsMiddleware(app, config)`` (SPEC 2)
and the companions of SPEC 8, ``RequestIdMiddleware`` and ``CORSMiddleware``.

Thin public names for :class:`readme_metrics.capture.asgi.MetricsMiddleware`,
:class:`readme_metrics.asgi_request_id.RequestIdMiddleware` and
:class:`readme_metrics.asgi_cors.CORSMiddleware`; for FastAPI and Starlette apps see also
:mod:`readme_metrics.starlette` (also imported as :mod:`readme_metrics.fastapi`).
"""

from readme_metrics.asgi_cors import CORSMiddleware
from readme_metrics.asgi_request_id import RequestIdMiddleware
from readme_metrics.capture.asgi import MetricsMiddleware

__all__ = ["CORSMiddleware", "MetricsMiddleware", "RequestIdMiddleware"]
