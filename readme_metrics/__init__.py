"""readme-metrics: send every call to your WSGI API to ReadMe's API Metrics dashboard.

.. code-block:: python

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    app.wsgi_app = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
        api_key="rdme_...",
        grouping_function=lambda req: {"api_key": req.headers.get("X-Api-Key")},
    ))
"""

from readme_metrics.config import MetricsApiConfig
from readme_metrics.version import __version__

__all__ = ["MetricsApiConfig", "MetricsMiddleware", "__version__"]
