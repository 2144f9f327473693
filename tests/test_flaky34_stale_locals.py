"""flaky34: CI's full run failed test_review62's Flask receivers test once (1 receiver of
50 apps left): in a process that had gunicorn's worker module imported (any earlier test
of gunicorn in that xdist worker), each MetricsMiddleware's delivery looked up the stack
for a gunicorn worker (gunicorn_signal._worker_up_the_stack) reading ``f_locals`` of every
caller. On CPython before 3.13 that copies a caller's locals into a dict kept on its
frame, refreshed only at the next read: the caller's ``made`` (the last app made in its
loop) stayed alive after ``del made`` for as long as the caller ran. Only the frames of
gunicorn's worker and arbiter methods are read now."""

from __future__ import annotations

import gc
import weakref

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import Collector

pytest.importorskip("gunicorn")


def test_a_middleware_made_under_gunicorn_keeps_no_app_of_its_caller_alive(
        collector: Collector) -> None:
    import gunicorn.arbiter  # noqa: F401 - imported as in a gunicorn process
    import gunicorn.workers.base  # noqa: F401
    from flask import Flask

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              readme_api_url=collector.url,
                              grouping_function=lambda request: None)
    gone = []
    for i in range(5):
        made = Flask(f"flaky34_{i}")
        made.wsgi_app = MetricsMiddleware(made.wsgi_app, config)  # type: ignore[method-assign]
        gone.append(weakref.ref(made))
    del made
    gc.collect()
    gc.collect()
    assert [ref() for ref in gone] == [None] * 5


def test_the_worker_up_the_stack_is_still_found() -> None:
    """The walk still finds the worker whose method is up the stack, of any class made
    from gunicorn's ``Worker`` (uvicorn-worker's, a project's own)."""
    from gunicorn.workers.base import Worker

    from readme_metrics.delivery import gunicorn_signal

    def watching() -> object:  # (as watch_stop: the walk starts at its caller)
        return gunicorn_signal._worker_up_the_stack()

    class OwnWorker(Worker):  # type: ignore[misc]
        def load_wsgi(self) -> None:
            self.found = watching()

    worker = OwnWorker.__new__(OwnWorker)
    worker.load_wsgi()
    assert worker.found is worker
