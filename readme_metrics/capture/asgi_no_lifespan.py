"""The ASGI middleware served by ``uvicorn --lifespan off``: said at its first request.

uvicorn takes SIGTERM (``kill``, ``docker stop``, a redeploy) in
``Server.capture_signals`` for its graceful shutdown, then puts back the handler it found
(the default one) and raises the signal again: its default action ends the process with
no ``atexit`` and no ``threading`` exit hook, so neither of the library's closes at the
exit (:mod:`readme_metrics.delivery.process`) runs. The lifespan's shutdown is where the
middleware sends what waits (:mod:`.asgi_lifespan`); with ``--lifespan off`` (or
``lifespan="off"``) there is none, and the logs waiting for ``flush_interval`` or
``buffer_length`` are lost (blackbox11: 1 of 1,426; SIGINT is an exit, and sends them).

Nothing in the middleware hears of that stop (the server's ``should_exit`` is not the
app's to see), so it is said: once per middleware, at its first request, when no
lifespan reached it first, the scope is a server's (uvicorn's has a ``state``;
Starlette's ``TestClient``'s has its extension too), and uvicorn's ``Config.load()``
imported ``uvicorn.lifespan.off``, which it does only for ``--lifespan off``. Per
middleware, not per process: a test process serving uvicorn in-process with
``lifespan="off"`` says it for each app it serves so, whatever ran before.

The loss comes of the handler uvicorn puts back being the default action. Where it is a
Python handler, as the middleware is made in the main thread before uvicorn serves
(a gunicorn worker class of uvicorn-worker's ``UvicornWorker`` keeping gunicorn's own
handler, an app's handler set before the middleware), the signal raised again runs it,
Python ends as usual, its exit hooks send what waits: nothing is said there (before
delivery39 the line was said there too, every log delivered; under ``UvicornWorker``
itself, which sets the default action, the loss is real: 0 of 4 delivered, said).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from readme_metrics.delivery import gunicorn_stop

__all__ = ["WITHOUT_LIFESPAN", "LifespanCheck"]

#: The line, and README's Troubleshooting row quotes it.
WITHOUT_LIFESPAN = (
    "readme_metrics: served by uvicorn with --lifespan off: at a SIGTERM (kill, docker "
    "stop, a redeploy) uvicorn ends Python without its exit hooks, and the logs still "
    "waiting for flush_interval then are lost. Serve with the lifespan on (uvicorn's "
    "default, --lifespan auto): the middleware answers it and sends them at the stop")

_OFF = "uvicorn.lifespan.off"

#: The extension Starlette's ``TestClient`` puts in every HTTP scope beside a ``state``
#: (as django_asgi's check reads it): no server's.
_TEST_CLIENT = "http.response.debug"


class LifespanCheck:
    """One middleware's: ``pending`` until a lifespan or its first request came."""

    __slots__ = ("logger", "pending", "kept")

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self.pending = True
        #: SIGTERM has a Python handler of its own as the middleware is made (the one
        #: uvicorn, serving later, puts back and raises the signal into): no loss.
        self.kept = (threading.current_thread() is threading.main_thread()
                     and _own_handler(signal.getsignal(signal.SIGTERM)))

    def lifespan(self) -> None:
        """A lifespan reached the middleware: its shutdown will send the logs."""
        self.pending = False

    def first_request(self, scope: Any) -> None:
        """The first ``http`` scope, no lifespan before it: say the loss if uvicorn
        serves with its lifespan off."""
        self.pending = False
        try:
            if ("state" in scope and _OFF in sys.modules and not self._kept()
                    and _TEST_CLIENT not in (scope.get("extensions") or ())):
                self.logger.warning(WITHOUT_LIFESPAN)
        except Exception:  # never into the app
            pass

    def _kept(self) -> bool:
        """SIGTERM's handler, as the middleware was made, or as the gunicorn worker set
        it (the middleware made in its master: the app's module loaded there, as a
        worker class of its own makes it), is the app's or the server's own."""
        if self.kept:
            return True
        set_term = gunicorn_stop.worker_set_term()
        return set_term is not None and _own_handler(set_term[0])


def _own_handler(handler: Any) -> bool:
    """SIGTERM's ``handler`` is not the default action (a Python handler, SIG_IGN), nor
    uvicorn's own (uvicorn serving already: the middleware made in its
    ``Config.load()``, the handler it will put back unknown here)."""
    try:
        if handler is signal.SIG_IGN:
            return True
        if not callable(handler):
            return False  # (SIG_DFL; None: not set from Python)
        server = getattr(sys.modules.get("uvicorn.server"), "Server", None)
        return not (isinstance(server, type)
                    and isinstance(getattr(handler, "__self__", None), server))
    except Exception:  # never into the app
        return False
