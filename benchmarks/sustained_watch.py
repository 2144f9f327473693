"""What ``bench.py --only sustained`` records besides its counts (delivery88).

A sustained run's figure (delivered out of served) says nothing of *why* logs were
dropped. delivery87's run at load 21 on 2 shared cores delivered 18,325 of 20,000 in
40 POSTs of 500; the question was whether the library's senders fell behind (woken late,
batches too big to encode) or the bench, whose load generator runs in the same process,
starved them of the GIL. The answer (delivery88, docs/PERFORMANCE.md) was neither: every
thread of the process, the generator included, waited on the kernel's run queue 30 to 60
times as long as it ran. This module records what told it:

- :class:`LoadWatch`: every 0.5 s during the load, the queue's depth and the POSTs
  settled: the deepest queue, POSTs per second and logs per POST over the load;
- :func:`thread_schedule`: per thread, the seconds it ran on a core and the seconds it
  was runnable but waited for one (``/proc/self/task/TID/schedstat``, Linux; ``None``
  elsewhere), summed for the serving thread (the generator, the main thread) and for the
  delivery's sender threads (a thread waiting for the GIL sleeps in the kernel's eyes:
  it is not on the run queue for it). With ``load_cpu_share`` (the process's CPU over
  the load's wall time) against what the run takes on a quiet machine (about 0.15 of a
  core for 2,000/s, 1.5 to 1.7 s of CPU for 20,000 requests and their logs), it tells
  whether the machine set the pace: at load 31 all 20,000 were delivered with waits of
  0.9 and a share of 0.15; with three CPU burners more, 18,260 with waits of 0.97 and
  0.98 and a share of 0.055.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

#: The name of the delivery's sender threads (readme_metrics.delivery.sender_threads).
SENDER = "readme-metrics-worker"


def _schedstat(native_id: Optional[int]) -> Optional[tuple[float, float]]:
    """(seconds on a core, seconds runnable waiting for one) of one thread, or None."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as stat:
            ran, waited = stat.read().split()[:2]
    except (OSError, ValueError):
        return None
    return int(ran) / 1e9, int(waited) / 1e9


def thread_schedule() -> dict[int, tuple[str, tuple[float, float]]]:
    """Every live thread's (name, (ran s, waited s)), by native id; {} where not Linux."""
    found = {}
    for thread in threading.enumerate():
        stat = _schedstat(thread.native_id)
        if stat is not None and thread.native_id is not None:
            found[thread.native_id] = (thread.name, stat)
    return found


def schedule_between(before: dict[int, tuple[str, tuple[float, float]]],
                     after: dict[int, tuple[str, tuple[float, float]]]) -> dict[str, Any]:
    """The serving thread's and the senders' run and run-queue seconds from ``before``
    to ``after`` (threads started between count from 0; those ended between are lost)."""
    if not after:
        return {}
    parts = {"serving": [0.0, 0.0], "delivery": [0.0, 0.0]}
    main = threading.main_thread().native_id
    for tid, (name, (ran, waited)) in after.items():
        part = ("serving" if tid == main else "delivery" if name == SENDER else None)
        if part is None:
            continue
        ran0, waited0 = before.get(tid, ("", (0.0, 0.0)))[1]
        parts[part][0] += ran - ran0
        parts[part][1] += waited - waited0
    return {f"{part}_{key}": value for part, (ran, waited) in parts.items()
            for key, value in (("ran_s", round(ran, 3)), ("runqueue_s", round(waited, 3)),
                               ("runqueue_wait_share",
                                round(waited / (ran + waited), 2) if ran + waited else None))}


class LoadWatch:
    """Samples ``stats()`` (the middleware's ``stats``) every ``every`` s from start() to
    stop(): the deepest queue and the POSTs settled in between."""

    def __init__(self, stats: Callable[[], dict[str, int]], every: float = 0.5) -> None:
        self._stats = stats
        self._every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-load-watch",
                                        daemon=True)
        self.max_queued = 0
        self._first: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._started = self._stopped = 0.0

    def start(self) -> LoadWatch:
        self._first = self._stats()
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(self._every):
            self.max_queued = max(self.max_queued, self._stats()["queued"])

    def stop(self) -> dict[str, Any]:
        """The load's POST figures (logs per POST: of those it delivered)."""
        self._done.set()
        self._thread.join()
        self._last = self._stats()
        self._stopped = time.perf_counter()
        self.max_queued = max(self.max_queued, self._last["queued"])
        posts = self._last["batches"] - self._first["batches"]
        sent = self._last["sent"] - self._first["sent"]
        seconds = self._stopped - self._started
        return {"posts_during_load": posts,
                "posts_per_s_during_load": round(posts / seconds, 1) if seconds else None,
                "logs_per_post_during_load": round(sent / posts, 1) if posts else None,
                "max_queued_during_load": self.max_queued}
