"""readme-metrics: send every call to your WSGI API to ReadMe's API Metrics dashboard.

.. code-block:: python

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    app.wsgi_app = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
        api_key="rdme_...",
        grouping_function=lambda req: {"api_key": req.headers.get("X-Api-Key")},
    ))
"""

from typing import TYPE_CHECKING, Any

from readme_metrics.config import MetricsApiConfig
from readme_metrics.version import __version__

if TYPE_CHECKING:
    from readme_metrics.middleware import MetricsMiddleware

__all__ = ["MetricsApiConfig", "MetricsMiddleware", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that the companion middlewares and the command line do
    # not pay for requests and webob unless the metrics middleware is used.
    if name == "MetricsMiddleware":
        from readme_metrics.middleware import MetricsMiddleware

        return MetricsMiddleware
    raise AttributeError(f"module 'readme_metrics' has no attribute {name!r}")
