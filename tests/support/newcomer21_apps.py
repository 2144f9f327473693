"""Apps for tests/test_newcomer21_findings.py: a Flask app (WSGI) and a Starlette app
(ASGI), each wrapped with the companion that a refusal names for its kind."""

from typing import Any


def flask_app() -> Any:
    from flask import Flask

    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return "flask"

    return app


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def index(request: Any) -> PlainTextResponse:
        return PlainTextResponse("starlette")

    return Starlette(routes=[Route("/", index)])


def _wsgi_companions() -> Any:
    from readme_metrics.cors import CORSMiddleware
    from readme_metrics.request_id import RequestIdMiddleware

    app = flask_app()
    app.wsgi_app = RequestIdMiddleware(CORSMiddleware(app.wsgi_app, "https://a.example"))
    return app


def _asgi_companions() -> Any:
    from readme_metrics.asgi import CORSMiddleware, RequestIdMiddleware

    return RequestIdMiddleware(CORSMiddleware(starlette_app(), "https://a.example"))


def _form_key() -> Any:
    """The plain WSGI middleware around an app that leaves the body unread; the grouping
    function reads the caller's key from the form (webob's ``req.POST``)."""
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return MetricsMiddleware(app, MetricsApiConfig(
        grouping_function=lambda req: {"api_key": req.POST.get("key")}))


def __getattr__(name: str) -> Any:  # built when a server imports them
    builders = {"wsgi_companions": _wsgi_companions, "asgi_companions": _asgi_companions,
                "form_key": _form_key}
    if name in builders:
        return builders[name]()
    raise AttributeError(name)


def serve_bottle(port: int, wrapped: bool) -> None:
    """README's Bottle row for a ``@bottle.route`` app: the default app wrapped, then
    ``bottle.run(app, ...)`` (``wrapped``) or Bottle's usual ``bottle.run(...)`` alone."""
    import bottle

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    @bottle.route("/")
    def hello() -> Any:
        return {"hello": "world"}

    app = MetricsMiddleware(bottle.default_app(), MetricsApiConfig(
        grouping_function=lambda request: {"api_key": request.headers["X-Api-Key"]}))
    if wrapped:
        bottle.run(app, host="127.0.0.1", port=port, quiet=True)
    else:
        bottle.run(host="127.0.0.1", port=port, quiet=True)
