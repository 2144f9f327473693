"""ASGI entry point (``uvicorn exampleproject.asgi:application``, from examples/django)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exampleproject.settings")
application = get_asgi_application()
