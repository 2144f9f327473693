"""delivery54's Django site under an ASGI server that stops with a view in flight: a
quick view, a sync one that waits in asgiref's thread for the file ``D54_RELEASE`` (once
it wrote ``D54_ENTERED``), an async one that waits until cancelled; ``app`` is Django's
ASGI application with ``with_lifespan``. Shared by delivery54's, delivery56's and
delivery59's tests (the latter two wrap ``app``). With ``D54_SYNC_CHAIN`` set, a sync-only
middleware below the library's makes Django run the chain as a sync one, in asgiref's
thread (delivery59)."""

from __future__ import annotations

import textwrap

__all__ = ["SITE"]

SITE = textwrap.dedent("""
    import asyncio, os, time

    import django
    from django.conf import settings

    from readme_metrics import MetricsApiConfig

    settings.configure(
        SECRET_KEY="d54", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=[], MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"] + (
            [f"{__name__}.sync_only"] if os.environ.get("D54_SYNC_CHAIN") else []),
        README_METRICS_CONFIG=MetricsApiConfig(
            grouping_function=lambda request: {"api_key": "d54-key", "label": "d54"},
            buffer_length=1000, flush_interval=600))
    django.setup()

    from django.core.asgi import get_asgi_application
    from django.http import JsonResponse
    from django.urls import path

    from readme_metrics.django_asgi import with_lifespan

    def sync_only(get_response):  # (a function middleware: sync-capable only)
        return lambda request: get_response(request)

    def quick(request):
        return JsonResponse({"quick": True})

    def sync_view(request):  # in asgiref's thread, until the test lets it go
        open(os.environ["D54_ENTERED"], "w").close()
        while not os.path.exists(os.environ["D54_RELEASE"]):
            time.sleep(0.01)
        return JsonResponse({"slow": True})

    async def async_view(request):
        open(os.environ["D54_ENTERED"], "w").close()
        await asyncio.Event().wait()  # until the server's stop cancels the handler

    urlpatterns = [path("quick", quick), path("sync", sync_view), path("async", async_view)]
    app = with_lifespan(get_asgi_application())
""")
