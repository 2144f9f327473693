"""delivery54's Django site under an ASGI server that stops with a view in flight: a
quick view, a sync one that waits in asgiref's thread for the file ``D54_RELEASE`` (once
it wrote ``D54_ENTERED``), an async one that waits until cancelled; ``app`` is Django's
ASGI application with ``with_lifespan``. Shared by delivery54's, delivery56's and
delivery59's tests (the latter two wrap ``app``). With ``D54_SYNC_CHAIN`` set, a sync-only
middleware below the library's makes Django run the chain as a sync one, in asgiref's
thread (delivery59); with ``D54_BARE``, neither the library's middleware nor
``with_lifespan``: the bare app (delivery69). :func:`view_entered` serves a site and
sends a request into a view (delivery54's and delivery59's tests)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tests.support.polling import wait_until
from tests.support.processes import kill_server, start_server
from tests.support.raw_requests import answers_200

__all__ = ["SITE", "view_entered"]

SITE = textwrap.dedent("""
    import asyncio, os, time

    import django
    from django.conf import settings

    from readme_metrics import MetricsApiConfig

    BARE = bool(os.environ.get("D54_BARE"))  # (delivery69: the bare app, to compare)

    settings.configure(
        SECRET_KEY="d54", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=[], MIDDLEWARE=(
            [] if BARE else ["readme_metrics.django.MetricsMiddleware"]) + (
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
    app = get_asgi_application() if BARE else with_lifespan(get_asgi_application())
""")


@contextmanager
def view_entered(argv: list[str], port: int, tmp_path: Path, site: str, name: str,
                 env: dict[str, str], route: str
                 ) -> Iterator[tuple[subprocess.Popen[Any], socket.socket, Path]]:
    """Serve ``site`` (written as ``name``.py in ``tmp_path``; ``argv``: the server's
    command, its app ``name:app`` added) on ``port`` with ``env``, its output in
    ``tmp_path``/err; once it answers, GET ``route`` on a connection of its own and wait
    until the view wrote ``D54_ENTERED``. Yields the server, the connection (open) and
    the output's path; the server is killed at the end."""
    (tmp_path / f"{name}.py").write_text(site)
    err_path = tmp_path / "err"
    with open(err_path, "wb") as err_file:
        process = start_server([sys.executable, "-m", *argv, f"{name}:app"],
                               cwd=tmp_path, env=env, stdout=err_file, stderr=err_file)
    try:
        wait_until(lambda: answers_200(port))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(f"GET {route} HTTP/1.1\r\nHost: d54\r\n\r\n".encode())
            wait_until(Path(env["D54_ENTERED"]).exists)
            yield process, conn, err_path
    finally:
        kill_server(process)
