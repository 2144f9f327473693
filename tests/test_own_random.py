"""The library draws its random numbers (log ids, retry jitter) from its own generator.

``random``'s module functions share one generator with the app: drawing there moved an
app's seeded sequence (the wrapped app behaved differently from the bare one), and an app
or a test that seeds it per request gave every log the same ``_id`` (and the same
x-documentation-url). Real parts: the WSGI middleware, a real collector on 127.0.0.1, a
child forked with os.fork.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics._random import IDS_PER_DRAW, log_id
from readme_metrics.delivery.policy import backoff_delay
from readme_metrics.pipeline import MetricsPipeline
from tests.support.fake_api import Collector
from tests.support.wsgi import wsgi_environ


def drawing_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with its next draw from the global generator (a simulation seeded once)."""
    if environ.get("QUERY_STRING") == "seed":
        random.seed(7)  # seeded per request (a reproducible simulation, a test)
    body = repr(random.random()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def serve(app: Any, query: str = "") -> bytes:
    result = app(wsgi_environ(path="/draw", query=query),
                 lambda status, headers, exc_info=None: None)
    try:
        return b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()


def wrapped(collector: Collector) -> MetricsMiddleware:
    return MetricsMiddleware(drawing_app, MetricsApiConfig(
        api_key="rdme_random_key", metrics_api=collector.url,
        grouping_function=lambda req: {"api_key": "caller-key-1", "label": "L"},
        base_log_url="https://docs.example.com", buffer_length=1))


def test_the_apps_seeded_sequence_is_the_same_wrapped(collector: Collector) -> None:
    middleware = wrapped(collector)
    try:
        random.seed(7)
        bare = [serve(drawing_app) for _ in range(3)]
        random.seed(7)
        assert [serve(middleware) for _ in range(3)] == bare
        assert collector.wait_for_logs(3, timeout=30)
    finally:
        middleware.close()


def test_an_app_seeding_per_request_still_gives_each_log_its_own_id(
        collector: Collector) -> None:
    middleware = wrapped(collector)
    try:
        for _ in range(5):
            serve(middleware, "seed")
        logs = collector.wait_for_logs(5, timeout=30)
    finally:
        middleware.close()
    assert len(logs) == 5
    assert len({log["_id"] for log in logs}) == 5


def test_retry_jitter_does_not_draw_from_the_apps_generator() -> None:
    random.seed(11)
    expected = [random.random() for _ in range(3)]
    random.seed(11)
    delays = [backoff_delay(attempt) for attempt in (1, 2, 3, 4)]
    assert [random.random() for _ in range(3)] == expected
    assert all(delay >= 0 for delay in delays)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """gunicorn --preload forks workers from one parent: without a re-seed each would
    draw the same ids."""
    MetricsPipeline.new_id()  # ids made ahead (log_id): the child must not give those
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, to the parent, then exit at once
        try:
            os.write(write, MetricsPipeline.new_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    parent_id = MetricsPipeline.new_id()
    with os.fdopen(read, "rb") as pipe:
        child_id = pipe.read().decode()
    os.waitpid(pid, 0)
    assert len(child_id) == 36
    assert child_id != parent_id



def test_log_ids_are_distinct_uuid4_strings_across_draws() -> None:
    """Ids are made IDS_PER_DRAW at a time: each one a uuid4 in its canonical text, none
    repeated, across several draws."""
    ids = [log_id() for _ in range(3 * IDS_PER_DRAW + 5)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
