"""Django's ASGI handler cancelled by the server while the view still ran (delivery56).

Django's ASGI handler (Django 5.0+) runs the middleware chain in a task of its own
(``process_request``) and waits for it. When the server cancels the handler (uvicorn's
and hypercorn's graceful timeout at a stop, daphne's stop: "Killed N pending application
instances"), the handler ends and leaves that task running: a sync view's thread goes
on, and when it returns the middleware logged the view's answer (a 200), though the
client had the server's 500 (uvicorn, hypercorn answer it to any app whose call ended
with no response started) or nothing (daphne closes the connection). What Django sends
then goes nowhere.

:func:`handler_gone` tells it (the task no longer waited for: ``asyncio.wait``'s
callback taken off as the handler's wait was cancelled); :func:`server_answer` logs
what the client got, marked as cut, as the ASGI middleware's cancelled call
(:meth:`~readme_metrics.capture.asgi_end.Ending.cancelled`). Before Django 5.0 the
handler awaited the chain itself: the cancellation reached the middleware, which logs
it as the app's 500.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from readme_metrics.capture.asgi_server_quirks import daphne_stopping, loaded_silent_on_cancel

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture

__all__ = ["handler_gone", "server_answer"]

#: The coroutine Django's ``ASGIHandler.handle`` runs the middleware chain in.
_PROCESS_REQUEST = "ASGIHandler.handle.<locals>.process_request"


def handler_gone() -> bool:
    """Whether the running task is Django's handler's ``process_request`` and the
    handler no longer waits for it (cancelled: the server gave up on the call). Called
    on the event loop, in the async chain. Never raises."""
    try:
        task = asyncio.current_task()
        if task is None or getattr(task.get_coro(), "__qualname__", "") != _PROCESS_REQUEST:
            return False
        # The handler's asyncio.wait() adds a done callback to the task and takes it off
        # when its wait ends: cancelled, as nothing else ends it while the task runs.
        return not task._callbacks
    except Exception:  # noqa: BLE001 - an odd loop's task: the usual log
        return False


def server_answer(capture: Capture) -> None:
    """The log says what the client got once the server cancelled Django's handler:
    no answer under daphne's stop, else the server's own 500 (uvicorn, hypercorn).
    Called after the view's answer was recorded (its status quoted in the comment).
    Never raises."""
    try:
        recorder = capture.recorder
        if loaded_silent_on_cancel():
            if daphne_stopping():  # (else an outer layer's cancel: it may answer)
                recorder.no_answer("cancelled the app before its response started",
                                   recorder.status)
            return
        recorder.server_answered(500, "Internal Server Error",
                                 "Django's handler cancelled before the view returned")
    except Exception:  # pragma: no cover - a look at the server must not cost the log
        pass
