"""LogLimiter: the one rate limit for recurring log lines."""

import logging

import pytest

from readme_metrics._logging import LogLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="readme_metrics.test_limiter")
    return caplog


def _limiter(**kwargs):  # type: ignore[no-untyped-def]
    clock = _Clock()
    return LogLimiter(logging.getLogger("readme_metrics.test_limiter"), clock=clock,
                      **kwargs), clock


def test_once_per_interval_per_key(records: pytest.LogCaptureFixture) -> None:
    limiter, clock = _limiter(interval=60.0)
    assert limiter.log(logging.WARNING, "a", "first %d", 1)
    assert not limiter.log(logging.WARNING, "a", "again")
    assert limiter.log(logging.WARNING, "b", "other key")
    clock.now += 59.9
    assert not limiter.log(logging.WARNING, "a", "still too soon")
    clock.now += 0.2
    assert limiter.log(logging.WARNING, "a", "due again")
    assert [r.getMessage() for r in records.records] == ["first 1", "other key", "due again"]


def test_interval_none_means_once_ever(records: pytest.LogCaptureFixture) -> None:
    limiter, clock = _limiter(interval=None)
    assert limiter.log(logging.ERROR, "m", "m")
    clock.now += 10**9
    assert not limiter.log(logging.ERROR, "m", "m")
    assert len(records.records) == 1


def test_distinct_keys_are_bounded(records: pytest.LogCaptureFixture) -> None:
    limiter, _ = _limiter(interval=None, max_keys=3)
    logged = [limiter.log(logging.INFO, str(i), "line %d", i) for i in range(10)]
    assert logged == [True] * 3 + [False] * 7


def test_reset_forgets(records: pytest.LogCaptureFixture) -> None:
    limiter, _ = _limiter(interval=None)
    assert limiter.log(logging.INFO, "k", "x")
    limiter.reset()
    assert limiter.log(logging.INFO, "k", "x")
