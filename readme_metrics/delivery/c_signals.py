"""A signal's handler as the system has it, read and set through Python's C API.

Python's :func:`signal.getsignal` gives the handler Python noted, not always the one in
force: a server in C that set its own after Python started (uWSGI's workers) leaves
``getsignal`` saying SIG_DFL while the system runs uWSGI's handler (uWSGI 2.0.30). These
read and set the system's handler with ``PyOS_getsig`` / ``PyOS_setsig`` (sigaction(2)
underneath, from any thread). ``None`` is "could not tell" (no ctypes, no pythonapi);
SIG_DFL is 0 and SIG_IGN 1, as the system has them.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["handler", "set_handler"]


def handler(signum: int) -> Optional[int]:
    """The C handler the system has for ``signum`` (0 for SIG_DFL, 1 for SIG_IGN), or
    None where it cannot be read."""
    return _call("PyOS_getsig", int(signum))


def set_handler(signum: int, c_handler: int) -> Optional[int]:
    """Put ``c_handler`` (a value :func:`handler` gave) on ``signum``; the one before,
    or None where it cannot be set."""
    return _call("PyOS_setsig", int(signum), c_handler)


def _call(name: str, *args: int) -> Optional[int]:
    try:
        import ctypes

        types = (ctypes.c_int, ctypes.c_void_p)[:len(args)]
        call = ctypes.PYFUNCTYPE(ctypes.c_void_p, *types)((name, ctypes.pythonapi))
        found: Optional[int] = call(*args)
        return found or 0  # (ctypes gives None for a NULL pointer: SIG_DFL)
    except Exception:  # noqa: BLE001 - no ctypes, no pythonapi (PyPy, Windows)
        return None
