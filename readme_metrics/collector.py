"""A local stand-in for ReadMe's Metrics API, with a HAR file and a dashboard (SPEC section 9).

Point ``README_METRICS_SERVER`` (``metrics_api``) at it to see exactly what the middleware
would send, with no ReadMe account and no network. It trusts nothing it receives: every
log is checked against the payload contract (:mod:`readme_metrics.validation`) and a batch
with an invalid log is refused whole with 400 and the reasons, as a strict server would.

.. code-block:: python

    collector = LocalCollector(port=0, har_path="calls.har").start()
    config = MetricsApiConfig(api_key="k", grouping_function=..., metrics_api=collector.url)
    ...
    collector.stop()

Accepted entries go to a HAR 1.2 file that is a complete, valid HAR document at every
moment: each batch is written to a copy of the file which then atomically replaces it
(``os.replace``), so a reader, a crash or ``kill -9`` never sees half a write. The cost is
one kernel-side copy of the file per batch, fine for a local debugging tool. Memory is
bounded: only the last ``keep`` logs stay in memory for the dashboard.

Routes: ``POST /v1/request`` (the Metrics API), ``GET /v1`` (the docs-URL lookup, so
``x-documentation-url`` points at this dashboard), ``GET /`` and ``GET /logs/<id>`` (the
dashboard), ``GET /api/logs``, ``GET /api/logs/<id>``, ``GET /api/summary`` (its JSON).
Only loopback Host names are answered unless it is bound to another address, so a web page
cannot read the captured traffic through DNS rebinding.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import os
import re
import shutil
import socket
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import IO, Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from readme_metrics.validation import validate_batch
from readme_metrics.version import __version__

__all__ = ["HarFile", "LocalCollector", "LogStore", "format_line", "summary_line"]

# Bigger POST bodies are refused: with max_body_bytes of 256 KiB per body and batches of
# tens of logs, a legitimate batch stays far below this.
MAX_POST_BYTES = 64 * 1024 * 1024
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_ID_SEGMENT = re.compile(
    r"\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{24,}"
)
_DASHBOARD_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# The dashboard loads nothing from outside, and this makes the browser hold it to that.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class HarFile:
    """A HAR 1.2 file that entries are appended to, valid JSON after every append.

    Layout: a fixed head, one entry per line, and the tail ``\\n]}}\\n``; the offset of the
    tail is remembered, so an append copies the file, writes the new entries and the tail
    over the old tail in the copy, syncs it and renames it over the original.
    """

    _TAIL = b"\n]}}\n"

    def __init__(self, path: str | os.PathLike[str], *, fresh: bool = True) -> None:
        """Create ``path`` (``fresh``) or continue an existing HAR file there.

        Raises ``ValueError`` if the existing file is not a HAR document (it is never
        overwritten then) and ``OSError`` if the file cannot be written.
        """
        self.path = Path(path).resolve()
        self._lock = threading.Lock()
        self.count = 0
        self.existing: list[dict[str, Any]] = []
        head = {
            "version": "1.2",
            "creator": {
                "name": "readme-metrics collect",
                "version": __version__,
                "comment": "API calls received by the local Metrics API stand-in",
            },
        }
        if not fresh and self.path.exists():
            self.existing = self._read_entries(self.path)
        self._head = (json.dumps({"log": head})[:-2] + ', "entries": [').encode()
        self._end = len(self._head)
        self._write_whole(self.existing)

    @staticmethod
    def _read_entries(path: Path) -> list[dict[str, Any]]:
        try:
            document = json.loads(path.read_bytes())
            entries = document["log"]["entries"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} exists and is not a HAR file ({exc})") from exc
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError(f"{path} exists and is not a HAR file (bad log.entries)")
        return entries

    @staticmethod
    def _line(entry: dict[str, Any]) -> bytes:
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _write_whole(self, entries: list[dict[str, Any]]) -> None:
        body = b",".join(b"\n" + self._line(entry) for entry in entries)
        tmp = self._tmp_path()
        with open(tmp, "wb") as out:
            out.write(self._head + body + self._TAIL)
            out.flush()
            os.fsync(out.fileno())
        self._commit(tmp)
        self._end = len(self._head) + len(body)
        self.count = len(entries)

    def _tmp_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")

    def _commit(self, tmp: Path) -> None:
        os.replace(tmp, self.path)
        try:  # make the rename itself durable; not possible on every platform
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Add ``entries`` at the end; the file on disk is replaced in one atomic step."""
        if not entries:
            return
        with self._lock:
            data = b"".join(
                (b",\n" if self.count or index else b"\n") + self._line(entry)
                for index, entry in enumerate(entries)
            )
            tmp = self._tmp_path()
            try:
                shutil.copyfile(self.path, tmp)  # sendfile: the copy stays in the kernel
                with open(tmp, "r+b") as out:
                    out.seek(self._end)
                    out.truncate()
                    out.write(data + self._TAIL)
                    out.flush()
                    os.fsync(out.fileno())
                self._commit(tmp)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            self._end += len(data)
            self.count += len(entries)


def _percentile(sorted_values: list[float], fraction: float) -> float:
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
        self.accepted = 0
        self.rejected = 0
        self.batches = 0

    @staticmethod
    def record_of(log: dict[str, Any], seq: int, received: float) -> dict[str, Any]:
        """The dashboard's view of one (valid) log."""
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
            "path": unquote(url.path) or "/",
            "query": url.query,
            "status": response["status"],
            "statusText": response.get("statusText", ""),
            "duration": round(float(entry.get("time", 0)), 3),
            "caller": group.get("label") or "",
            "email": group.get("email") or "",
            "groupId": group.get("id", ""),
            "clientIPAddress": log.get("clientIPAddress", ""),
            "development": bool(log.get("development")),
            "endpoint": endpoint_of(request["method"], url.path or "/"),
        }
        return {"row": row, "entry": entry}

    def add(self, logs: list[dict[str, Any]], received: Optional[float] = None) -> list[dict]:
        """Keep ``logs`` (oldest beyond ``keep`` are forgotten); return their rows."""
        now = time.time() if received is None else received
        rows = []
        with self._lock:
            self.batches += 1
            for log in logs:
                self.seq += 1
                record = self.record_of(log, self.seq, now)
                if len(self._records) == self._records.maxlen:
                    old = self._records[0]
                    if self._by_id.get(old["row"]["id"]) is old:
                        del self._by_id[old["row"]["id"]]
                self._records.append(record)
                self._by_id[record["row"]["id"]] = record
                rows.append(record["row"])
            self.accepted += len(logs)
        return rows

    def known(self, log_id: Any) -> bool:
        """True when a kept log has this ``_id`` (a retried batch sends it again)."""
        with self._lock:
            return log_id in self._by_id

    def count_rejected(self, count: int) -> None:
        with self._lock:
            self.rejected += count

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
        """Counts, error rate and p50/p95 duration, per endpoint, over the kept logs."""
        with self._lock:
            rows = [record["row"] for record in self._records]
            totals = {"accepted": self.accepted, "rejected": self.rejected,
                      "batches": self.batches, "last": self.seq}
        durations: dict[str, list[float]] = {}
        errors: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        for row in rows:
            durations.setdefault(row["endpoint"], []).append(row["duration"])
            statuses[f"{row['status'] // 100}xx"] += 1
            if row["status"] >= 400:
                errors[row["endpoint"]] += 1
        everything = sorted(d for values in durations.values() for d in values)
        endpoints: list[dict[str, Any]] = []
        for endpoint, values in durations.items():
            values.sort()
            endpoints.append({
                "endpoint": endpoint, "count": len(values), "errors": errors[endpoint],
                "p50": _percentile(values, 0.5), "p95": _percentile(values, 0.95),
            })
        endpoints.sort(key=lambda item: (-item["count"], item["endpoint"]))
        kept = len(rows)
        return {
            **totals,
            "kept": kept,
            "keep": self.keep,
            "errors": sum(errors.values()),
            "errorRate": (sum(errors.values()) / kept) if kept else 0.0,
            "p50": _percentile(everything, 0.5),
            "p95": _percentile(everything, 0.95),
            "statuses": dict(sorted(statuses.items())),
            "endpoints": endpoints,
        }


def format_line(row: dict[str, Any]) -> str:
    """One console line: local time, caller, method, path, status, duration."""
    moment = datetime.fromtimestamp(row["startedMs"] / 1000).strftime("%H:%M:%S")
    # Without a label, the key's last four characters (kept by the mask) tell callers apart.
    caller = row["caller"] or (f"key *{row['groupId'][-4:]}" if row["groupId"] else "-")
    duration = row["duration"]
    took = f"{duration:.1f} ms" if duration < 10 else f"{duration:.0f} ms"
    return (f"{moment}  {caller[:20]:<20}  {row['method']:<7} {row['path']:<30} "
            f"{row['status']}  {took:>8}")


class _ThreadingHTTPServer6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def summary_line(summary: dict[str, Any]) -> str:
    """The console's periodic summary: totals, error rate, p50/p95, busiest endpoint."""
    window = "" if summary["kept"] == summary["accepted"] else f" (last {summary['kept']})"
    busiest = summary["endpoints"][0] if summary["endpoints"] else None
    top = f"; busiest {busiest['endpoint']} x{busiest['count']}" if busiest else ""
    return (f"-- {summary['accepted']} calls{window}, {summary['errorRate'] * 100:.0f}% errors, "
            f"p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms, "
            f"{summary['rejected']} refused{top}")


def _dashboard_file(name: str) -> bytes:
    return (resources.files("readme_metrics") / "dashboard" / name).read_bytes()


class LocalCollector:
    """The Metrics API stand-in: an HTTP server on its own thread (see the module doc)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        *,
        har_path: str | os.PathLike[str] | None = None,
        fresh_har: bool = True,
        api_key: Optional[str] = None,
        keep: int = 1000,
        out: Optional[IO[str]] = None,
        err: Optional[IO[str]] = None,
        summary_every: Optional[float] = None,
    ) -> None:
        """Bind the server (``port`` 0 picks a free one) and open the HAR file, if any.

        ``out`` gets one line per accepted log, and a summary line after a batch when
        ``summary_every`` seconds passed since the last one (0: after every batch; None:
        never); ``err`` gets the reasons for refused logs. None keeps a stream silent (for
        embedding). Raises OSError if the port or the file cannot be used and ValueError
        if an existing HAR file is not one.
        """
        self.store = LogStore(keep)
        self.har = HarFile(har_path, fresh=fresh_har) if har_path is not None else None
        if self.har is not None and self.har.existing:
            # Show what the file already had, so a restart keeps the dashboard's history.
            self._load(self.har.existing[-keep:])
            self.har.existing = []
        self.api_key = api_key
        self.out = out
        self.err = err
        self.summary_every = summary_every
        self._last_summary = time.monotonic()
        self.duplicates = 0
        self._print_lock = threading.Lock()
        # Check-then-append of a batch is one step, so a retried batch is never kept twice.
        self._receive_lock = threading.Lock()
        self._dashboard: dict[str, bytes] = {}
        server_class = _ThreadingHTTPServer6 if ":" in host else ThreadingHTTPServer
        self.server = server_class((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.host = host
        self.port = int(self.server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        # On loopback, only loopback Host names are answered (DNS rebinding: module doc).
        self.loopback_only = host in _LOOPBACK_NAMES or host.startswith("127.")
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def _load(self, entries: list[dict[str, Any]]) -> None:
        logs = []
        for entry in entries:
            meta = entry.get("_readme")
            log = dict(meta) if isinstance(meta, dict) else {}
            log["request"] = {"log": {"entries": [
                {k: v for k, v in entry.items() if k != "_readme"}
            ]}}
            try:
                LogStore.record_of(log, 0, time.time())
            except (KeyError, TypeError, AttributeError, ValueError):
                continue  # a hand-edited entry stays in the file, off the dashboard
            logs.append(log)
        if logs:
            self.store.add(logs)

    def start(self) -> LocalCollector:
        """Serve on a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="readme-metrics-collector", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; idempotent. The HAR file is always complete."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()

    # -- what a POST does -----------------------------------------------------------

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

    def receive(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        """Handle one POST body: (status, JSON answer). Accepts or refuses the batch whole."""
        if content_type.split(";")[0].strip().lower() != "application/json":
            problems = {-1: [f"Content-Type must be application/json, got {content_type!r}"]}
            return self._refuse(problems, None)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return self._refuse({-1: [f"body: not JSON ({exc})"]}, None)
        problems = validate_batch(payload)
        if problems:
            return self._refuse(problems, payload)
        with self._receive_lock:
            # A batch whose 202 got lost is sent again: keep each _id once (within the
            # kept window; the memory bound wins over remembering every id ever seen).
            logs: list[dict[str, Any]] = []
            seen: set[str] = set()
            for log in payload:
                if log["_id"] not in seen and not self.store.known(log["_id"]):
                    seen.add(log["_id"])
                    logs.append(log)
            repeated = len(payload) - len(logs)
            if logs and self.har is not None:
                self.har.append([self._har_entry(log) for log in logs])
            rows = self.store.add(logs) if logs else []
            self._report(rows, repeated)
        answer: dict[str, Any] = {"accepted": len(logs)}
        if repeated:
            answer["duplicates"] = repeated
        return 202, answer

    def _report(self, rows: list[dict[str, Any]], repeated: int) -> None:
        with self._print_lock:
            if repeated:
                self.duplicates += repeated
                if self.err is not None:
                    print(f"ignored {repeated} log(s) received before (same _id: a retry)",
                          file=self.err, flush=True)
            if self.out is None:
                return
            for row in rows:
                print(format_line(row), file=self.out, flush=True)
            now = time.monotonic()
            if rows and self.summary_every is not None \
                    and now - self._last_summary >= self.summary_every:
                self._last_summary = now
                print(summary_line(self.store.summary()), file=self.out, flush=True)

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
        count = len(payload) if isinstance(payload, list) else 1
        self.store.count_rejected(count)
        invalid: list[dict[str, Any]] = []
        for index, reasons in sorted(problems.items()):
            log = payload[index] if index >= 0 and isinstance(payload, list) else None
            log_id = log.get("_id") if isinstance(log, dict) else None
            invalid.append({"index": index, "_id": log_id, "problems": reasons})
        if self.err is not None:
            with self._print_lock:
                print(f"refused a batch of {count} log(s) with 400:", file=self.err)
                for item in invalid:
                    where = "body" if item["index"] < 0 else f"log {item['index']}"
                    for reason in item["problems"]:
                        print(f"  {where}: {reason}", file=self.err)
                self.err.flush()
        return 400, {"error": "invalid logs", "invalid": invalid}

    # -- HTTP -----------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the middleware pools connections
            server_version = f"readme-metrics-collect/{__version__}"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per log is printed instead; polling would drown it

            def _send(self, status: int, body: bytes, content_type: str,
                      extra: Optional[dict[str, str]] = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, status: int, data: Any,
                      extra: Optional[dict[str, str]] = None) -> None:
                body = json.dumps(data, ensure_ascii=False).encode("utf-8")
                self._send(status, body, "application/json; charset=utf-8", extra)

            def _host_ok(self) -> bool:
                if not collector.loopback_only:
                    return True
                host = (self.headers.get("Host") or "").strip().lower()
                name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
                if name in _LOOPBACK_NAMES or name.startswith("127.") or name == collector.host:
                    return True
                self._json(403, {"error": f"Host {host!r} is not served here"})
                return False

            def _auth_ok(self) -> bool:
                if collector.authorized(self.headers.get("Authorization")):
                    return True
                self._json(401, {"error": "missing or wrong API key (Basic auth)"},
                           {"WWW-Authenticate": 'Basic realm="readme-metrics"'})
                return False

            def do_POST(self) -> None:  # noqa: N802
                length_header = self.headers.get("Content-Length")
                try:
                    length = int(length_header) if length_header is not None else -1
                except ValueError:
                    length = -1
                if length < 0:
                    self.close_connection = True
                    self._json(411, {"error": "Content-Length required"})
                    return
                if length > MAX_POST_BYTES:
                    self.close_connection = True
                    self._json(413, {"error": f"body over {MAX_POST_BYTES} bytes"})
                    return
                body = self.rfile.read(length)
                if not self._host_ok():
                    return
                if urlsplit(self.path).path.rstrip("/") != "/v1/request":
                    self._json(404, {"error": "not found"})
                    return
                if not self._auth_ok():
                    return
                try:
                    status, answer = collector.receive(
                        body, self.headers.get("Content-Type") or ""
                    )
                except OSError as exc:  # the HAR file could not be written: retry later
                    if collector.err is not None:
                        print(f"cannot write the HAR file: {exc}", file=collector.err,
                              flush=True)
                    status, answer = 503, {"error": "cannot write the HAR file"}
                self._json(status, answer)

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                if not self._host_ok():
                    return
                parts = urlsplit(self.path)
                path = parts.path
                routes: dict[str, Callable[[], None]] = {
                    "/v1": self._v1,
                    "/api/logs": lambda: self._logs(parts.query),
                    "/api/summary": lambda: self._json(200, collector.store.summary()),
                    "/favicon.ico": lambda: self._send(204, b"", "image/x-icon"),
                }
                if path in routes:
                    routes[path]()
                elif path in _DASHBOARD_FILES or path.startswith("/logs/"):
                    name, content_type = _DASHBOARD_FILES.get(path, _DASHBOARD_FILES["/"])
                    self._send(200, collector.dashboard_file(name), content_type,
                               {"Content-Security-Policy": _CSP,
                                "Referrer-Policy": "no-referrer"})
                elif path.startswith("/api/logs/"):
                    found = collector.store.detail(unquote(path[len("/api/logs/"):]))
                    if found is None:
                        self._json(404, {"error": "no such log (kept: the last "
                                                  f"{collector.store.keep})"})
                    else:
                        self._json(200, found)
                else:
                    self._json(404, {"error": "not found"})

            def _v1(self) -> None:
                if self._auth_ok():
                    host = self.headers.get("Host") or f"127.0.0.1:{collector.port}"
                    self._json(200, {"baseUrl": f"http://{host}"})

            def _logs(self, query: str) -> None:
                params = parse_qs(query)
                try:
                    after = int(params.get("after", ["0"])[0])
                    limit = min(max(int(params.get("limit", ["500"])[0]), 1), 5000)
                except ValueError:
                    self._json(400, {"error": "after and limit must be integers"})
                    return
                self._json(200, {"logs": collector.store.rows(after, limit),
                                 "last": collector.store.seq})

        return Handler

    def dashboard_file(self, name: str) -> bytes:
        """A dashboard file from the package data (read once, then kept)."""
        if name not in self._dashboard:
            self._dashboard[name] = _dashboard_file(name)
        return self._dashboard[name]
