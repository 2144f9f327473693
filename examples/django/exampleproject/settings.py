"""Settings of the minimal Django example: the metrics middleware first in MIDDLEWARE.

    pip install ".[django]"        # from the repository root
    readme-metrics collect         # in another terminal: the local Metrics API
    cd examples/django
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001
    python manage.py migrate       # once: the session and user tables request.user reads
    python manage.py runserver
    curl -H "X-Api-Key: owlbert-key" http://127.0.0.1:8000/pets

(To send to ReadMe instead: your project's API key in README_API_KEY, no
README_METRICS_SERVER.)

Serve it with any WSGI server (``gunicorn exampleproject.wsgi``) or ASGI server
(``uvicorn exampleproject.asgi:application``); the middleware works in both.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from readme_metrics import MetricsApiConfig

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "exampleproject.urls"
WSGI_APPLICATION = "exampleproject.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"  # as startproject writes it (unset, Django logs in America/Chicago time)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]

MIDDLEWARE = [
    # First, so it sees the final response and request.user is set by the time the
    # grouping function runs (it runs after the view).
    "readme_metrics.django.MetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}

# Everything left out here is read from README_* environment variables (README_API_KEY,
# README_METRICS_SERVER, ...). Without this setting at all, the middleware builds the
# whole config from the environment, README_GROUPING_FUNCTION included.
README_METRICS_CONFIG = MetricsApiConfig(
    grouping_function="exampleproject.metrics.grouping",
    denylist=["password"],
)

# SIGTERM (kill, docker stop) as a normal exit where no server handles it (runserver
# --noreload, waitress; under uvicorn asgi.py's with_lifespan does it), so that the logs
# still queued are sent; gunicorn keeps its own graceful stop (README, Troubleshooting). Only
# the main thread may set a handler: imported off it, the settings leave signals alone.
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
