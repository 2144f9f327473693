"""newcomer22: Pyramid's router wrapped (``application``), beside the router itself
(``app``, what the Pyramid docs' ``make_server(..., app)`` serves)."""

from typing import Any

from pyramid.config import Configurator

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def hello(request: Any) -> Any:
    return {"hello": "world"}


def grouping(request: Any) -> Any:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


with Configurator() as config:
    config.add_route("hello", "/")
    config.add_view(hello, route_name="hello", renderer="json")
    app = config.make_wsgi_app()
application = MetricsMiddleware(app, MetricsApiConfig(grouping_function=grouping))
