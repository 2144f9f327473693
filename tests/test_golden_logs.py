"""build_log gives the very logs it gave before (issue 11: faster, not different).

The corpus of :mod:`tests.support.golden_logs` (a few hundred seeded, varied exchanges,
through the WSGI capture and the worker's ``build_log``, and plain Exchange records with
odd fields) must give, log for log, the compact JSON saved in ``tests/golden_logs.json``:
the same keys in the same order, the same values, the same types. A deliberate change of
what is sent rewrites that file (``python -m tests.support.golden_logs --write``), and
its diff shows the change.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.golden_logs import cases, encoded, read_golden


def _first_difference(got: Any, want: Any, path: str = "") -> str:
    if type(got) is not type(want):
        return f"{path}: {type(got).__name__} {got!r:.200} instead of {want!r:.200}"
    if isinstance(got, dict):
        if list(got) != list(want):
            return f"{path}: keys {list(got)} instead of {list(want)}"
        for key in got:
            found = _first_difference(got[key], want[key], f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(got, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} items instead of {len(want)}"
        for index, (a, b) in enumerate(zip(got, want)):
            found = _first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return ""
    return "" if got == want else f"{path}: {got!r:.300} instead of {want!r:.300}"


def test_the_corpus_gives_the_saved_logs() -> None:
    golden = read_golden()
    made = [encoded(log) for log in cases()]
    assert len(made) == len(golden)
    differences = [
        f"case {index}: {_first_difference(json.loads(got), json.loads(want)) or 'bytes'}"
        for index, (got, want) in enumerate(zip(made, golden)) if got != want
    ]
    assert not differences, f"{len(differences)} logs changed:\n" + "\n".join(differences[:10])
