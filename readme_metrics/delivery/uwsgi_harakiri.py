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

from readme_metrics.delivery import uwsgi_exit, uwsgi_stop
from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["HarakiriLimit", "limit"]

#: Of the graceful timeout, gone before the signal at most: the master's check runs
#: once a second, the deadline passed before it.
SPENT = 1.0


class HarakiriLimit(Limit):
    """uWSGI's kill of a worker its graceful harakiri stopped, as the close's lines say
    it."""

    def kills(self) -> str:
        return "ends this worker then"

    def said(self) -> str:
        return f"the SIGKILL of uWSGI's --harakiri-graceful-timeout of {float(self):g}s"

    def advice(self) -> str:
        return ("raise --harakiri-graceful-timeout above shutdown_timeout to give the "
                "close its whole time")


def limit(mercy: float) -> Optional[Limit]:
    """In a uWSGI worker in a request, ``--harakiri-graceful-timeout`` given: the time
    to the kill; else None. Never raises."""
    uwsgi, options = uwsgi_exit.uwsgi_options()
    try:
        graceful = _seconds(options)
        if uwsgi is None or graceful is None or not uwsgi_stop.busy(uwsgi):
            return None
    except Exception:  # noqa: BLE001 - (an uwsgi module of another shape)
        return None
    if graceful >= mercy:
        return None
    return HarakiriLimit(graceful, "uWSGI", "--harakiri-graceful-timeout", spent=SPENT)


def _seconds(options: dict[Any, Any]) -> Optional[float]:
    value = options.get("harakiri-graceful-timeout",
                        options.get(b"harakiri-graceful-timeout"))
    if isinstance(value, list):  # (given more than once: the last one holds)
        value = value[-1] if value else None
    if value is None:
        return None
    seconds = float(value.decode() if isinstance(value, bytes) else value)
    return seconds if seconds > 0 else None
