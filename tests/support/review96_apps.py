"""Apps for tests/test_review96_findings.py: a view that parses the form of a body longer
than max_body_bytes, and a grouping function that reads the parsed form (whole), under
Django and Flask. Django's settings are this module
(``DJANGO_SETTINGS_MODULE=tests.support.review96_apps``).
"""

from typing import Any, Optional

from readme_metrics import MetricsApiConfig


def _config(grouping: Any) -> MetricsApiConfig:
    return MetricsApiConfig(grouping_function=grouping)


def django_grouping(request: Any) -> Optional[dict[str, str]]:
    # The form the view parsed: whole, whatever max_body_bytes. No 'caller' field: KeyError.
    return {"api_key": request.POST["caller"]}


def _urlpatterns() -> list[Any]:
    from django.http import HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def form_view(request: Any) -> Any:
        return HttpResponse(str(len(request.POST.get("pad", ""))), content_type="text/plain")

    return [path("form", form_view)]


SECRET_KEY = "review96-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
USE_TZ = True
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
README_METRICS_CONFIG = _config(django_grouping)
LOGGING_CONFIG = None
DATA_UPLOAD_MAX_MEMORY_SIZE = None


def _build_flask() -> Any:
    from flask import Flask, request

    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.post("/form")
    def form_view() -> str:
        return str(len(request.form.get("pad", "")))

    def grouping(req: Any) -> Optional[dict[str, str]]:
        return {"api_key": req.form["caller"]}

    ReadMeMetrics(_config(grouping), app)
    return app


def __getattr__(name: str) -> Any:
    if name == "flask_app":
        return _build_flask()
    if name == "urlpatterns":
        return _urlpatterns()
    if name == "django_wsgi":
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    raise AttributeError(name)
