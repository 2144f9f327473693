"""The WSGI middleware, at its documented import path (``readme_metrics.MetricsMiddleware``).

The code lives in :mod:`readme_metrics.capture.wsgi` (the middleware) and
:mod:`readme_metrics.capture.request_url`, :mod:`~readme_metrics.capture.request_headers`
and :mod:`~readme_metrics.capture.forwarded` (URL, headers, client IP); this module keeps
the old names importable.
"""

from readme_metrics.capture.forwarded import client_ip
from readme_metrics.capture.request_headers import content_length, request_headers
from readme_metrics.capture.request_url import request_url
from readme_metrics.capture.wsgi import MetricsMiddleware

__all__ = ["MetricsMiddleware", "client_ip", "content_length", "request_headers",
           "request_url"]
