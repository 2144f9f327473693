"""The memory a call takes at its peak, for the tests that bound a reader's cost in
copies of its input (hostile30, hostile32, review117, review122)."""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable


def peak_bytes(call: Callable[[], Any]) -> int:
    """The peak of the memory Python allocated while ``call()`` ran (tracemalloc's)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
