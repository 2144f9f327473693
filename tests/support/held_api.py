"""A stand-in Metrics API on 127.0.0.1 that reads each POST in full and holds its answer
until the test's block ends: the POSTs a close cuts or gives up on were sent in full, and
the API may have their logs ("unknown"; tests/test_delivery80_stop_counts.py,
tests/test_delivery81_honest_counts.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Optional

from tests.support.fake_api import Collector, Reply


@contextmanager
def holding(then: Optional[Sequence[Reply]] = None
            ) -> Iterator[tuple[Collector, threading.Event]]:
    """(a started collector, the event its held answers wait for): every POST's answer
    held (``then`` None), or the first POST's only, ``then`` the next ones' replies (the
    collector's own after them). At the block's end the held answers go and the collector
    stops, before the test reads what the library said."""
    gate = threading.Event()
    collector = Collector().start()
    if then is None:
        collector.judge = lambda received: Reply(gate=gate)
    else:
        collector.replies.extend([Reply(gate=gate), *then])
    try:
        yield collector, gate
    finally:
        gate.set()
        collector.stop()
