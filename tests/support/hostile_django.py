"""Django's settings for ``manage.py runserver`` serving tests/support/hostile_apps.py's
``wsgi_root`` (bare under ``/bare/...``, wrapped under ``/wrap/...``), as
tests/test_hostile14_servers.py starts it: ``DJANGO_SETTINGS_MODULE`` names this module,
``python -m django runserver --noreload`` runs the server of ``manage.py runserver``."""

SECRET_KEY = "hostile14-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
urlpatterns: list[object] = []
WSGI_APPLICATION = "tests.support.hostile_apps.wsgi_root"
