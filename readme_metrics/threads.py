"""Starting one of the library's threads, where a thread may not start: never raises.

Python 3.12+ starts no thread once the interpreter's exit has begun ("can't create new
thread at interpreter shutdown"), and a process at its thread limit none at all ("can't
start new thread"). Every thread of the library starts here; each caller keeps its own
fallback for None (the worker's sends in the caller's thread, the resolver's last answer,
the docs-URL lookup's retry later, ...). Tests simulate "no thread can start" here, in
one place (tests/support/threads.py).
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

__all__ = ["start_thread"]


def start_thread(target: Callable[..., object], name: str, *, args: tuple[object, ...] = (),
                 daemon: bool = True,
                 failed: Optional[Callable[[Exception], None]] = None,
                 ) -> Optional[threading.Thread]:
    """Start ``target(*args)`` in a new thread named ``name``; the thread, or None where
    none can start (then ``failed``, if given, is called with why). Never raises."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=daemon)
    try:
        thread.start()
    except Exception as exc:  # RuntimeError: interpreter exit (3.12+), a thread limit
        if failed is not None:
            failed(exc)
        return None
    return thread
