"""A Django project of one view for review98's skip_methods case: settings, URLconf and
both entry points (``wsgi_app`` for gunicorn, ``asgi_app`` for uvicorn), the
configuration from the server's environment (README_SKIP_METHODS among it)."""

from __future__ import annotations

import os
from typing import Any

from readme_metrics import MetricsApiConfig

SECRET_KEY = "review98-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "review98-caller"})


def _method(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(request.META["REQUEST_METHOD"], content_type="text/plain")


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("x", _method)]


urlpatterns = _urlpatterns()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from readme_metrics.django_asgi import with_lifespan  # noqa: E402

wsgi_app = get_wsgi_application()
asgi_app = with_lifespan(get_asgi_application())
