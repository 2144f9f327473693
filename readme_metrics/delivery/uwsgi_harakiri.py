"""The time uWSGI's graceful ``--harakiri`` gives a worker it stops (review123).

With ``--harakiri N --harakiri-graceful-timeout G``, a request still running N seconds
after it began has uWSGI's master send its worker SIGTERM (``--harakiri-graceful-signal``)
and SIGKILL it G seconds after the request's deadline, at the master's next check,
whatever ``--worker-reload-mercy`` says (``uwsgi_master_check_harakiri``, uWSGI 2.0.31).
The close that signal begins (:mod:`.uwsgi_stop`) took ``shutdown_timeout``: with the
API slow or down, it was killed midway and what it held lost with no line (review123:
``--harakiri=2 --harakiri-graceful-timeout=3``, ``shutdown_timeout`` 15 s, the API
failing: 5 of 5 logs lost, nothing said). There the close ends before the kill and
says, as it begins, what it holds (as at an ``--idle`` stop: :mod:`.uwsgi_idle`).

The worker cannot tell a harakiri's signal from a stop's: the bound applies whenever
the option is given and uWSGI counts the worker in a request, a stop that catches it
there too (its close is then said and bounded by G, not by the mercy).
"""

from __future__ import annotations

from typing import Any, Optional

from readme_metrics.delivery import uwsgi_exit, uwsgi_kill, uwsgi_stop
from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["HarakiriLimit", "limit"]

#: Of the graceful timeout, gone before the signal at most: the master's check runs
#: once a second, the deadline passed before it.
SPENT = 1.0


class HarakiriLimit(uwsgi_kill.KillLimit):
    """uWSGI's kill of a worker its graceful harakiri stopped, as the close's lines say
    it."""

    def said(self) -> str:
        return f"the SIGKILL of uWSGI's --harakiri-graceful-timeout of {float(self):g}s"

    def advice(self) -> str:
        return ("raise --harakiri-graceful-timeout above shutdown_timeout to give the "
                "close its whole time")


def limit(mercy: float) -> Optional[Limit]:
    """In a uWSGI worker in a request, ``--harakiri-graceful-timeout`` given: the time
    to the kill; else None. Never raises."""
    graceful = uwsgi_kill.timed(_graceful)
    if graceful is None or graceful >= mercy:
        return None
    return HarakiriLimit(graceful, "uWSGI", "--harakiri-graceful-timeout", spent=SPENT)


def _graceful(uwsgi: Any, options: dict[Any, Any]) -> Optional[float]:
    """``--harakiri-graceful-timeout`` (above 0) in a worker in a request; else None."""
    seconds = uwsgi_exit.seconds(options, "harakiri-graceful-timeout")
    if seconds is None or seconds <= 0 or not uwsgi_stop.busy(uwsgi):
        return None
    return seconds
