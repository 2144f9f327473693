"""delivery54's sweep of the Django middleware under Django's ASGI handler, its event loop
in the process's main thread (as uvicorn's, hypercorn's, daphne's): run as a script, it
serves ``ROUNDS`` requests, one loop each (``asyncio.run``), a profile hook sending the
main thread a real SIGTERM at the Nth landing point of the library's code
(:mod:`tests.support.landing_hook`), whose handler raises ``sys.exit(0)`` there. The raise
ends the loop as it ends a server's; what the exit cuts then (the requests still in
the app's call) is cut after each round (``unclosed.cut_at_shutdown``, the exit's cut).
Prints one line per round: N, where the raise landed (None: past the library's part),
the statuses the client was sent, what came out of the loop. Then the pipeline's stats.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import django
from django.conf import settings

from readme_metrics import MetricsApiConfig

settings.configure(
    SECRET_KEY="d54", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=[], MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
    README_METRICS_CONFIG=MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "d54-key"},
        buffer_length=1000, flush_interval=600))
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from readme_metrics.capture import unclosed  # noqa: E402
from readme_metrics.django_pipelines import flush_all, pipelines  # noqa: E402
from tests.support import landing_hook  # noqa: E402


async def pets(request: object) -> HttpResponse:
    return HttpResponse(b'{"pets": []}', content_type="application/json")


def sync_pets(request: object) -> HttpResponse:
    return HttpResponse(b'{"pets": []}', content_type="application/json")


urlpatterns = [path("pets", pets), path("sync", sync_pets)]
application = get_asgi_application()
# (the request is over once the loop's main task is: asyncio.run's runner closes)
landing = landing_hook.hook(lambda code: code.co_name == "close"
                            and code.co_filename.endswith("runners.py"))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


sent: list[int] = []  # the statuses the client was sent this round


async def request(target: int, route: str) -> None:
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, object]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays
        return {}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            sent.append(int(message["status"]))  # type: ignore[call-overload]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
             "query_string": f"{target}".encode(), "root_path": "",
             "headers": [(b"host", b"d54")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    landing_hook.arm(target, landing)
    try:
        await application(scope, receive, send)
    finally:
        sys.setprofile(None)


def main() -> None:
    route, rounds = sys.argv[1], int(sys.argv[2])
    for target in range(rounds):
        sent.clear()
        outcome = "returned"
        try:
            asyncio.run(request(target, route))
        except BaseException as error:  # noqa: B036 (what the server would see)
            outcome = type(error).__name__
        sys.setprofile(None)
        unclosed.cut_at_shutdown()  # the exit's cut, as at the server's exit
        print(repr((target, landing.state["raised"], sent, outcome)), flush=True)
        if landing.state["raised"] is None:
            break
    flush_all(10)
    stats = [dict(entry.pipeline.delivery.stats) for entry in list(pipelines.values())]
    print(repr(("stats", stats[0])), flush=True)


if __name__ == "__main__":
    main()
