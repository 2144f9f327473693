"""The time uWSGI's ``--idle`` gives a worker it stops (delivery40).

With ``--idle N``, uWSGI's master stops its workers once none served a request for N
seconds (it "goes cheap", waiting for a connection to spawn them again): it marks each
worker cheap, sends it SIGINT and SIGKILLs it if it is still alive 3 s later, whatever
``--worker-reload-mercy`` says (``uwsgi_master_check_idle``, uWSGI 2.0.30). A close
that needed longer (the API slow or down then, ``shutdown_timeout`` above 3 s) was
killed midway and what it held lost with no line (delivery40: 4 of 4, the API failing,
``shutdown_timeout`` 10 s). There the close ends before the kill and says, as it begins,
what it holds (as under the mercy: :func:`readme_metrics.delivery.gunicorn_stop.
server_limit`).
"""

from __future__ import annotations

from typing import Any, Optional

from readme_metrics.delivery import uwsgi_exit, uwsgi_kill
from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["KILL_AFTER", "IdleLimit", "limit"]

#: The master's wait for an idle worker it stopped, before its SIGKILL (not an option).
KILL_AFTER = 3.0


class IdleLimit(uwsgi_kill.KillLimit):
    """uWSGI's kill of a worker its ``--idle`` stopped, as the close's lines say it."""

    def said(self) -> str:
        return f"the SIGKILL of uWSGI's --idle stop, {float(self):g}s after its SIGINT"

    def advice(self) -> str:
        return ("no option of uWSGI gives an idle worker more; without --idle a stop has "
                "--worker-reload-mercy")


def limit(mercy: float) -> Optional[Limit]:
    """In a uWSGI worker that ``--idle`` stops (the master marked it cheap): the time to
    the kill; else None. Never raises."""
    kill_after = uwsgi_kill.timed(_stopped)
    if kill_after is None:
        return None
    return IdleLimit(min(kill_after, mercy), "uWSGI", "--idle")


def _stopped(uwsgi: Any, options: dict[Any, Any]) -> Optional[float]:
    """:data:`KILL_AFTER` in a worker ``--idle`` stopped; else None."""
    return KILL_AFTER if (uwsgi_exit.given(options, "idle")
                       and uwsgi_exit.worker_status(uwsgi) == "cheap") else None
