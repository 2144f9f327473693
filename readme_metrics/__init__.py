"""readme-metrics: send every call to your WSGI API to ReadMe's API Metrics dashboard.

.. code-block:: python

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    app.wsgi_app = MetricsMiddleware(app.wsgi_app, MetricsApiConfig(
        # the caller's key for your API; None: the call is not logged
        grouping_function=lambda req: (
            {"api_key": req.headers["X-Api-Key"]} if "X-Api-Key" in req.headers else None),
    ))  # your ReadMe API key from README_API_KEY (or api_key="...")
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from readme_metrics import removed as _removed
from readme_metrics.MetricsApiConfig import MetricsApiConfig
from readme_metrics.version import __version__

if TYPE_CHECKING:
    from readme_metrics.middleware import MetricsMiddleware
else:
    # The official 3.x package's module paths (readme_metrics.MetricsApiConfig and
    # readme_metrics.MetricsMiddleware) are alias modules, loaded here: one loaded later
    # would replace the package's attribute of the same name (the class) with itself.
    # MetricsApiConfig is bound to the class above; the alias bound here is unbound, so
    # that __getattr__ serves the class (loaded on first use).
    import_module("readme_metrics.MetricsMiddleware")
    del MetricsMiddleware

__all__ = ["MetricsApiConfig", "MetricsMiddleware", "__version__"]

# The official package's removed modules (readme_metrics.util, ...) say where they went,
# imported as modules (the finder) or from the package (__getattr__ below).
_removed.install()


def __getattr__(name: str) -> Any:
    # Imported on first use so that the companion middlewares and the command line do
    # not pay for requests and webob unless the metrics middleware is used.
    if name == "MetricsMiddleware":
        from readme_metrics.middleware import MetricsMiddleware

        return MetricsMiddleware
    if name in _removed.REMOVED:  # from readme_metrics import util: the same clear error
        raise _removed.removed_attribute(name)
    raise AttributeError(f"module 'readme_metrics' has no attribute {name!r}")
