"""blackbox14's Django project in one module (settings, urls, views), set up as README's
"Quick start: Django" says: ``MIDDLEWARE.insert(0, ...)`` and ``README_METRICS_CONFIG``
with a dotted grouping function; served under ASGI through
tests/support/blackbox14_django_asgi.py (``with_lifespan``, as README's asgi.py)."""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Optional

from readme_metrics import MetricsApiConfig

SECRET_KEY = "blackbox14-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
USE_TZ = True
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, Any] = {}
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

# first in the list: it sees the final response (BB14_BARE=1: the app without it)
if os.environ.get("BB14_BARE") != "1":
    MIDDLEWARE.insert(0, "readme_metrics.django.MetricsMiddleware")

def grouping(request: Any) -> Optional[dict[str, str]]:
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": "bb14", "email": "bb14@example.com"}


README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function="tests.support.blackbox14_django.grouping",
)


def hello(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(json.dumps({"hello": request.GET.get("name", "")}),
                        content_type="application/json")


def upload(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(json.dumps({"size": len(request.body)}),
                        content_type="application/json")


def stream(request: Any) -> Any:
    from django.http import StreamingHttpResponse

    n = int(request.GET.get("n", "5"))

    def chunks() -> Iterator[bytes]:
        for i in range(n):
            yield b"chunk-%04d\n" % i

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("hello", hello), path("upload", csrf_exempt(upload)), path("stream", stream)]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)
