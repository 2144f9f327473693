"""The time ``manage.py runserver``'s child has to close in under Django's autoreloader.

Without ``--noreload``, runserver serves in a child process that its parent (the
autoreloader) runs with ``subprocess.run``. A Ctrl-C reaches both: the parent's
``subprocess`` waits 0.25 s for the child, then SIGKILLs it (a SIGTERM to both: at
once). The child's exit close waited for the Metrics API's answers up to
``shutdown_timeout`` and said what it gave up on at its end: killed first, it said
nothing (blackbox12: API answering in 1 s, 4 clients, 3,117 calls served, 2,943
delivered, the other 174, answered while runserver served on during the exit, said by no
line). In that child the close ends before the kill and says, as it begins, what it
holds (as in a gunicorn worker: :mod:`.gunicorn_stop`).

Not at a reload: a file changed, Django's ``file_changed`` signal is sent, and the child
ends with ``sys.exit(3)``; the parent waits for it (a new child serves meanwhile), so the
close has its whole ``shutdown_timeout`` there. A receiver of that signal notes it
(:func:`watch_reload`, returning None: the reload goes on).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

from readme_metrics.delivery.gunicorn_stop import Limit

#: subprocess's wait for a child after a KeyboardInterrupt (``Popen._sigint_wait_secs``).
KILL_AFTER = 0.25
#: Of it, gone before the close begins (the child's main thread ends, threads' hooks).
SPENT = 0.05

_reloading = False


class AutoreloaderLimit(Limit):
    """Django's autoreloader's kill of its child, as the close's lines say it."""

    def kills(self) -> str:
        return "ends this process (runserver's child) then"

    def said(self) -> str:
        return f"the SIGKILL of Django's autoreloader, {float(self):g}s after Ctrl-C"

    def advice(self) -> str:
        return ("run runserver with --noreload to give the close its whole time; calls "
                "runserver answers from now on have no log")


def in_autoreloader_child() -> bool:
    """This process is ``manage.py runserver``'s child under Django's autoreloader."""
    return (os.environ.get("RUN_MAIN") == "true" and sys.argv[1:2] == ["runserver"]
            and "django.utils.autoreload" in sys.modules)


def limit() -> Optional[Limit]:
    """The time to the autoreloader's kill, in its child at an exit that is no reload;
    else None."""
    if _reloading or not in_autoreloader_child():
        return None
    return AutoreloaderLimit(KILL_AFTER, "Django's autoreloader", "--noreload", spent=SPENT)


def _noted(**_: Any) -> None:
    """Django's ``file_changed`` receiver: this child's exit is a reload. None: the
    reload goes on."""
    global _reloading
    _reloading = True


def watch_reload() -> None:
    """In runserver's child under the autoreloader, note a reload coming (its
    ``file_changed`` signal). Once per process; anywhere else, nothing. Never raises."""
    try:
        if not in_autoreloader_child():
            return
        autoreload = sys.modules["django.utils.autoreload"]
        autoreload.file_changed.connect(_noted, weak=False,
                                        dispatch_uid="readme_metrics.reloader_stop")
    except Exception:  # another Django, of a shape of its own
        pass
