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


def __getattr__(name: str) -> Any:  # built when a server imports them
    builders = {"wsgi_companions": _wsgi_companions, "asgi_companions": _asgi_companions}
    if name in builders:
        return builders[name]()
    raise AttributeError(name)
