"""delivery58 (3)'s rounds: the Django middleware under Django's ASGI handler, its event
loop in the process's main thread (as uvicorn's, hypercorn's, daphne's), background
delivery with ``buffer_length=1`` (the log's queueing wakes a sender, which builds it
into a POST at once) to the collector at ``sys.argv[1]``.

Each round serves one request, ``asyncio.run``; right after the log's queueing
(``Capture._submit``) the site waits until the sender is parked at the Nth line event of
``Pending.to_exchange`` (a tracer in the sender threads), or has built the log already,
then raises ``SystemExit`` as README's SIGTERM handler would land there: the loop ends,
the middleware makes the queued log again as what the client got (no answer:
``django_interrupted.queued_unsent``) while the sender is still parked mid-build; then
the sender goes on and posts. Prints one line per round: (N, parked: True, or False once
N is past the build's last line), then the pipeline's stats.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from types import FrameType
from typing import Any

import django
from django.conf import settings

from readme_metrics import MetricsApiConfig

settings.configure(
    SECRET_KEY="d58", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=[], MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
    README_METRICS_CONFIG=MetricsApiConfig(
        api_key="rdme_d58_SECRET_key_5858", metrics_api=sys.argv[1],
        base_log_url="http://d.x", grouping_function=lambda request: {"api_key": "caller-5858"},
        buffer_length=1, flush_interval=600))
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from readme_metrics.capture.pending import Pending  # noqa: E402
from readme_metrics.django_exchange import Capture  # noqa: E402
from readme_metrics.django_pipelines import flush_all, pipelines  # noqa: E402
from tests.support.asgi import http_scope, run  # noqa: E402
from tests.support.processes import LINE_WAIT  # noqa: E402


async def pets(request: object) -> HttpResponse:
    return HttpResponse(b'{"pets": []}', content_type="application/json")


urlpatterns = [path("pets", pets)]
application = get_asgi_application()

BUILD = Pending.to_exchange.__code__
state = {"target": -1, "count": 0}
parked, built, go = threading.Event(), threading.Event(), threading.Event()


def _lines(frame: FrameType, event: str, arg: Any) -> Any:
    if event == "line":
        if state["count"] == state["target"]:
            parked.set()
            go.wait(LINE_WAIT)  # the main thread's raise and remake happen meanwhile
        state["count"] += 1
    elif event == "return":
        built.set()
    return _lines


def _tracer(frame: FrameType, event: str, arg: Any) -> Any:
    return _lines if event == "call" and frame.f_code is BUILD else None


threading.settrace(_tracer)  # the sender threads, started at the first log
submit = Capture._submit


def _landing_submit(self: Capture, pending: Pending) -> None:
    submit(self, pending)  # queued: a sender takes it and builds it
    while not (parked.wait(0.01) or built.is_set()):
        pass
    raise SystemExit(0)  # README's SIGTERM handler, landing right after the queueing


Capture._submit = _landing_submit  # type: ignore[method-assign]


async def request(target: int) -> None:
    await run(application, http_scope(path="/pets", query=f"{target}".encode()))


def main() -> None:
    for target in range(int(sys.argv[2])):
        state["target"], state["count"] = target, 0
        parked.clear()
        built.clear()
        go.clear()
        try:
            asyncio.run(request(target))
        except SystemExit:
            pass
        reached = parked.is_set()
        go.set()
        flush_all(10)
        print(repr((target, reached)), flush=True)
        if not reached:
            break
    stats = [dict(entry.pipeline.delivery.stats) for entry in list(pipelines.values())]
    print(repr(("stats", stats[0])), flush=True)


if __name__ == "__main__":
    main()
