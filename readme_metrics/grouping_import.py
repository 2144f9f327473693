"""A grouping function's dotted path (``"myapp.metrics.grouping"``) imported on its first
call, when it could not be imported at start-up.

The path is imported when the configuration is made, so that a wrong path is an error at
start-up. One case cannot be imported then: Django builds ``README_METRICS_CONFIG`` while
``settings.py`` runs, before it loads its apps, and a grouping module that imports models
(``from .models import ApiKey``, as one that looks the caller up does) raises
``AppRegistryNotReady`` there. Such a path is imported on the first call instead, when
Django is ready. Should that fail, the call raises :class:`NotImported`, which the
grouping call reports once (the request is not logged, the app is unaffected), and the
import is not run on every request:

- Django still not ready is the one failure that passes by itself (a request served before
  ``django.setup()`` has finished): the import is tried again after 1, 2, 4 ... seconds,
  at most a minute apart.
- Any other failure is for good: the code on disk does not change under a running
  process, and importing a module runs its top-level code again (its cost, its side
  effects, half-made state) for an error that is known already. It stays until restart.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable, Optional

from readme_metrics.dotted_path import import_dotted
from readme_metrics.grouping_signature import cannot_take_the_request

__all__ = ["FIRST_RETRY", "LONGEST_RETRY", "ImportedOnFirstCall", "NotImported",
           "too_early_for_django"]

#: Seconds before the first retry of an import Django was not ready for, and the most
#: between two retries (the wait doubles from one to the other).
FIRST_RETRY = 1.0
LONGEST_RETRY = 60.0


def _with_semicolon(problem: Optional[str]) -> Optional[str]:
    return None if problem is None else f"{problem}; "


def too_early_for_django(exc: BaseException) -> bool:
    """True for Django's "not ready yet" errors, raised by imports run from settings.py."""
    kind = type(exc)
    return kind.__module__.startswith("django.") and kind.__name__ in (
        "AppRegistryNotReady", "ImproperlyConfigured")


class NotImported(Exception):
    """The grouping function's path did not import on its first call; the message says
    why (names and the import error's text, never request data) and what happens next."""


def _why(exc: BaseException) -> str:
    """The failure in a few words: an import error's text names modules and attributes;
    any other error's may be anything the module held, so only its type and place."""
    kind = type(exc).__name__
    if isinstance(exc, (ImportError, AttributeError)):
        return f"{kind}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{kind} at {frames[-1].filename}:{frames[-1].lineno}" if frames else kind


class ImportedOnFirstCall:
    """A grouping function imported by its path when it is first called."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._function: Optional[Callable[[Any], Any]] = None
        self._lock = threading.Lock()
        self._failure: Optional[str] = None  # why the last import failed
        self._retry_at: Optional[float] = None  # None with a failure: never again
        self._retry_wait = FIRST_RETRY

    def __call__(self, request: Any) -> Any:
        function = self._function
        if function is None:
            function = self._import()
        return function(request)

    def _import(self) -> Callable[[Any], Any]:
        """The function, imported now if due; raises :class:`NotImported` otherwise."""
        with self._lock:  # one import, even when the first requests arrive together
            if self._function is not None:
                return self._function
            if self._failure is not None and (self._retry_at is None
                                              or self._clock() < self._retry_at):
                raise NotImported(self._failure)
            try:
                function = import_dotted(self.path)
            except Exception as exc:
                self._failed(exc)
                raise NotImported(self._failure) from exc
            problem = (f"{self.path!r} is not callable: " if not callable(function)
                       else _with_semicolon(cannot_take_the_request(function)))
            if problem is not None:
                self._failure = f"the grouping function {problem}requests are not logged"
                self._retry_at = None
                raise NotImported(self._failure)
            self._function = function
            return function

    def _failed(self, exc: Exception) -> None:
        """Note why the import failed, and when (if ever) to try again."""
        if too_early_for_django(exc):
            self._failure = (f"the grouping function {self.path!r} could not be imported "
                             f"yet ({type(exc).__name__}: Django's apps are not loaded): "
                             "requests are not logged until it is; it is tried again "
                             "after a backoff")
            self._retry_at = self._clock() + self._retry_wait
            self._retry_wait = min(self._retry_wait * 2, LONGEST_RETRY)
        else:
            self._failure = (f"the grouping function {self.path!r} could not be imported "
                             f"({_why(exc)}): requests are not logged; it is not imported "
                             "again until the process restarts")
            self._retry_at = None

    def __repr__(self) -> str:
        return f"<grouping function {self.path!r}, imported on its first call>"
