"""A WSGI app for gunicorn's gthread worker whose main thread meets a quit signal at a
point of its own choosing (tests/test_delivery82_gthread_quit): the timing Ctrl-C met
by chance under load (blackbox23), made certain.

``FORCE`` (environment):

- ``nested``: as the worker's ``handle_quit`` (Ctrl-C's SIGINT) has its thread pool's
  ``shutdown`` hold the pool's lock, a SIGQUIT (its master's) comes;
- ``submit``: once the file ``armed`` exists (in the working folder), as the main
  thread hands a connection to the pool (``submit``, the pool's lock held), a SIGINT
  comes.

The signal is sent where the pool puts on its work queue, the lock held (the queue is
wrapped as the worker loads this module): ``os.kill`` of this process runs its handler
before it returns, there. The file ``fired`` is made as it is sent. ``WRAPPED=1``:
``application`` is wrapped by the middleware (``PROJECT_KEY``, ``METRICS_URL``); else
bare. /r/N answers ``N``.
"""

from __future__ import annotations

import os
import pathlib
import signal
import threading
from typing import Any

FORCE = os.environ.get("FORCE", "")


class _Queue:
    """The pool's work queue, sending the forced signal at its ``put``."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self._fired = False

    def put(self, item: Any, *args: Any, **kwargs: Any) -> None:
        if not self._fired and threading.current_thread() is threading.main_thread():
            if FORCE == "nested" and item is None:
                self._fire(signal.SIGQUIT)
            elif FORCE == "submit" and item is not None and os.path.exists("armed"):
                self._fire(signal.SIGINT)
        self._queue.put(item, *args, **kwargs)

    def _fire(self, signum: int) -> None:
        self._fired = True
        pathlib.Path("fired").touch()
        os.kill(os.getpid(), signum)  # (its handler runs here, the pool's lock held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].rpartition("/")[2].encode()]


application: Any = app
if os.environ.get("WRAPPED") == "1":
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-82"}))

if FORCE:  # (the worker: its SIGINT handler's, gunicorn's handle_quit, wrapped or not)
    _pool = getattr(signal.getsignal(signal.SIGINT), "__self__").tpool  # noqa: B009
    _pool._work_queue = _Queue(_pool._work_queue)
