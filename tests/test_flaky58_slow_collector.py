"""flaky58: the inline helpers that count a collector's logs stand a collector answering
later than README_TIMEOUT's 3 s (its thread starved on a loaded machine).

A POST unanswered within ``timeout`` is sent again (SPEC 7, at-least-once: the API may
have read it), so with the default timeout a test counting one log got two. The
helpers (tests/_acceptance_support.make_config, tests/support/capture_wrap.wrapping,
tests/support/contract.inline_options) give a POST ``INLINE_TIMEOUT`` for its answer.
The collectors here answer 3.5 s late: past the default, within that.
"""

from __future__ import annotations

from tests._acceptance_support import Collector as AcceptanceCollector
from tests._acceptance_support import clean_env_fixture, environ_for, simple_app  # noqa: F401
from tests.support.capture_wrap import only_log, wrapping
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_acceptance_payload import exchange

#: Past README_TIMEOUT's default (3 s), well within INLINE_TIMEOUT.
LATE = 3.5


def test_late_answer_is_within_the_helpers_timeout() -> None:
    assert 3.0 < LATE < INLINE_TIMEOUT


def test_acceptance_exchange_counts_one_log_from_a_late_collector() -> None:
    collector = AcceptanceCollector(delay=LATE)
    try:
        body = b"line one\nline two"
        env = environ_for("/t", "POST", body, {"Content-Type": "application/vnd.api+json"})
        _log, entry, _answer = exchange(collector, app=simple_app(), environ=env)
        assert entry["request"]["postData"]["text"] == body.decode()
        assert len(collector.posts()) == 1
    finally:
        collector.close()


def test_capture_wrap_counts_one_log_from_a_late_collector(collector: Collector) -> None:
    collector.default = Reply(delay=LATE)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with wrapping(collector) as make:
        run_wsgi(make(app), wsgi_environ("GET", "/late"))
    assert only_log(collector)["request"]["log"]["entries"][0]["request"]["url"].endswith(
        "/late")
    assert len(collector.received) == 1
