"""Apps for tests/test_review96_findings.py: a view that parses the form of a body longer
than max_body_bytes, and a grouping function that reads the parsed form (whole), under
Django and Flask. Django's settings are this module
(``DJANGO_SETTINGS_MODULE=tests.support.review96_apps``).
"""

from typing import Any, Optional

# Django's settings: grouping22's, with this module's URLconf and grouping function.
from tests.support.grouping22_apps import (  # noqa: F401
    ALLOWED_HOSTS,
    DEBUG,
    LOGGING_CONFIG,
    MIDDLEWARE,
    SECRET_KEY,
    USE_TZ,
    _config,
)


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


ROOT_URLCONF = __name__
README_METRICS_CONFIG = _config(django_grouping)


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
