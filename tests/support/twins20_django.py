"""Django settings, URLconf and entry points of tests/support/twins20_apps.py's views.

``wsgi_app`` for gunicorn and ``asgi_app`` (Django's handler in ``with_lifespan``, as
README's ``mysite/asgi.py``) for uvicorn: the same views, the same ``MIDDLEWARE``.
"""

from __future__ import annotations

import os
from typing import Any

from readme_metrics import MetricsApiConfig
from tests.support.twins20_apps import DOCS, django_grouping, django_views

SECRET_KEY = "twins20-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
USE_TZ = True
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = MetricsApiConfig(grouping_function=django_grouping,
                                         base_log_url=DOCS)
LOGGING_CONFIG = None  # Django's own would print the 500's traceback: the server's log has it


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path(name, view) for name, view in django_views().items()]


urlpatterns = _urlpatterns()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from readme_metrics.django_asgi import with_lifespan  # noqa: E402

wsgi_app = get_wsgi_application()
asgi_app = with_lifespan(get_asgi_application())
