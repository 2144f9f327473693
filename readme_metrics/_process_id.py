"""This process's id for the fork checks, without a system call where it can be trusted.

The library's state belongs to one process (its queue, senders, log ids): a forked child
must find out it is not its parent before it uses any of it. ``os.fork`` runs Python's
fork hooks (``os.register_at_fork``: gunicorn, multiprocessing, ``os.fork`` in an app),
and :mod:`readme_metrics.delivery.process` rebuilds the child's state there. Servers that
fork their workers in C run none (uWSGI, unless ``--py-call-osafterfork``; mod_wsgi is
counted with them): the child then still holds its parent's state, and only the process
id tells. So the request path compared the id it recorded with ``os.getpid()`` on each
log, twice (``Delivery.submit`` and ``log_id``): a system call each, 0.7 to 1.6 us on the
benchmark's VM (cpu18, cpu19).

:func:`getpid` is what those checks call: where the fork hooks run, this module's own
hook refreshes a recorded id and :func:`getpid` returns it (no system call); under a
server that forks in C (its module in ``sys.modules`` when this module is first
imported: the app is loaded in that server, before any fork of it), it is
``os.getpid`` itself, as before. Where the library was imported before such a server's
module was loaded (``pyuwsgi.run()`` from a script that imported the app first), the
recorded id is given only while neither module is loaded: ``os.getpid`` once one is.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

__all__ = ["C_FORKERS", "getpid", "hooks_trusted", "refresh"]

#: The modules of the servers that fork their workers in C, without Python's fork hooks.
C_FORKERS = ("uwsgi", "mod_wsgi")

_pid = os.getpid()


def hooks_trusted() -> bool:
    """True where every fork runs Python's fork hooks: ``os.register_at_fork`` exists
    and no server that forks in C (:data:`C_FORKERS`) has its module loaded."""
    return hasattr(os, "register_at_fork") and not any(
        name in sys.modules for name in C_FORKERS)


def refresh() -> None:
    """Record this process's id again (a forked child's fork hook; idempotent)."""
    global _pid
    _pid = os.getpid()


_modules = sys.modules


def _recorded() -> int:
    # A server that forks in C loaded since this module's import: pyuwsgi's
    # ``pyuwsgi.run()`` from a script that imported the app first. Its workers ran no
    # fork hook, kept the master's recorded id and gave the same log ids in turn
    # (review132: 12 logs, 7 ids). Two dict look-ups (50 to 85 ns here), no system
    # call.
    if "uwsgi" in _modules or "mod_wsgi" in _modules:
        return os.getpid()
    return _pid


#: ``getpid()``: this process's id, as ``os.getpid()`` gives it. Where the fork hooks
#: run, the id :func:`refresh` recorded (at import and in each forked child), until a
#: server that forks in C is loaded; else ``os.getpid`` (a system call per call).
getpid: Callable[[], int] = _recorded if hooks_trusted() else os.getpid

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=refresh)
