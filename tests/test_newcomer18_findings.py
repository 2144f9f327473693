"""newcomer18's first hour on main at 13de952 (2026-12-04): each test failed there and
passes with its fix."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parent.parent


def test_a_starlette_apps_middleware_is_shown_as_readme_metrics_starlettes() -> None:
    """A Starlette app's middleware stack, as a debugger or a traceback shows it, named
    the middleware `readme_metrics.fastapi.ReadMeMetricsMiddleware`, although README's
    Starlette row imports it from `readme_metrics.starlette` and FastAPI is not needed:
    the class now lives in readme_metrics.starlette, and the old path gives the same
    class."""
    starlette = pytest.importorskip("starlette.applications")
    from starlette.middleware import Middleware

    from readme_metrics.fastapi import ReadMeMetricsMiddleware as from_fastapi
    from readme_metrics.starlette import ReadMeMetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                              enabled=False)
    app = starlette.Starlette(middleware=[Middleware(ReadMeMetricsMiddleware, config=config)])
    layer = app.build_middleware_stack()
    names = []
    while layer is not None and len(names) < 10:
        names.append(f"{type(layer).__module__}.{type(layer).__qualname__}")
        layer = getattr(layer, "app", None)
    assert "readme_metrics.starlette.ReadMeMetricsMiddleware" in names, names
    assert not [name for name in names if name.startswith("readme_metrics.fastapi")], names
    assert from_fastapi is ReadMeMetricsMiddleware



def test_a_starlette_app_given_to_the_wsgi_middleware_is_told_starlettes_import() -> None:
    """`readme_metrics.MetricsMiddleware(Starlette(...), config)` was told to import
    ReadMeMetricsMiddleware from `readme_metrics.fastapi` alone, the confusion README's
    Starlette row and example had removed: the refusal names `readme_metrics.starlette`
    too."""
    starlette = pytest.importorskip("starlette.applications")

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    with pytest.raises(TypeError) as caught:
        MetricsMiddleware(starlette.Starlette(), config)
    assert ("For FastAPI and Starlette, app.add_middleware(ReadMeMetricsMiddleware, "
            "config=...) (from readme_metrics.starlette import ReadMeMetricsMiddleware, or "
            "from readme_metrics.fastapi: the same class)") in str(caught.value), caught.value


_DJANGO_HANDLERS = """\
import django
from django.conf import settings

settings.configure(ROOT_URLCONF=[], ALLOWED_HOSTS=["*"], MIDDLEWARE=[])
django.setup()

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

import readme_metrics
import readme_metrics.asgi
from readme_metrics import MetricsApiConfig

config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
for wrap, application in ((readme_metrics.MetricsMiddleware, get_asgi_application()),
                          (readme_metrics.asgi.MetricsMiddleware, get_wsgi_application())):
    try:
        wrap(application, config)
    except TypeError as exc:
        print(exc)
"""


def test_django_application_wrapped_with_the_other_kinds_middleware_says_wrap_nothing(
        tmp_path: Path) -> None:
    """A Django newcomer wrapping asgi.py's `get_asgi_application()` with
    `readme_metrics.MetricsMiddleware` (or wsgi.py's with the ASGI one) was told only to
    use the other kind's middleware, around Django's handler, where the settings' line
    already does it: the refusal now says to wrap nothing, and names the settings line
    and `with_lifespan` for uvicorn. Real Django handlers, made by Django's own calls."""
    pytest.importorskip("django")
    (tmp_path / "handlers.py").write_text(_DJANGO_HANDLERS, encoding="utf-8")
    done = run_command([sys.executable, str(tmp_path / "handlers.py")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert len(said) == 2, said
    hint = textwrap.dedent("""\
        ; for Django's own application (get_wsgi_application(), get_asgi_application()),
         wrap nothing: settings.py's MIDDLEWARE.insert(0,
         'readme_metrics.django.MetricsMiddleware') logs every call under WSGI and ASGI
         (under uvicorn, asgi.py's application = with_lifespan(get_asgi_application()),
         from readme_metrics.django_asgi import with_lifespan)""").replace("\n", "")
    assert said[0].startswith("readme_metrics: MetricsMiddleware(app, config): app is an "
                              "ASGI app (ASGIHandler: its __call__ is async)"), said[0]
    assert said[1].startswith("readme_metrics: MetricsMiddleware(app, config): app is a "
                              "WSGI app (WSGIHandler: it takes (environ, start_response))"), \
        said[1]
    assert [line.endswith(hint) for line in said] == [True, True], said
