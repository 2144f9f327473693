"""house13: ``server_limit`` finds this process's gunicorn worker once (it looked it up
twice: once for ``--graceful-timeout``, once more for the recycled worker's
``--timeout``), and both come from that one worker."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from readme_metrics.delivery import gunicorn_stop
from tests.support.gunicorn_apps import worker_object


@pytest.fixture()
def worker() -> Iterator[Any]:
    """A real gunicorn worker object whose ``handle_exit`` is this process's SIGTERM
    handler, as in a worker (restored after)."""
    with worker_object(timeout=7) as made:
        yield made


@pytest.mark.parametrize(("served", "share", "expected"), [
    pytest.param(3, 1000, (10.0, "--graceful-timeout"), id="stopped"),
    pytest.param(5, 5, (7.0, "--timeout"), id="recycled-by-max-requests"),
])
def test_server_limit_finds_the_worker_once(
        worker: Any, monkeypatch: pytest.MonkeyPatch, served: int, share: int,
        expected: tuple[float, str]) -> None:
    worker.nr = served
    worker.max_requests = share
    found: list[object] = []
    real = gunicorn_stop._worker

    def counting() -> object:
        found.append(real())
        return found[-1]

    monkeypatch.setattr(gunicorn_stop, "_worker", counting)
    limit = gunicorn_stop.server_limit()
    assert limit is not None
    assert (float(limit), limit.option) == expected
    assert found == [worker]  # (before: [worker, worker])
