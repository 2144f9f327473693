"""delivery50's Django site under ``manage.py runserver --nothreading``: a profile hook
sends the main thread a real signal at the Nth landing point in the library's code (as
tests/test_delivery46_findings.py's wsgiref server), whose handler raises there.

``landing_settings`` (the settings: the middleware first, a SIGTERM handler raising
``sys.exit(0)`` as docs/TROUBLESHOOTING.md has a Django app take SIGTERM; under the
autoreloader, ``LANDING_MAIN=N`` has the child's main thread, which runs the reloader's
loop, get SIGTERM at its Nth landing point), ``landing_urls`` (the views),
``landing_wsgi`` (``WSGI_APPLICATION``: ``/pets?N`` counts from the server's call of
Django's handler to the request's end, ``/report`` says where the raise landed,
``/flush`` flushes and gives the stats). :func:`write_site` writes them into a folder.
"""

from __future__ import annotations

from pathlib import Path

SETTINGS = '''
import os
import signal
import sys
import threading

from readme_metrics import MetricsApiConfig

SECRET_KEY = "delivery50"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "landing_urls"
INSTALLED_APPS = []
DATABASES = {}
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
WSGI_APPLICATION = "landing_wsgi.application"
LOGGING = {"version": 1, "disable_existing_loggers": False}
INLINE = os.environ.get("LANDING_INLINE") == "1"
README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "owlbert-key"},
    background_worker_mode=not INLINE, buffer_length=1 if INLINE else 1000,
    flush_interval=600, timeout=30)  # (each log once: a late answer past 3 s went twice)

if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if os.environ.get("RUN_MAIN") == "true" and os.environ.get("LANDING_MAIN"):
    from tests.support import landing_hook

    # (the main thread's hook: the reloader's loop, never over)
    landing_hook.arm(int(os.environ["LANDING_MAIN"]), landing_hook.hook(lambda code: False))
'''

URLS = '''
from django.http import HttpResponse
from django.urls import path


def pets(request):
    return HttpResponse(b'{"pets": []}', content_type="application/json")


urlpatterns = [path("pets", pets)]
'''

WSGI = '''
import sys

from django.core.wsgi import get_wsgi_application

from tests.support import landing_hook

# (the request is over once its response closed: socketserver's finish)
landing = landing_hook.hook(lambda code: code.co_name == "finish"
                            and code.co_filename.endswith("socketserver.py"))
state = landing.state
django = get_wsgi_application()


def text(start_response, body):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(body).encode()]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/report":
        sys.setprofile(None)
        return text(start_response, (state["raised"], state["count"]))
    if path == "/flush":
        from readme_metrics.django_pipelines import flush_all, pipelines
        flushed = flush_all(10)
        stats = [dict(entry.pipeline.delivery.stats) for entry in list(pipelines.values())]
        return text(start_response, (flushed, stats[0]))
    # from the server's call of Django's handler on
    landing_hook.arm(int(environ["QUERY_STRING"].split("&")[0] or "-1"), landing)
    return django(environ, start_response)
'''


def write_site(folder: Path) -> None:
    """The three modules, importable from ``folder``."""
    (folder / "landing_settings.py").write_text(SETTINGS)
    (folder / "landing_urls.py").write_text(URLS)
    (folder / "landing_wsgi.py").write_text(WSGI)
