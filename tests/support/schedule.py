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

#: Modules that take long: the 20 longest by their summed test durations (setup, call
#: and teardown) in suite44's whole-suite run (-n 6, --durations=0, 2026-12-07 05:22 to
#: 06:38, 13,528 tests in 4,453 s, the machine loaded to 30-55 by another whole suite
#: and valgrind runs beside it: only their order counts). Replaces CI77's list (-n 4,
#: refreshed by suite41 and suite43): test_hostile46/49/51/45, test_secrets24,
#: test_asgi_conformance, test_delivery20, test_hostile9, test_delivery_lifecycle,
#: test_blackbox14, test_readme, test_package, test_asgi_left and test_review120 in;
#: test_hostile38 (102 s here), test_sdist (87), test_review68 (131), test_frameworks,
#: test_redaction_readers, test_hostile16/14_servers, test_cpu16, test_blackbox8,
#: test_secrets18/23, test_har_credentials, test_hostile39 out (70 to
#: 189 s). A module renamed or removed is simply not found. test_slow_client's 371 s
#: scaled by suite45's paired -n 0 runs of it (278.4 s on main, 203.1 s with its servers
#: shared): 271.
LONG: dict[str, float] = {
    "test_hostile46_findings.py": 518, "test_slow_client.py": 271,
    "test_hostile49_findings.py": 355, "test_asgi_servers.py": 311,
    "test_asgi_conformance.py": 303, "test_hostile51_findings.py": 261,
    "test_secrets24_findings.py": 260, "test_hostile45_findings.py": 249,
    "test_delivery20_findings.py": 247, "test_hostile9_findings.py": 247,
    "test_delivery_lifecycle.py": 246, "test_hostile15_servers.py": 244,
    "test_cpu23_findings.py": 244, "test_blackbox14_findings.py": 232,
    "test_readme.py": 224, "test_package.py": 221, "test_review86_findings.py": 220,
    "test_asgi_left.py": 216, "test_review109_counts.py": 213,
    "test_review120_findings.py": 206,
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
