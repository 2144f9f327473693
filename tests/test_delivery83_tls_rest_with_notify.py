"""delivery83: a body's last records and the client's close_notify in one segment, over
uvicorn and hypercorn on asyncio and uvloop (review150's harness, now
tests/support/tls_asgi_thread.py and tls_rest.py): the wait used to end at the
close_notify (:func:`readme_metrics.capture.tls_records.past_body`) before the body's
records were handed to the server, the body logged cut ("short" only: 8 of 8 before).
Now they are handed over first, the close_notify left in the socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.tls_asgi_thread import LOOPS, SERVERS, served
from tests.support.tls_bio import connected
from tests.support.tls_rest import (  # noqa: F401 (the fixture)
    answered,
    logged_body_size,
    long_grace,
    rest_with_notify,
)

pytestmark = pytest.mark.usefixtures("long_grace")


@SERVERS
@LOOPS
@pytest.mark.parametrize("size", [60, 40_000])
def test_the_rest_and_close_notify_in_one_write(
        server: str, loop: str, size: int, collector: Collector, tmp_path: Path) -> None:
    """The rest (one record, or three) and close_notify in one write, the capture
    waiting: the answer whole and the body logged whole."""
    rest = b"v" * size
    with served(server, loop, collector, tmp_path, "delivery83") as (port, context), \
            connected(port, context) as client:
        got = rest_with_notify(client, port, rest)
        logged = logged_body_size(collector)
    assert answered(got), got[:200]
    assert logged == 5 + size, logged

