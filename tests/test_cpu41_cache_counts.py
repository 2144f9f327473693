"""cpu41 (issue 11): ``benchmarks/gunicorn_instructions.py --cache-sim`` reads every event
a callgrind file counted, not the Ir alone: with valgrind's cache model on, the serving
thread's simulated misses a request (one cache model for the whole worker, so a sender's
run between two requests evicts the serving thread's lines as on one core). Failed
before: the script read the first number of the summary line only (``thread_ir``) and
had no ``--cache-sim``. Parsing only: valgrind's runs are the benchmark's to report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.command import REPO_ROOT
from tests.support.load_file import load_file

SCRIPT = REPO_ROOT / "benchmarks" / "gunicorn_instructions.py"


def _module() -> Any:
    return load_file("cpu41_gunicorn_instructions", SCRIPT, SCRIPT.parent)


def test_every_event_of_a_callgrind_file_is_read(tmp_path: Path) -> None:
    counted = tmp_path / "wrapped.123.1-01"
    counted.write_text("version: 1\ncreator: callgrind-3.19.0\ncmd: python\npart: 1\n"
                       "positions: line\nevents: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
                       "summary: 170000000 50 40 300000 200000 30000 9000 8000 700\n"
                       "fl= (1) x.c\nfn= (1) f\n16 1 2 3\n")
    tool = _module()
    assert tool.thread_counts(counted) == {
        "Ir": 170000000, "Dr": 50, "Dw": 40, "I1mr": 300000, "D1mr": 200000,
        "D1mw": 30000, "ILmr": 9000, "DLmr": 8000, "DLmw": 700}
    assert tool.thread_ir(counted) == 170000000


def test_a_file_of_instructions_alone_still_reads_its_ir(tmp_path: Path) -> None:
    tool = _module()
    plain = tmp_path / "bare.1.1-01"
    plain.write_text("events: Ir\nsummary: 752985\n")
    assert tool.thread_counts(plain) == {"Ir": 752985}
    assert tool.thread_ir(plain) == 752985
    lined = tmp_path / "bare.1.2-01"
    lined.write_text("totals: 4242\n")
    assert tool.thread_ir(lined) == 4242
    empty = tmp_path / "empty"
    empty.write_text("events: Ir\n")
    assert tool.thread_counts(empty) == {} and tool.thread_ir(empty) == 0

