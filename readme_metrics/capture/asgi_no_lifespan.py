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
"""

from __future__ import annotations

import sys
from typing import Any

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

    __slots__ = ("logger", "pending")

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self.pending = True

    def lifespan(self) -> None:
        """A lifespan reached the middleware: its shutdown will send the logs."""
        self.pending = False

    def first_request(self, scope: Any) -> None:
        """The first ``http`` scope, no lifespan before it: say the loss if uvicorn
        serves with its lifespan off."""
        self.pending = False
        try:
            if ("state" in scope and _OFF in sys.modules
                    and _TEST_CLIENT not in (scope.get("extensions") or ())):
                self.logger.warning(WITHOUT_LIFESPAN)
        except Exception:  # never into the app
            pass
