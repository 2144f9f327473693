"""flake28: ``flush()`` said True with a log unsent (CI31, load ~22).

A response dropped unclosed is finished (its log queued) by the library's thread; a
flush waits for such a finish at most FINISH_WAIT from when it began. Past that wait, or
with the thread not scheduled again within it (a loaded machine), the flush went on with
the log not yet queued, and said True: "every log queued before the call delivered",
with the dropped response's log in no queue and unsent.
"""

from __future__ import annotations

import pytest

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.test_exit13_findings import _finishing_on_the_thread


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_flush_says_false_while_a_log_handed_over_before_it_is_still_being_finished(
        collector: Collector, background: bool) -> None:
    """The library's thread is in the grouping function for a dropped response's log
    (held by an event: the "thread not scheduled" of a loaded machine, made sure) when
    flush(0.3) is called: before, the flush waited for it, gave up, and said True with
    0 logs at the collector. Now it says False; once the log is queued, the next flush
    delivers it and says True."""
    middleware, pipeline, release = _finishing_on_the_thread(collector, background)
    try:
        assert middleware.flush(0.3) is False
        assert collector.logs == []
        release.set()
        wait_until(lambda: not pipeline.handed.others_finishing())
        assert middleware.flush(10.0) is True
        assert len(collector.logs) == 1
    finally:
        release.set()
        middleware.close()

