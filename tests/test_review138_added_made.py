"""review138 (an adversarial read of newcomer36's added_made.py): the look a middleware
made around a Starlette app puts on the app's first build of its middleware stack
raised AttributeError into the app when two builds ran at once.

Starlette builds its stack at the app's first call (``middleware_stack is None``); an
app served by two event loops (threads: two ``TestClient`` portals, a server running a
loop per thread) can build it twice at once. ``watch_added``'s ``checked_build``, after
a build that found nothing, puts the app's own method back (``del
app.build_middleware_stack``) if its own is still there: both builds found it there,
the first deleted it, the second's ``del`` raised AttributeError out of the app's call.
Now taking it off never raises. Real Starlette, two threads, the first parked (a tracer)
between its look and its ``del`` while the second builds. Before: 1 of 1 failed
(AttributeError), after: passes.
"""

from __future__ import annotations

import dis
import sys
import threading
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.added_made import watch_added
from tests.support.processes import LINE_WAIT

pytest.importorskip("starlette")


def _checked_build_code() -> CodeType:
    return next(const for const in watch_added.__code__.co_consts
                if isinstance(const, CodeType) and const.co_name == "checked_build")


def test_two_first_builds_at_once_raise_nothing_into_the_app() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from readme_metrics.asgi import MetricsMiddleware

    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    MetricsMiddleware(app, MetricsApiConfig(api_key="rdme_review138_key",
                                            metrics_api="http://127.0.0.1:9/",
                                            grouping_function=lambda request: None))
    code = _checked_build_code()
    # The line of the ``del`` (its look passed): the first thread parks there.
    lines = [line for _, line in dis.findlinestarts(code) if line is not None]
    source = Path(code.co_filename).read_text().splitlines()
    del_line = next(line for line in sorted(set(lines))
                    if "del app.build_middleware_stack" in source[line - 1])
    parked, go = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is code:
            return line_tracer
        return None

    def line_tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == del_line and not parked.is_set():
            parked.set()
            go.wait(LINE_WAIT)
        return line_tracer

    def first() -> None:
        sys.settrace(tracer)
        try:
            outcome.append(app.build_middleware_stack())
        except BaseException as error:  # noqa: BLE001 - the app's call would raise it
            outcome.append(error)
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=first, daemon=True)
    thread.start()
    assert parked.wait(LINE_WAIT), "the first build did not reach its del"
    second = app.build_middleware_stack()  # the other loop's first call: a whole build
    go.set()
    thread.join(LINE_WAIT)
    assert callable(second)
    assert len(outcome) == 1 and not isinstance(outcome[0], BaseException), outcome
    assert "build_middleware_stack" not in vars(app)  # the app's own method again
