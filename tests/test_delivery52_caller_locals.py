"""delivery52: the library reads no running caller's locals (flaky34's leak, the rest).

Before Python 3.13, reading ``frame.f_locals`` of a frame still running leaves a dict
snapshot of its locals on that frame, refreshed only at the next read: what the caller
deletes or rebinds afterwards stays alive as long as it runs (flaky34: a caller's last
app). gunicorn_signal.py was narrowed to gunicorn's frames then. Of the other reads:

- capture/wsgi_loop.py read the locals of every frame named ``__call__`` up the stack
  (a RecursionError of the app: is it the middleware calling itself?), any caller's: now
  only the middleware's own ``__call__`` frames (the loop is made of them).
- unwrapped.py reads the middleware's own ``__call__`` frame, capture/wsgi_response.py
  its own ``__next__`` frame in a traceback (the one handling the error, or one already
  unwound), _logging.py hypercorn's ``run`` frame, whose locals at that point
  (``config``, ``sockets``, ``worker_func``) it keeps to its end anyway: no caller's
  object outlives its use through them (the last two pinned below).
"""

from __future__ import annotations

import gc
import io
import weakref
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import Collector


class _Kept:
    """A caller's object: alive only while the caller holds it."""


def _config(collector: Collector) -> MetricsApiConfig:
    return MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                            readme_api_url=collector.url,
                            grouping_function=lambda request: None)


def _environ() -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO()}


def _recursing(environ: Any, start_response: Any) -> Any:
    raise RecursionError("maximum recursion depth exceeded")


class _Caller:
    """A WSGI layer of the app's outside the middleware (its own ``__call__``): it holds
    an object while the request runs, and lets go of it as the call fails."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.left: list[bool] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        kept = _Kept()
        ref = weakref.ref(kept)
        try:
            return self.app(environ, start_response)
        except RecursionError:
            del kept
            gc.collect()
            self.left.append(ref() is None)  # still running: is what it dropped gone?
            return [b""]


def test_a_recursion_error_of_the_app_keeps_no_object_its_callers_let_go(
        collector: Collector) -> None:
    caller = _Caller(MetricsMiddleware(_recursing, _config(collector)))
    assert caller(_environ(), lambda status, headers, exc_info=None: None) == [b""]
    # (before: kept alive by the snapshot of _Caller.__call__'s locals, read by the
    # loop's check as a frame named __call__)
    assert caller.left == [True]


def test_the_loop_is_still_told_from_the_middlewares_own_calls(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """The check still finds the loop (newcomer26: app.wsgi_app = MetricsMiddleware(app,
    config)) from the middleware's own calls: none logs the request, one says why."""
    middleware = MetricsMiddleware(_recursing, _config(collector))
    depth = [0]

    def app(environ: Any, start_response: Any) -> Any:
        depth[0] += 1
        if depth[0] < 5:
            return middleware(environ, start_response)  # the app calls it again
        raise RecursionError("maximum recursion depth exceeded")

    middleware.app = app
    with pytest.raises(RecursionError):
        middleware(_environ(), lambda status, headers, exc_info=None: None)
    said = [record for record in caplog.records if "is the wsgi_app of the app it wraps"
            in record.getMessage()]
    assert len(said) == 1 and depth[0] == 5
    assert middleware.pipeline is not None
    assert middleware.pipeline.stats["captured"] == 0


def test_the_hypercorn_run_frame_read_holds_only_what_run_keeps() -> None:
    """_logging.py reads ``config`` from hypercorn's ``run`` frame (in the reloader's
    process, while it loads the app): none of the locals bound by then is rebound or
    deleted later in ``run`` (what the snapshot keeps, run keeps to its end)."""
    run = pytest.importorskip("hypercorn.run").run
    import dis

    code = run.__code__
    load = next(i.offset for i in dis.get_instructions(code)
                if i.opname in ("LOAD_GLOBAL", "LOAD_NAME") and i.argval == "load_application")
    before = {i.argval for i in dis.get_instructions(code)
              if i.offset < load and i.opname == "STORE_FAST"}
    after = {i.argval for i in dis.get_instructions(code)
             if i.offset > load and i.opname in ("STORE_FAST", "DELETE_FAST")}
    assert "config" in code.co_varnames[:code.co_argcount]
    assert before & after <= {"exitcode"}, before & after  # (an int)
