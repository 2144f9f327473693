"""One small API under the plain WSGI middleware, Flask, FastAPI and Django, for
tests/test_grouping22_cut_body.py: ``POST /read`` parses the JSON body in the view,
``POST /noread`` leaves it unread. Each grouping function parses the body too, as README's
do (``req.json``, ``request.get_json()``, ``await request.json()``, ``request.body``), and
labels the call with its ``name``. Django's settings are this module
(``DJANGO_SETTINGS_MODULE=tests.support.grouping22_apps``).
"""

import json
from typing import Any, Optional

from readme_metrics import MetricsApiConfig

#: The body of a POST that has none is this: each view answers with the name it parsed.
NO_NAME = {"name": None}


def group(api_key: Optional[str], body: Any) -> Optional[dict[str, str]]:
    return {"api_key": api_key, "label": str(body["name"])} if api_key else None


def _config(grouping: Any) -> MetricsApiConfig:
    return MetricsApiConfig(grouping_function=grouping)


# -- the plain WSGI middleware (webob.Request) ---------------------------------------


def _build_wsgi() -> Any:
    from readme_metrics import MetricsMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        name = None
        if environ["PATH_INFO"] == "/read":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            name = json.loads(environ["wsgi.input"].read(length))["name"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(name).encode()]

    def grouping(req: Any) -> Optional[dict[str, str]]:
        return group(req.headers.get("X-Api-Key"), req.json)

    return MetricsMiddleware(app, _config(grouping))


# -- Flask -----------------------------------------------------------------------------


def _build_flask() -> Any:
    from flask import Flask, request

    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.post("/read")
    def read_view() -> str:
        return str(request.get_json()["name"])

    @app.post("/noread")
    def noread_view() -> str:
        return "None"

    def grouping(req: Any) -> Optional[dict[str, str]]:
        return group(req.headers.get("X-Api-Key"), req.get_json())

    ReadMeMetrics(_config(grouping), app)
    return app


# -- FastAPI ---------------------------------------------------------------------------


def _build_fastapi() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app = FastAPI()

    @app.post("/read")
    async def read_view(request: Request) -> Any:
        return PlainTextResponse(str((await request.json())["name"]))

    @app.post("/noread")
    async def noread_view() -> Any:
        return PlainTextResponse("None")

    async def grouping(request: Request) -> Optional[dict[str, str]]:
        return group(request.headers.get("x-api-key"), await request.json())

    app.add_middleware(ReadMeMetricsMiddleware, config=_config(grouping))
    return app


# -- Django: this module is the settings and the URLconf -------------------------------


def django_grouping(request: Any) -> Optional[dict[str, str]]:
    return group(request.headers.get("X-Api-Key"), json.loads(request.body))


def _urlpatterns() -> list[Any]:
    from django.http import HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def read_view(request: Any) -> Any:
        return HttpResponse(str(json.loads(request.body)["name"]), content_type="text/plain")

    @csrf_exempt
    def noread_view(request: Any) -> Any:
        return HttpResponse("None", content_type="text/plain")

    return [path("read", read_view), path("noread", noread_view)]


SECRET_KEY = "grouping22-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
USE_TZ = True
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = _config(django_grouping)
LOGGING_CONFIG = None


def __getattr__(name: str) -> Any:
    """The apps, made when a server imports them (``module:wsgi_app`` ...)."""
    if name == "wsgi_app":
        return _build_wsgi()
    if name == "flask_app":
        return _build_flask()
    if name == "fastapi_app":
        return _build_fastapi()
    if name == "urlpatterns":
        return _urlpatterns()
    if name in ("django_wsgi", "django_asgi"):
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
        if name == "django_wsgi":
            from django.core.wsgi import get_wsgi_application

            return get_wsgi_application()
        from django.core.asgi import get_asgi_application

        from readme_metrics.django_asgi import with_lifespan

        return with_lifespan(get_asgi_application())
    raise AttributeError(name)
