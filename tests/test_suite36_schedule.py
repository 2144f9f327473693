"""suite36: the long modules first in each xdist worker's share (tests/support/schedule.py).

``order`` reads only each item's ``path``: the items here are stand-ins carrying one, for
the suite's own file names (the real collection's order is that of tests/conftest.py's
hook in every worker of every run)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support import schedule

#: A collection in file order: the long modules near its end, as in the suite.
FILES = [("test_acceptance_cli.py", 40), ("test_asgi.py", 96), ("test_cpu29.py", 438),
         ("test_config.py", 3570), ("test_redaction.py", 169),
         ("test_sdist.py", 3), ("test_slow_client.py", 118),
         ("test_speed9_cookies.py", 24), ("test_transport_reader.py", 39),
         ("test_twins21_bodies.py", 18), ("test_wsgi_input_methods.py", 107)]


def _collection() -> list[Any]:
    return [SimpleNamespace(path=Path("/suite/tests") / name, nodeid=f"{name}::t{n}")
            for name, count in FILES for n in range(count)]


def _shares(items: list[Any], workers: int) -> list[list[Any]]:
    """The tests each worker is first handed, as xdist's worksteal splits them."""
    made, at = [], 0
    for size in schedule.shares(len(items), workers):
        made.append(items[at:at + size])
        at += size
    return made


@pytest.mark.parametrize("workers", [2, 3, 4, 6])
def test_each_share_begins_with_long_modules_and_no_test_is_lost(workers: int) -> None:
    items = _collection()
    ordered = schedule.order(items, workers)
    assert sorted(item.nodeid for item in ordered) == sorted(item.nodeid for item in items)
    # each module's tests in their order, a long one's together; the others cut only
    # where a share ends, as in file order (workers - 1 cuts)
    runs = [item.path.name for item in ordered]
    starts = [name for at, name in enumerate(runs) if at == 0 or runs[at - 1] != name]
    assert len(starts) <= len(FILES) + workers - 1, starts
    assert all(starts.count(name) == 1 for name, _ in FILES if name in schedule.LONG), starts
    for name, _ in FILES:
        mine = [item.nodeid for item in ordered if item.path.name == name]
        assert mine == [item.nodeid for item in items if item.path.name == name]
    # every share starts with long modules, while the long ones last for them
    long = [name for name, _ in FILES if name in schedule.LONG]
    shares = _shares(ordered, workers)
    leading = [share[0].path.name for share in shares]
    assert all(name in schedule.LONG for name in leading[:len(long)]), leading
    # none of them is left for the end: each ends inside the first half of a share
    for name in long:
        owner = next(share for share in shares if share[0].path.name in schedule.LONG
                     and any(item.path.name == name for item in share))
        last = max(at for at, item in enumerate(owner) if item.path.name == name)
        assert last < len(owner) // 2, (name, last, len(owner))
    # in file order, the last share held them all (what the order undoes)
    assert all(name in {item.path.name for item in _shares(items, workers)[-1]}
               for name in long)


def test_the_order_is_the_same_in_every_worker_and_kept_for_one() -> None:
    items = _collection()
    assert [i.nodeid for i in schedule.order(items, 4)] == [
        i.nodeid for i in schedule.order(list(items), 4)]
    assert schedule.order(items, 1) == items
    plain = [item for item in items if item.path.name not in schedule.LONG]
    assert schedule.order(plain, 4) == plain


def test_the_shares_are_xdists() -> None:
    from xdist.scheduler.worksteal import WorkStealingScheduling  # noqa: F401 - its rule:
    # idle nodes in turn get len(pending) // nodes_remaining (check_schedule)
    assert schedule.shares(11682, 4) == [2920, 2920, 2921, 2921]
    assert schedule.shares(10, 3) == [3, 3, 4]
    assert sum(schedule.shares(11682, 6)) == 11682
