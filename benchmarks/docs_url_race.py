"""review155's race, measured (delivery88): x-documentation-url is decided as a response
starts (``LogQueue.refusing``) and the log is put as it ends, so two request threads may
both see room for the queue's last slot: one response gets the header, its log dropped.

.. code-block:: sh

    python benchmarks/docs_url_race.py 8 500   # THREADS REQUESTS_EACH

THREADS threads call the small GET of bench.py through the WSGI middleware, the queue
kept at its bound (``max_queue_size`` 20, ``buffer_length`` 10, tests/support/fake_api.py
answering each POST in 20 ms). Prints one JSON line: served, responses with the header,
logs delivered, dropped, responses whose header names a log that was dropped
(``header_but_dropped``) and logs delivered whose response had no header.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402

from tests.support.fake_api import Collector, Reply  # noqa: E402

threads_n, per = (int(arg) for arg in sys.argv[1:3]) if len(sys.argv) > 2 else (8, 500)
collector = Collector().start()
collector.default = Reply(delay=0.02)
app = bench.wrap(bench.get_app, collector.url, max_queue_size=20, buffer_length=10)
headed: list = []


def run() -> None:
    env = bench.environ_for("GET")
    for _ in range(per):
        got: list = []
        for _ in app(dict(env), lambda status, headers, exc_info=None, got=got:
                     got.extend(headers)):
            pass
        url = {name.lower(): value for name, value in got}.get("x-documentation-url")
        headed.append(url.rsplit("/", 1)[1] if url else None)
threads = [threading.Thread(target=run) for _ in range(threads_n)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
app.close()
stats = app.stats
ids = {log["_id"] for log in collector.logs}
with_header = [h for h in headed if h]
print(json.dumps({"threads": threads_n, "served": len(headed), "headers": len(with_header),
                  "delivered": len(ids), "dropped": stats["dropped"],
                  "header_but_dropped": sum(h not in ids for h in with_header),
                  "delivered_without_header": len(ids - set(with_header)),
                  "load": os.getloadavg()[0]}))
collector.stop()
