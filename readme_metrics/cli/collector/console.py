"""What ``collect`` prints: a line per call, a periodic summary, and every refusal.

Calls go to ``out`` (stdout), problems to ``err`` (stderr). A refused batch is shown
where the user is looking, but an app sending with a wrong key retries, and a line per
retry would bury everything else, so refusals of one kind are printed at most once per
``REFUSAL_INTERVAL`` seconds (:class:`readme_metrics._logging.LogLimiter` decides), with
the number refused since the last line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from datetime import datetime
from typing import IO, Any, Callable, Optional

from readme_metrics._logging import LogLimiter
from readme_metrics.cli.text import counted

__all__ = ["Console", "format_line", "silence", "summary_line"]

#: Seconds between two console lines about the same kind of refusal.
REFUSAL_INTERVAL = 5.0


def silence(stream: IO[str]) -> None:
    """Send what is still written to a closed pipe (``collect | head`` after head exited)
    to /dev/null, as the signal module's docs advise: Python's flush at exit would print
    "Exception ignored ... BrokenPipeError" otherwise. A stream without a file is left."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def format_line(row: dict[str, Any]) -> str:
    """One console line: local time, caller, method, path, status, duration."""
    moment = datetime.fromtimestamp(row["startedMs"] / 1000).strftime("%H:%M:%S")
    # Without a label, the key's last four characters (kept by the mask) tell callers apart.
    caller = row["caller"] or (f"key *{row['groupId'][-4:]}" if row["groupId"] else "-")
    duration = row["duration"]
    took = f"{duration:.1f} ms" if duration < 10 else f"{duration:.0f} ms"
    return (f"{moment}  {caller[:20]:<20}  {row['method']:<7} {row['path']:<30} "
            f"{row['status']}  {took:>8}")


def summary_line(summary: dict[str, Any]) -> str:
    """The console's periodic summary: totals, error rate, p50/p95, busiest endpoint."""
    window = "" if summary["kept"] == summary["accepted"] else f" (last {summary['kept']})"
    busiest = summary["endpoints"][0] if summary["endpoints"] else None
    top = (f"; busiest {busiest['endpoint']} ({counted(busiest['count'], 'call')})"
           if busiest else "")
    return (f"-- {counted(summary['accepted'], 'call')}{window}, "
            f"{summary['errorRate'] * 100:.0f}% errors, "
            f"p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms, "
            f"{summary['rejected']} refused{top}")


class Console:
    """Prints for the collector; every stream may be None (silent, when embedded)."""

    def __init__(self, out: Optional[IO[str]], err: Optional[IO[str]],
                 summary_every: Optional[float], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.err = err
        self.summary_every = summary_every
        self._lock = threading.Lock()
        self._last_summary = time.monotonic()
        self._limiter = LogLimiter(logging.getLogger(__name__), REFUSAL_INTERVAL, clock=clock)
        self._unshown: Counter[str] = Counter()

    def _print(self, stream: Optional[IO[str]], *lines: str) -> None:
        if stream is None:
            return
        with self._lock:
            try:
                stream.write("".join(line + "\n" for line in lines))  # one write
                stream.flush()
            except (OSError, ValueError):  # closed: `collect | head` after head exited
                silence(stream)
                self._lost(stream)

    def _lost(self, stream: IO[str]) -> None:
        """Stop writing to a stream that can no longer be written (held lock). Collecting
        goes on: a console is no reason to refuse a POST or to stop the HAR file."""
        if stream is self.out:
            self.out = None
            note = "the console's output is closed; calls still go to the HAR file and dashboard"
            if self.err is not None:
                try:
                    print(note, file=self.err, flush=True)
                except (OSError, ValueError):
                    self.err = None
        if stream is self.err:
            self.err = None

    def calls(self, rows: list[dict[str, Any]], summary: Any) -> None:
        """One line per accepted call; a summary line when one is due.

        ``summary`` is called (no arguments) only when a summary line is printed.
        """
        if self.out is None or not rows:
            return
        lines = [format_line(row) for row in rows]
        now = time.monotonic()
        if self.summary_every is not None and now - self._last_summary >= self.summary_every:
            self._last_summary = now
            lines.append(summary_line(summary()))
        self._print(self.out, *lines)

    def duplicates(self, count: int) -> None:
        """Logs of a retried batch that were received before (and not kept again)."""
        self._print(self.err,
                    f"ignored {counted(count, 'log')} received before (same _id: a retry)")

    def invalid(self, count: int, invalid: list[dict[str, Any]]) -> None:
        """A batch refused with 400: every reason, so the user can fix the sender."""
        lines = [f"refused a batch of {counted(count, 'log')} with 400:"]
        for item in invalid:
            # A body refused whole: its reasons name it ("body: not JSON ...") or the
            # request ("Content-Type must be ...") themselves.
            where = "" if item["index"] < 0 else f"log {item['index']}: "
            lines.extend(f"  {where}{reason}" for reason in item["problems"])
        self._print(self.err, *lines)

    def refused(self, kind: str, count: int, line: str) -> bool:
        """A refusal of ``kind`` (e.g. a wrong key), rate-limited; True when printed."""
        with self._lock:
            self._unshown[kind] += count
            if not self._limiter.due(kind):
                return False
            total = self._unshown.pop(kind)
        more = f" ({total} refused like this since the last such line)" \
            if total != count else ""
        self._print(self.err, line + more)
        return True
