"""A grouping function named by a dotted path (``"myapp.metrics.grouping"``).

The path is imported when the configuration is made, so that a wrong path is an error at
start-up. One case cannot be imported then: Django builds ``README_METRICS_CONFIG`` while
``settings.py`` runs, before it loads its apps, and a grouping module that imports models
(``from .models import ApiKey``, as one that looks the caller up does) raises
``AppRegistryNotReady`` there. Such a path is imported on the first call instead, when
Django is ready; should it fail then, the grouping function's error is reported as any
other (the request is not logged, the app is unaffected).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Callable, Optional

__all__ = ["ImportedOnFirstCall", "import_dotted", "too_early_for_django"]


def import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` or ``"package.module:attr"``."""
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a 'module.attribute' path")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def too_early_for_django(exc: BaseException) -> bool:
    """True for Django's "not ready yet" errors, raised by imports run from settings.py."""
    kind = type(exc)
    return kind.__module__.startswith("django.") and kind.__name__ in (
        "AppRegistryNotReady", "ImproperlyConfigured")


class ImportedOnFirstCall:
    """A grouping function imported by its path when it is first called."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._function: Optional[Callable[[Any], Any]] = None
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        function = self._function
        if function is None:
            with self._lock:  # one import, even when the first requests arrive together
                if self._function is None:
                    self._function = import_dotted(self.path)
                function = self._function
        return function(request)

    def __repr__(self) -> str:
        return f"<grouping function {self.path!r}, imported on its first call>"
