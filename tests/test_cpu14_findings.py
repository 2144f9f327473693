"""cpu14 (issue 11): the serving thread's cold cost under gunicorn.

``benchmarks/cold_capture.py`` measures, in process, the capture's CPU per request warm
(back to back) and cold (a data-evicting buffer, a sender's build and encode of a log,
or both, run between two calls): under gunicorn the capture runs between gunicorn's
code, the kernel's and the senders', never warm. Failed before: no such script. The
figures are the benchmark's to report: this checks only that each workload ran, that
the ``sender`` workload built and encoded a real log of the capture's own, and the
shape of what it prints, never a time.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.support.command import REPO_ROOT
from tests.support.load_file import load_file
from tests.support.processes import run_command

SCRIPT = REPO_ROOT / "benchmarks" / "cold_capture.py"


def _module() -> Any:
    return load_file("cpu14_cold_capture", SCRIPT, SCRIPT.parent)


def test_the_cold_capture_benchmark_reports_every_workload() -> None:
    done = run_command([sys.executable, str(SCRIPT), "--rounds", "2", "--calls", "20",
                        "--evict-mb", "1"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rounds"], report["calls"], report["evict_mb"]) == (2, 20, 1)
    assert list(report["workloads"]) == ["none", "data", "sender", "both"]
    for figures in report["workloads"].values():
        assert len(figures["off_runs"]) == 2
        assert figures["off_us"] > 0 and figures["bare_us"] > 0
        # (each figure rounded on its own: the difference within a rounding)
        assert abs(figures["capture_us"] - (figures["off_us"] - figures["bare_us"])) < 0.02


def test_the_sender_workload_builds_and_encodes_the_captured_log() -> None:
    cold = _module()
    wrapped = cold.bench.wrap(cold.bench.get_app, "http://127.0.0.1:9/")
    kept: list[Any] = [None]
    wrapped.pipeline.submit = lambda item, send=True: kept.__setitem__(0, item) or True
    encoded: list[bytes] = []
    real_dumps = cold.dumps

    def counted_dumps(log: Any) -> bytes:
        encoded.append(real_dumps(log))
        return encoded[-1]

    cold.dumps = counted_dumps
    try:
        between = cold.workloads(wrapped, kept, 1)
        cold.per_call_us(wrapped, between["none"], 1)  # a first exchange to build
        assert cold.per_call_us(wrapped, between["sender"], 3) > 0
    finally:
        cold.dumps = real_dumps
        wrapped.pipeline.close()
    assert len(encoded) == 3
    entry = json.loads(encoded[-1])["request"]["log"]["entries"][0]
    assert entry["request"]["method"] == "GET"
    assert entry["request"]["url"] == (
        "https://api.example.com/v1/widgets/12345?expand=owner&limit=10")
    assert entry["response"]["status"] == 200
