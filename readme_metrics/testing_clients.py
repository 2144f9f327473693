"""Whether the request under way comes from a test client that calls the app itself,
around whatever wraps it for its server (werkzeug's, which Flask's ``app.test_client()``
is, WebTest's ``TestApp``, Falcon's ``simulate_*``, httpx's ASGITransport and
WSGITransport): such a request says nothing of how the app is served, so the checks of
:mod:`readme_metrics.unwrapped` and :mod:`readme_metrics.served_bare` wait for the next
one. Only modules already imported are looked at. (Moved out of ``unwrapped``: house56.)
"""

from __future__ import annotations

import sys
from typing import Any

from readme_metrics.frames import frames

__all__ = ["from_test_client"]


#: Test clients that call an app themselves, around whatever wraps it for its server:
#: (module, function on the stack while the app serves their request).
_TEST_CLIENTS = (("werkzeug.test", ("run_wsgi_app",)),  # Flask's test_client() too
                 ("webtest.app", ("TestApp", "do_request")),  # WebTest: Bottle's, Pyramid's
                 ("falcon.testing.client", ("simulate_request",)),  # Falcon's, WSGI and
                 ("falcon.testing.client", ("_simulate_request_asgi",)),  # ASGI
                 ("httpx._transports.asgi", ("ASGITransport", "handle_async_request")),
                 ("httpx._transports.wsgi", ("WSGITransport", "handle_request")))


def from_test_client() -> bool:
    """Whether the request under way comes from a test client (werkzeug's, which Flask's
    ``app.test_client()`` is, WebTest's ``TestApp``, Falcon's ``simulate_*``, httpx's
    ASGITransport and WSGITransport): its call is on this thread's stack, or the awaits
    of this task, or of a task awaiting it. Only modules already imported are looked
    at."""
    codes = []
    for module, path in _TEST_CLIENTS:
        found: Any = sys.modules.get(module)
        for name in path:
            found = getattr(found, name, None)
        code = getattr(found, "__code__", None)
        if code is not None:
            codes.append(code)
    for frame in frames(sys._getframe(1) if codes else None):
        if frame.f_code in codes:
            return True
    return bool(codes) and _awaited_by_another_task(codes)


def _awaited_by_another_task(codes: list[Any]) -> bool:
    """Whether a test client's call awaits in another task: one that runs the app in a
    task of its own, whose stack ends at the task (Falcon's ``ASGIConductor``; httpx's
    ASGITransport before a Starlette ``BaseHTTPMiddleware``, whose ``call_next`` runs the
    rest in a task group: review104, both warned as served bare). Under asyncio, any task
    of the running loop (a task knows no parent); under trio, the task's parents."""
    for coroutine in _other_tasks():
        for _ in range(_DEEPEST):  # (an awaitable of its own making could loop)
            if coroutine is None:
                break
            if getattr(coroutine, "cr_code", getattr(coroutine, "gi_code", None)) in codes:
                return True
            coroutine = getattr(coroutine, "cr_await", getattr(coroutine, "gi_yieldfrom",
                                                                None))
    return False


#: How many awaits down a task's chain are looked at (a test client's is a few dozen in).
_DEEPEST = 256


def _other_tasks() -> list[Any]:
    """The coroutines of the tasks that may await this one: none outside a loop."""
    trio: Any = sys.modules.get("trio")
    try:
        task = trio.lowlevel.current_task() if trio is not None else None
    except RuntimeError:  # (not in trio's loop)
        task = None
    found = []
    for _ in range(_DEEPEST):  # (getattr: a trio without them has no parents)
        if task is None:
            break
        found.append(getattr(task, "coro", None))
        task = getattr(getattr(task, "parent_nursery", None), "parent_task", None)
    asyncio: Any = sys.modules.get("asyncio")
    try:
        loop = asyncio.get_running_loop() if asyncio is not None else None
    except RuntimeError:  # (not in asyncio's loop)
        loop = None
    if loop is not None:
        found.extend(task.get_coro() for task in asyncio.all_tasks(loop))
    return found
