"""The order in which the xdist workers take the suite: each worker's long modules first.

``--dist worksteal`` (pyproject.toml) hands each of the ``n`` workers a contiguous n-th of
the collection, in its order (by count of tests, not by time); a worker done with its own
takes the last half of the pending tests of the worker with the most left. In file order
five long modules (test_sdist, test_slow_client, test_speed9_cookies,
test_transport_reader, test_twins21_bodies) lie in the second half of the last share,
where thieves take: a long test begun near the end was the run's end (one worker busy,
a core idle), and a module split between workers ran its module fixtures on each (in a
-n 4 run of every sixth file, test_twins21_bodies' four servers, 43 s, on all four).

:func:`order` puts the known long modules (:data:`LONG`) at the start of the n-ths, each
to the n-th with the fewest long seconds so far (longest first), and fills every n-th up to
its count with the other modules in file order. A module's tests stay together and in
their order (its module fixtures, its parameters of ``scope="module"``), and every
worker computes the same order from the same collection (xdist requires it). What is
stolen at the end is the tail of a worker's share: short tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest

#: Modules that take long, by their summed test durations in CI77's whole-suite run
#: (-n 4, 2026-12-06 23:24, the machine loaded to 30-50 by other sessions: only their
#: order counts; hostile39's after suite41 cut its YAML bodies to an eighth). Refreshed
#: by suite41 from suite36's list: test_e2e_servers, test_asgi_conformance,
#: test_half_close_late, test_asgi_left (39 to 84 s in CI77) dropped out. suite43: the
#: modules it measured alone (-n 0 --durations=0) on CI77's scale (x9.5, the median of
#: the four both measured): test_cpu23_findings and test_review68_findings in,
#: test_review121_findings out (its LZMA zip of a 7 MiB log made small; docs/TESTING.md).
#: A module renamed or removed is simply not found.
LONG: dict[str, float] = {
    "test_asgi_servers.py": 249, "test_hostile38_findings.py": 249,
    "test_slow_client.py": 236, "test_hostile15_servers.py": 210, "test_sdist.py": 175,
    "test_review68_findings.py": 155, "test_review109_counts.py": 152,
    "test_cpu23_findings.py": 151, "test_frameworks.py": 150,
    "test_redaction_readers.py": 147, "test_hostile16_servers.py": 144,
    "test_review86_findings.py": 144, "test_cpu16_key_gate.py": 141,
    "test_blackbox8_findings.py": 137, "test_hostile14_servers.py": 129,
    "test_secrets23_findings.py": 128, "test_secrets18_findings.py": 116,
    "test_har_credentials.py": 113, "test_hostile39_findings.py": 80,
}

_Item = TypeVar("_Item", bound=pytest.Item)


def shares(count: int, workers: int) -> list[int]:
    """How many tests each worker is first handed (xdist's worksteal: each in turn gets
    the pending tests divided by the workers not yet served, rounded down)."""
    sizes: list[int] = []
    for served in range(workers):
        sizes.append((count - sum(sizes)) // (workers - served))
    return sizes


def order(items: list[_Item], workers: int) -> list[_Item]:
    """``items`` with the :data:`LONG` modules spread to the start of each worker's
    share (see the module's docstring); as they are for one worker or none long."""
    modules: dict[Path, list[_Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    long = sorted((path for path in modules if path.name in LONG),
                  key=lambda path: -LONG[path.name])
    if workers < 2 or not long:
        return items
    firsts: list[list[_Item]] = [[] for _ in range(workers)]
    seconds = [0.0] * workers
    for path in long:
        least = seconds.index(min(seconds))
        firsts[least].extend(modules[path])
        seconds[least] += LONG[path.name]
    rest = [item for path, tests in modules.items() if path not in long for item in tests]
    ordered: list[_Item] = []
    for first, size in zip(firsts, shares(len(items), workers)):
        take = max(0, size - len(first))
        ordered += first + rest[:take]
        del rest[:take]
    return ordered + rest
