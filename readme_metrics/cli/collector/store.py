"""What the dashboard shows: the last ``keep`` logs and the statistics over them.

Memory is bounded: only the last ``keep`` logs stay, as a light row for the list and the
full HAR entry for the detail view. :meth:`LogStore.clear` (the dashboard's clear
button) forgets them and resets the counts; the sequence numbers go on, so a polling
page never mistakes an old row for a new one, and ``generation`` tells it to start over.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

__all__ = ["LogStore", "endpoint_of", "percentile", "record_of"]

_ID_SEGMENT = re.compile(
    r"\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{24,}"
)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def endpoint_of(method: str, path: str) -> str:
    """``GET /items/42`` -> ``GET /items/{id}``: ids would split one endpoint into many."""
    segments = ["{id}" if _ID_SEGMENT.fullmatch(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments) or '/'}"


def _started_epoch(started: Any) -> Optional[float]:
    if not isinstance(started, str):
        return None
    try:
        return datetime.strptime(started, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=timezone.utc
        ).timestamp()
    except ValueError:
        return None


def record_of(log: dict[str, Any], seq: int, received: float) -> dict[str, Any]:
    """The dashboard's view of one (valid) log: ``{"row": ..., "entry": ...}``."""
    entry = log["request"]["log"]["entries"][0]
    request, response = entry["request"], entry["response"]
    url = urlsplit(request["url"])
    group = log.get("group") or {}
    started = _started_epoch(entry.get("startedDateTime"))
    row = {
        "seq": seq,
        "id": log.get("_id", ""),
        "received": round(received * 1000),
        "started": entry.get("startedDateTime", ""),
        "startedMs": round((started if started is not None else received) * 1000),
        "method": request["method"],
        "url": request["url"],
        "host": url.netloc,
        "path": unquote(url.path) or "/",
        "query": url.query,
        "status": response["status"],
        "statusText": response.get("statusText", ""),
        "size": response.get("content", {}).get("size", -1),
        "duration": round(float(entry.get("time", 0)), 3),
        "caller": group.get("label") or "",
        "email": group.get("email") or "",
        "groupId": group.get("id", ""),
        "clientIPAddress": log.get("clientIPAddress", ""),
        "development": bool(log.get("development")),
        "endpoint": endpoint_of(request["method"], url.path or "/"),
    }
    return {"row": row, "entry": entry}


class LogStore:
    """The last ``keep`` logs, as light rows for the list and full records for details."""

    def __init__(self, keep: int = 1000) -> None:
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.keep = keep
        self._lock = threading.Lock()
        self._records: deque[dict[str, Any]] = deque(maxlen=keep)
        self._by_id: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.generation = 0
        self.accepted = 0
        self.rejected = 0
        self.batches = 0

    def add(self, logs: list[dict[str, Any]], received: Optional[float] = None) -> list[dict]:
        """Keep ``logs`` (oldest beyond ``keep`` are forgotten); return their rows."""
        now = time.time() if received is None else received
        rows = []
        with self._lock:
            self.batches += 1
            for log in logs:
                self.seq += 1
                record = record_of(log, self.seq, now)
                if len(self._records) == self._records.maxlen:
                    old = self._records[0]
                    if self._by_id.get(old["row"]["id"]) is old:
                        del self._by_id[old["row"]["id"]]
                self._records.append(record)
                self._by_id[record["row"]["id"]] = record
                rows.append(record["row"])
            self.accepted += len(logs)
        return rows

    def count_rejected(self, count: int) -> None:
        """Count ``count`` refused logs (shown as "refused" on the dashboard)."""
        with self._lock:
            self.rejected += count

    def clear(self) -> None:
        """Forget every kept log and reset the counts (sequence numbers go on)."""
        with self._lock:
            self._records.clear()
            self._by_id.clear()
            self.accepted = self.rejected = self.batches = 0
            self.generation += 1

    def rows(self, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Rows newer than sequence number ``after``, newest first, at most ``limit``."""
        with self._lock:
            found: list[dict[str, Any]] = []
            for record in reversed(self._records):
                if record["row"]["seq"] <= after or len(found) >= limit:
                    break
                found.append(record["row"])
            return found

    def detail(self, log_id: str) -> Optional[dict[str, Any]]:
        """Everything about one kept log (the row and its HAR entry), or None."""
        with self._lock:
            record = self._by_id.get(log_id)
            return None if record is None else {**record["row"], "entry": record["entry"]}

    def summary(self) -> dict[str, Any]:
        """Counts, error rate and p50/p95 duration, per endpoint and host, over the kept logs."""
        with self._lock:
            rows = [record["row"] for record in self._records]
            totals = {"accepted": self.accepted, "rejected": self.rejected,
                      "batches": self.batches, "last": self.seq,
                      "generation": self.generation}
        durations: dict[tuple[str, str], list[float]] = {}
        errors: Counter[tuple[str, str]] = Counter()
        statuses: Counter[str] = Counter()
        for row in rows:
            key = (row["host"], row["endpoint"])
            durations.setdefault(key, []).append(row["duration"])
            statuses[f"{row['status'] // 100}xx"] += 1
            if row["status"] >= 400:
                errors[key] += 1
        everything = sorted(d for values in durations.values() for d in values)
        endpoints: list[dict[str, Any]] = []
        for (host, endpoint), values in durations.items():
            values.sort()
            endpoints.append({
                "host": host, "endpoint": endpoint, "count": len(values),
                "errors": errors[(host, endpoint)],
                "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            })
        endpoints.sort(key=lambda item: (-item["count"], item["endpoint"], item["host"]))
        kept = len(rows)
        return {
            **totals,
            "kept": kept,
            "keep": self.keep,
            "hosts": sorted({row["host"] for row in rows}),
            "errors": sum(errors.values()),
            "errorRate": (sum(errors.values()) / kept) if kept else 0.0,
            "p50": percentile(everything, 0.5),
            "p95": percentile(everything, 0.95),
            "statuses": dict(sorted(statuses.items())),
            "endpoints": endpoints,
        }
