"""speed8: a batch's small logs are joined into their piece as they are encoded, and each
is freed then, not held until the batch's end (docs/PERFORMANCE.md, "speed8").

Held whole, the 450 small GET logs of a batch in ``bench.py``'s in-process loop (1.2 MB)
were given back to the kernel by glibc after each POST and faulted in again for the
next batch: 1.8 minor page faults per log on the sender threads, 0.7 now, at about 3.5 us
each on this VM. The bytes posted are the same: ``array_body`` reads an iterator into the
same pieces as the list of its parts.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import encode
from readme_metrics.delivery import sender as sender_module
from readme_metrics.delivery.sender import Sender

API_KEY = "speed8-api-key-0123456789abcdef"
LOG_TEXT = 3000  # bytes of text in each test log: about 21 to a piece of 64 KiB


class _Part(bytes):
    """An encoded log that counts itself out when it is freed."""

    freed: list[int] = []

    def __del__(self) -> None:
        _Part.freed.append(1)


def _built(item: Any) -> dict[str, Any]:
    if item == "broken":
        raise ValueError("no log for this item")
    return {"_id": str(item), "text": "x" * LOG_TEXT}


def test_each_small_log_is_freed_once_its_piece_is_joined(monkeypatch: Any) -> None:
    _Part.freed = []
    alive: list[int] = []  # encoded logs not yet freed, when each log is built

    def build(item: Any) -> dict[str, Any]:
        if isinstance(item, int):
            alive.append(item - len(_Part.freed))
        return _built(item)

    monkeypatch.setattr(sender_module, "dumps", lambda log: _Part(encode.dumps(log)))
    errors: list[Any] = []
    items: list[Any] = list(range(200))
    items[50] = "broken"
    body = Sender(None, build, API_KEY).encode(  # type: ignore[arg-type]
        items, lambda exc, item: errors.append(item))
    assert body is not None
    # Held until the batch's end (as before), 199 would be alive at the last log.
    assert max(alive) <= 64 * 1024 // LOG_TEXT + 2
    assert errors == ["broken"]
    assert json.loads(bytes(body)) == [_built(item) for item in items if item != "broken"]
    assert len(body.pieces) == -(-199 * (LOG_TEXT + 25) // (64 * 1024))


def test_a_batch_with_no_log_built_is_none() -> None:
    errors: list[Any] = []
    sender = Sender(None, _built, API_KEY)  # type: ignore[arg-type]
    assert sender.encode(["broken", "broken"], lambda exc, item: errors.append(item)) is None
    assert sender.encode([], lambda exc, item: errors.append(item)) is None
    assert errors == ["broken", "broken"]
    body = sender.encode([1], lambda exc, item: errors.append(item))
    assert body is not None and json.loads(bytes(body)) == [_built(1)]


PART_SIZES = st.lists(st.one_of(st.integers(1, 300), st.integers(16 * 1024 - 2, 16 * 1024 + 2),
                                st.integers(20_000, 70_000), st.integers(60_000, 66_000)),
                      max_size=40)


@settings(max_examples=200, deadline=None)
@given(sizes=PART_SIZES)
def test_an_iterator_of_parts_makes_the_pieces_of_their_list(sizes: list[int]) -> None:
    parts = [(b"%d" % index) * (size // len(b"%d" % index) + 1) for index, size in
             enumerate(sizes)]
    listed, read = encode.array_body(parts), encode.array_body(iter(parts))
    assert read.pieces == listed.pieces
    assert len(read) == len(listed) == len(b"[" + b",".join(parts) + b"]")
    # A large log is sent as it is, never copied, from an iterator too.
    large = [part for part in parts if len(part) >= 16 * 1024]
    assert [piece for piece in read.pieces if any(piece is part for part in large)] == large
