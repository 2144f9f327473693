"""The local collector's parts in-process: HAR file writer, store, console, receiver.

The end-to-end checks through ``python -m readme_metrics collect`` are in
test_collector.py; the defences against hostile clients in test_collector_safety.py.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics.cli.collector import (
    HarFile,
    LocalCollector,
    LogStore,
    endpoint_of,
    format_line,
)
from readme_metrics.cli.collector.console import REFUSAL_INTERVAL, Console
from tests.support.fake_api import basic_auth
from tests.support.har_check import har_validator
from tests.support.sample_logs import entry_count, valid_log


def test_har_file_is_valid_at_every_moment(tmp_path: Path) -> None:
    """A reader parsing the file in a loop while batches are appended never sees half."""
    path = tmp_path / "live.har"
    har = HarFile(path)
    entry = valid_log()["request"]["log"]["entries"][0]
    stop = threading.Event()
    reads: list[int] = []
    failures: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                reads.append(len(json.loads(path.read_bytes())["log"]["entries"]))
            except (ValueError, KeyError) as exc:
                failures.append(repr(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for batch in range(150):
            har.append([entry] * (1 + batch % 3))
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert reads and reads == sorted(reads)  # never goes back, never half a batch
    assert har.count == entry_count(path) == sum(1 + b % 3 for b in range(150))
    har_validator().validate(json.loads(path.read_bytes()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.har"]  # no temp file left


def test_har_file_fresh_replaces_and_continue_keeps(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    entry = valid_log()["request"]["log"]["entries"][0]
    HarFile(path).append([entry, entry])
    assert HarFile(path, fresh=False).count == 2
    assert HarFile(path, fresh=True).count == 0
    assert entry_count(path) == 0


def _rows(store: LogStore, count: int, **changes: Any) -> list[dict[str, Any]]:
    logs = []
    for index in range(count):
        log = valid_log(f"caller{index}")
        entry = log["request"]["log"]["entries"][0]
        entry.update(changes)
        logs.append(log)
    return store.add(logs)


def test_store_keeps_only_the_last_n() -> None:
    store = LogStore(keep=5)
    rows = _rows(store, 12)
    assert [row["seq"] for row in store.rows()] == list(range(12, 7, -1))
    assert store.detail(rows[0]["id"]) is None and store.detail(rows[-1]["id"]) is not None
    assert store.rows(after=10) == [rows[-1], rows[-2]]
    summary = store.summary()
    assert (summary["accepted"], summary["kept"]) == (12, 5)


@pytest.mark.parametrize(("durations", "p50", "p95"), [
    pytest.param([5.0], 5.0, 5.0, id="one"),
    pytest.param([1.0, 2.0, 3.0, 4.0], 2.0, 4.0, id="four"),
    pytest.param([float(d) for d in range(1, 101)], 50.0, 95.0, id="hundred"),
])
def test_summary_percentiles(durations: list[float], p50: float, p95: float) -> None:
    store = LogStore(keep=1000)
    for duration in durations:
        _rows(store, 1, time=duration, timings={"send": 0, "wait": duration, "receive": 0})
    summary = store.summary()
    assert (summary["p50"], summary["p95"]) == (p50, p95)


@pytest.mark.parametrize(("method", "path", "endpoint"), [
    pytest.param("GET", "/items/42", "GET /items/{id}", id="number"),
    pytest.param("GET", "/u/3f2504e0-4f89-41d3-9a0c-0305e82c3301/x", "GET /u/{id}/x", id="uuid"),
    pytest.param("POST", "/items", "POST /items", id="plain"),
    pytest.param("GET", "/", "GET /", id="root"),
    pytest.param("GET", "/v2/items", "GET /v2/items", id="version-kept"),
])
def test_endpoint_groups_ids(method: str, path: str, endpoint: str) -> None:
    assert endpoint_of(method, path) == endpoint


def test_console_line_without_label_shows_the_key_tail() -> None:
    store = LogStore()
    log = valid_log("x")
    del log["group"]["label"]
    row = store.add([log])[0]
    assert " key *ey-x " in format_line(row)


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[LocalCollector, io.StringIO, io.StringIO]]:
    """An embedded collector (as the demo uses it) with captured console streams."""
    out, err = io.StringIO(), io.StringIO()
    collector = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "in.har", out=out, err=err,
                               summary_every=0).start()
    try:
        yield collector, out, err
    finally:
        collector.stop()


def _post(url: str, logs: list[dict[str, Any]]) -> requests.Response:
    return requests.post(url + "/v1/request", json=logs, timeout=5,
                         headers={"Authorization": basic_auth("k")})


def test_a_retried_batch_is_kept_once(
        in_process: tuple[LocalCollector, io.StringIO, io.StringIO]) -> None:
    collector, out, err = in_process
    log = valid_log("retry")
    assert _post(collector.url, [log]).json() == {"accepted": 1}
    assert _post(collector.url, [log]).json() == {"accepted": 0, "duplicates": 1}
    other = valid_log("twice")
    assert _post(collector.url, [other, other]).json() == {"accepted": 1, "duplicates": 1}
    assert collector.har is not None and entry_count(collector.har.path) == 2
    assert collector.store.accepted == 2 and collector.receiver.duplicates == 2
    assert "ignored 1 log received before" in err.getvalue()
    assert len([line for line in out.getvalue().splitlines() if "  GET  " in line]) == 2


def test_a_refused_batch_counts_its_logs_in_words(
        in_process: tuple[LocalCollector, io.StringIO, io.StringIO]) -> None:
    """It said "refused a batch of 1 log(s)", where every other line says "1 log"."""
    collector, _, err = in_process
    for count in (1, 2):
        assert _post(collector.url, [{"bogus": 1}] * count).status_code == 400
    lines = err.getvalue().splitlines()
    assert "refused a batch of 1 log with 400:" in lines, lines
    assert "refused a batch of 2 logs with 400:" in lines, lines


def test_summary_line_follows_the_batches(
        in_process: tuple[LocalCollector, io.StringIO, io.StringIO]) -> None:
    collector, out, _ = in_process
    failed = valid_log("err")
    failed["request"]["log"]["entries"][0]["response"]["status"] = 503
    _post(collector.url, [valid_log("ok")])
    _post(collector.url, [failed])
    summaries = [line for line in out.getvalue().splitlines() if line.startswith("-- ")]
    assert summaries[-1].startswith("-- 2 calls, 50% errors, p50 ")
    assert summaries[-1].endswith("0 refused; busiest GET /items (2 calls)")


@pytest.mark.parametrize("body, line", [
    pytest.param(b"[{", "  body: not JSON (Expecting property name", id="not-json"),
    pytest.param(b"[]", "  body: must hold at least one log, got an empty array", id="empty"),
    pytest.param(b"{}", "  body: must be a JSON array of logs, got an object", id="object"),
])
def test_a_refused_body_is_named_once_on_the_console(
        in_process: tuple[LocalCollector, io.StringIO, io.StringIO], body: bytes,
        line: str) -> None:
    """Each reason of a body refused whole starts with "body:"; the console put another
    "body: " in front ("body: body: not JSON ...")."""
    collector, _, err = in_process
    answer = requests.post(collector.url + "/v1/request", data=body, timeout=5,
                           headers={"Authorization": basic_auth("k"),
                                    "Content-Type": "application/json"})
    assert answer.status_code == 400
    lines = err.getvalue().splitlines()
    assert any(printed.startswith(line) for printed in lines), lines
    assert "body: body:" not in err.getvalue()


def test_refusal_lines_are_rate_limited_per_kind() -> None:
    now = [100.0]
    err = io.StringIO()
    console = Console(None, err, None, clock=lambda: now[0])
    assert console.refused("401 POST", 2, "refused A") is True
    assert console.refused("401 POST", 3, "refused B") is False  # an app retrying
    assert console.refused("401 GET", 1, "another kind") is True
    now[0] += REFUSAL_INTERVAL
    assert console.refused("401 POST", 1, "refused C") is True
    assert err.getvalue().splitlines() == [
        "refused A", "another kind",
        "refused C (4 refused like this since the last such line)",
    ]


class _ClosedPipe(io.StringIO):
    """stdout after ``readme-metrics collect | head -3`` has exited: every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_console_never_fails_a_post_nor_the_har_file(tmp_path: Path) -> None:
    """The console's BrokenPipeError was taken for a HAR write failure: every POST got 503
    ("cannot write the HAR file"), so the app retried batches that had been kept."""
    err = io.StringIO()
    collector = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "in.har", out=_ClosedPipe(),
                               err=err, summary_every=0).start()
    try:
        for name in ("one", "two"):
            answer = _post(collector.url, [valid_log(name)])
            assert answer.status_code == 202, (answer.status_code, answer.text, err.getvalue())
    finally:
        collector.stop()
    assert entry_count(tmp_path / "in.har") == 2
    assert "cannot write" not in err.getvalue(), err.getvalue()
    assert err.getvalue().count("console") == 1, err.getvalue()  # said once, where it can be


def test_a_batch_the_har_file_could_not_take_is_still_on_the_dashboard(
        in_process: tuple[LocalCollector, io.StringIO, io.StringIO],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A HAR write that fails (a full disk) was answered 503 after the batch's ids were
    remembered: the app's retry was counted as duplicates and its logs never reached the
    store (the dashboard), while the HAR file held them for its next write. Now the batch
    is taken (202), the store has it, and the file gets it with the next batch."""
    collector, _, err = in_process
    har = collector.har
    assert har is not None
    real = type(har)._append_copied
    failures = [OSError(28, "No space left on device")]

    def full_once(self: HarFile, source: Any, entries: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        real(self, source, entries)

    _post(collector.url, [valid_log("first")])  # the file exists: the next one appends
    monkeypatch.setattr(type(har), "_append_copied", full_once)
    log = valid_log("disk-full")
    assert _post(collector.url, [log]).json() == {"accepted": 1}
    assert _post(collector.url, [log]).json() == {"accepted": 0, "duplicates": 1}  # a retry
    assert collector.store.accepted == 2
    assert "cannot write the HAR file now" in err.getvalue(), err.getvalue()
    assert _post(collector.url, [valid_log("after")]).json() == {"accepted": 1}
    assert entry_count(har.path) == 3 and har.held == []
