"""How long a log waits before its POST begins at low traffic against a slow Metrics API:
the busy lone sender (docs/DELIVERY.md, Batches).

.. code-block:: sh

    PYTHONPATH=. python benchmarks/lone_sender.py 20 1.0 10   # RATE API_DELAY SECONDS

A Delivery with the default options posts to the tests' collector (tests/support, on
127.0.0.1), which answers each POST after API_DELAY seconds and notes when each log's
POST arrived. RATE logs a second for SECONDS; then the wait of each log from its submit
to its POST's arrival (mean, median, 90th percentile, most), the POSTs, the senders.
A free sender for each full batch makes the wait the time the batch took to fill
(``buffer_length / RATE`` at most).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from delivery_hunt import drive, senders  # noqa: E402

from readme_metrics.config import MetricsApiConfig  # noqa: E402
from readme_metrics.delivery import Delivery  # noqa: E402
from tests.support.delivery import build_id  # noqa: E402
from tests.support.fake_api import Collector, Received, Reply  # noqa: E402


def main() -> None:
    rate, delay, seconds = (float(arg) for arg in sys.argv[1:4])
    collector = Collector().start()
    arrived: dict[str, float] = {}

    def judge(received: Received) -> Reply:
        now = time.monotonic()
        for log in received.json():
            arrived[log["_id"]] = now
        return Reply(delay=delay)

    collector.judge = judge
    config = MetricsApiConfig(api_key="rdme_lone_sender", grouping_function=lambda r: None,
                              metrics_api=collector.url)
    delivery = Delivery(config, build_id)
    put: dict[str, float] = {}
    total = drive(delivery, rate, seconds, submitted=put)
    threads = senders()
    delivery.flush(30)
    waits = sorted(arrived[name] - began for name, began in put.items() if name in arrived)
    result: dict[str, Any] = {
        "rate": rate, "api_delay_s": delay, "served": total, "delivered": len(waits),
        "posts": len(collector.received), "senders_at_stop": threads,
        "wait_mean_s": round(statistics.mean(waits), 3),
        "wait_p50_s": round(waits[len(waits) // 2], 3),
        "wait_p90_s": round(waits[int(len(waits) * 0.9)], 3),
        "wait_max_s": round(waits[-1], 3),
    }
    delivery.close()
    collector.stop()
    print(result)


if __name__ == "__main__":
    main()
