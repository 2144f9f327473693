"""blackbox14's Django ASGI entry point, README's asgi.py as written (two lines added)."""

import os

from django.core.asgi import get_asgi_application

from readme_metrics.django_asgi import with_lifespan

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.blackbox14_django")

application = with_lifespan(get_asgi_application())

# Django's handler alone, as a daphne user's asgi.py has it ("daphne needs nothing").
plain_application = get_asgi_application()
