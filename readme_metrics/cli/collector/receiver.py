"""What a POST to the stand-in does: check the key, parse, validate, de-duplicate, keep.

It trusts nothing it receives: every log is checked against the payload contract
(:mod:`readme_metrics.cli.collector.validation`), and a batch with an invalid log is
refused whole with 400 and the reasons, as a strict server would. A batch whose 202 got
lost is sent again by the middleware, so each ``_id`` is kept once. Every refusal is
counted (the dashboard's "refused") and shown on the console.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
from collections import deque
from typing import Any, Optional

from readme_metrics.cli.collector.console import Console
from readme_metrics.cli.collector.har_file import HarFile
from readme_metrics.cli.collector.store import LogStore
from readme_metrics.cli.collector.validation import validate_batch
from readme_metrics.cli.text import counted

__all__ = ["RecentIds", "Receiver"]

#: The least number of ``_id``\\ s remembered for de-duplication. A retried batch is the
#: one just sent, so remembering the last ids (and at least twice the largest batch seen)
#: catches every retry, whatever ``--keep`` is; as 128-bit integers this is a few MB.
MIN_REMEMBERED_IDS = 100_000


class RecentIds:
    """The most recent ids, at most ``capacity`` (oldest forgotten first)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._order: deque[Any] = deque()
        self._set: set[Any] = set()

    @staticmethod
    def _key(log_id: str) -> Any:
        try:  # a uuid (validated as such) as an int: a third of the memory of the string
            return int(log_id.replace("-", ""), 16)
        except ValueError:
            return log_id

    def __contains__(self, log_id: str) -> bool:
        return self._key(log_id) in self._set

    def __len__(self) -> int:
        return len(self._set)

    def add(self, log_id: str) -> None:
        """Remember ``log_id``; forget the oldest ids beyond the capacity."""
        key = self._key(log_id)
        if key in self._set:
            return
        self._order.append(key)
        self._set.add(key)
        while len(self._order) > self.capacity:
            self._set.discard(self._order.popleft())


def _batch_size(body: bytes) -> int:
    """How many logs a refused body held (1 when that cannot be told)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return 1
    return len(payload) if isinstance(payload, list) and payload else 1


class Receiver:
    """The Metrics API's POST semantics over a store, a HAR file and a console."""

    def __init__(self, store: LogStore, har: Optional[HarFile], console: Console,
                 api_key: Optional[str] = None) -> None:
        self.store = store
        self.har = har
        self.console = console
        self.api_key = api_key
        self.received = 0  # totals since start (the store's counts restart on clear)
        self.refused = 0
        self.duplicates = 0
        self.seen = RecentIds(max(MIN_REMEMBERED_IDS, store.keep))
        # Check-then-append of a batch is one step, so a retried batch is never kept twice.
        self._lock = threading.Lock()

    def authorized(self, header: Optional[str]) -> bool:
        """Basic auth as ReadMe checks it, when a key is set (``--api-key``); else open.

        Without a key there is nothing to check against, and a stand-in that refused a
        hand-made ``curl`` or test POST for lack of a header would hide the 400 answers
        (what is wrong with the logs) behind a 401.
        """
        if self.api_key is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        key, sep, _ = decoded.partition(":")
        if not sep or not key:
            return False
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    def unauthorized(self, what: str, header: Optional[str], body: bytes = b"") -> None:
        """Count and show a request refused with 401 (``what``: the route, for the line)."""
        count = _batch_size(body) if body else 0
        if count:
            self.store.count_rejected(count)
            with self._lock:
                self.refused += count
        reason = "no Basic auth" if not header else "a wrong API key"
        logs = f" of {counted(count, 'log')}" if count else ""
        self.console.refused(f"401 {what}", count or 1,
                             f"refused {what}{logs} with 401: {reason} (collect was started "
                             "with --api-key; the app's key must be that key: its "
                             "README_API_KEY, or an api_key= passed in its code, which "
                             "wins)")

    def receive(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        """Handle one POST body: (status, JSON answer). Accepts or refuses the batch whole."""
        if content_type.split(";")[0].strip().lower() != "application/json":
            problems = {-1: [f"Content-Type must be application/json, got {content_type!r}"]}
            return self._refuse(problems, None)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return self._refuse({-1: [f"body: not JSON ({exc})"]}, None)
        except RecursionError:
            return self._refuse({-1: ["body: nested too deeply to be a log"]}, None)
        problems = validate_batch(payload)
        if problems:
            return self._refuse(problems, payload)
        with self._lock:
            # Room for this batch sent again in full, however large (see MIN_REMEMBERED_IDS).
            self.seen.capacity = max(self.seen.capacity, 2 * len(payload))
            logs: list[dict[str, Any]] = []
            for log in payload:
                if log["_id"] not in self.seen:
                    self.seen.add(log["_id"])
                    logs.append(log)
            repeated = len(payload) - len(logs)
            if logs and self.har is not None:
                try:
                    self.har.append([self._har_entry(log) for log in logs])
                except OSError as exc:
                    # The HAR file keeps them for its next write (HarFile.held): the
                    # logs are taken. Refused (503), the app's retry found their ids
                    # seen and counted them duplicates: never on the dashboard.
                    self.console.refused("har", len(logs), "cannot write the HAR file "
                                         f"now ({exc}); its entries are written with "
                                         "the next batch")
            rows = self.store.add(logs) if logs else []
            self.received += len(logs)
            self.duplicates += repeated
        if repeated:
            self.console.duplicates(repeated)
        self.console.calls(rows, self.store.summary)
        answer: dict[str, Any] = {"accepted": len(logs)}
        if repeated:
            answer["duplicates"] = repeated
        return 202, answer

    @staticmethod
    def _har_entry(log: dict[str, Any]) -> dict[str, Any]:
        entry = dict(log["request"]["log"]["entries"][0])
        # HAR custom fields start with "_": who called, for tools that read the file.
        entry["_readme"] = {
            "_id": log["_id"], "group": log["group"],
            "clientIPAddress": log["clientIPAddress"], "development": log["development"],
        }
        return entry

    def _refuse(self, problems: dict[int, list[str]], payload: Any) -> tuple[int, dict[str, Any]]:
        count = len(payload) if isinstance(payload, list) and payload else 1
        self.store.count_rejected(count)
        with self._lock:
            self.refused += count
        invalid: list[dict[str, Any]] = []
        for index, reasons in sorted(problems.items()):
            log = payload[index] if index >= 0 and isinstance(payload, list) else None
            log_id = log.get("_id") if isinstance(log, dict) else None
            invalid.append({"index": index, "_id": log_id, "problems": reasons})
        self.console.invalid(count, invalid)
        return 400, {"error": "invalid logs", "invalid": invalid}
