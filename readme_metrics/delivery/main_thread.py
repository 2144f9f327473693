"""A function run in the process's main thread the next time that thread runs Python.

Some things only the main thread may do (``signal.signal``, ``signal.set_wakeup_fd``).
From another thread, :func:`soon` has CPython's pending calls (``Py_AddPendingCall``,
which signal handling itself uses) run it there: at the main thread's next check for
signals once it holds the GIL (at once when it is running Python; when it waits in a
server's C code, at the next Python it runs, its next request). As a Python signal
handler, it may run between any two of that thread's calls: the function must be quick
and take no lock that code may hold. uWSGI's ``--threads`` worker arms its stop so
(:mod:`.uwsgi_stop`, delivery50).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["soon"]

#: The C callbacks handed over, kept alive (never freed: one per use, a few per process).
_kept: list[Any] = []


def soon(function: Callable[[], None]) -> bool:
    """Have ``function`` called in the main thread as soon as it runs Python (never in
    another); True when it was handed over (not without ctypes or ``pythonapi``: PyPy,
    a Python built without them; not from a sub-interpreter). Its errors are dropped.
    Never raises.

    Not from a sub-interpreter (uWSGI's further apps, mod_wsgi's application groups):
    CPython 3.9-3.11 run the call when the main thread next runs in that interpreter,
    where ctypes' callback takes the GIL for the main interpreter's thread state while
    the thread holds it already: the process hung for good (review136); 3.12+ would run
    the sub-interpreter's function in the main interpreter. There, what the main thread
    is asked for (``signal.signal``, ``set_wakeup_fd``) is refused anyway."""
    def pending(_: Any) -> int:
        try:
            if threading.current_thread() is threading.main_thread():
                function()
        except BaseException:  # noqa: BLE001 - (a pending call's error is printed)
            pass
        return 0

    try:
        import ctypes

        api = ctypes.pythonapi
        here = ctypes.PYFUNCTYPE(ctypes.c_void_p)(("PyInterpreterState_Get", api))()
        if here != ctypes.PYFUNCTYPE(ctypes.c_void_p)(("PyInterpreterState_Main", api))():
            return False  # (a sub-interpreter: see above)
        callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(pending)
        add = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
            ("Py_AddPendingCall", api))
        _kept.append(callback)
        return add(ctypes.cast(callback, ctypes.c_void_p), None) == 0
    except Exception:  # noqa: BLE001 - no ctypes, no pythonapi
        return False
