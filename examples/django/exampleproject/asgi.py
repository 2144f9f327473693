"""ASGI entry point (``uvicorn exampleproject.asgi:application``, from examples/django).

``with_lifespan`` lets the server say when it stops (Django's ASGI handler has no
lifespan of its own), so the logs still queued are sent before it ends, under ``uvicorn
--workers N`` and ``--reload`` too."""

import os

from django.core.asgi import get_asgi_application

from readme_metrics.django_asgi import with_lifespan

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exampleproject.settings")
application = with_lifespan(get_asgi_application())
