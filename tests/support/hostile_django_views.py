"""Django's own middleware (``readme_metrics.django.MetricsMiddleware``) under
``manage.py runserver``, bare and wrapped side by side, for
tests/test_hostile15_servers.py: ``DJANGO_SETTINGS_MODULE`` names this module.

One Django project; :class:`WrapOnly`, its one middleware, hands a request whose path
starts with ``/wrap/`` to the library's middleware (configured from ``README_*``, the
grouping function :func:`grouping` here) and any other straight to the view, so a test
compares the two answers of one server, as tests/support/hostile_apps.py does for the
WSGI middleware. The views, by path after the prefix: ``/echo`` answers
``request.body`` with the request's Content-Type, ``/noread`` answers ``ok`` without
reading the body, ``/read-some`` reads 5 bytes (``request.read(5)``) and answers them.
Each wrapped call appends its ``X-Trace`` header to the file ``HOSTILE_TRACES`` names.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

SECRET_KEY = "hostile15-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [f"{__name__}.WrapOnly"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = None
DATA_UPLOAD_MAX_MEMORY_SIZE = None


def grouping(request: Any) -> dict[str, str]:
    """Every call is logged, as the caller its X-Api-Key names (a client's choice)."""
    return {"api_key": request.headers.get("X-Api-Key") or "hostile-caller-key",
            "label": "hostile"}


class WrapOnly:
    """The library's middleware for ``/wrap/...``, none for anything else."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        from readme_metrics.django import MetricsMiddleware

        self.get_response = get_response
        self.wrapped = MetricsMiddleware(get_response)

    def __call__(self, request: Any) -> Any:
        if not request.path.startswith("/wrap/"):
            return self.get_response(request)
        trace: Optional[str] = request.META.get("HTTP_X_TRACE")
        path = os.environ.get("HOSTILE_TRACES")
        if path and trace:
            with open(path, "a", encoding="latin-1") as traces:
                traces.write(trace + "\n")
        return self.wrapped(request)


def _views() -> list[Any]:
    from django.http import HttpResponse
    from django.urls import re_path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def echo(request: Any, prefix: str) -> Any:
        return HttpResponse(request.body, content_type=request.META.get(
            "CONTENT_TYPE") or "application/octet-stream")

    @csrf_exempt
    def noread(request: Any, prefix: str) -> Any:
        return HttpResponse(b"ok", content_type="text/plain")

    @csrf_exempt
    def read_some(request: Any, prefix: str) -> Any:
        return HttpResponse(request.read(5), content_type="text/plain")

    return [re_path(r"^(?P<prefix>bare|wrap)/echo", echo),
            re_path(r"^(?P<prefix>bare|wrap)/noread", noread),
            re_path(r"^(?P<prefix>bare|wrap)/read-some", read_some)]


urlpatterns = _views()
