"""Identification: run the user's grouping function and normalise what it returns.

The grouping function is user code running inside the request, so everything it can do
wrong (raise, return the wrong type, return extra keys) is contained here: the request is
simply not logged, and the problem is reported once per distinct message instead of once
per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Callable, Optional

from readme_metrics.exchange import Group

_KNOWN_KEYS = frozenset(("api_key", "id", "label", "email"))


class _OncePerMessage:
    """Logs each distinct message once (bounded, so a flood of distinct ones can't grow)."""

    def __init__(self, logger: logging.Logger, limit: int = 256) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, level: int, message: str) -> None:
        with self._lock:
            if message in self._seen or len(self._seen) >= self._limit:
                return
            self._seen.add(message)
        self._logger.log(level, message)


class Identifier:
    """Calls ``grouping_function(request)`` and returns a :class:`Group` or None."""

    def __init__(self, grouping_function: Callable[[Any], Any], logger: logging.Logger) -> None:
        self._function = grouping_function
        self._report = _OncePerMessage(logger)

    def __call__(self, request: Any) -> Optional[Group]:
        try:
            result = self._function(request)
        except Exception as exc:  # user code: contain everything, the app must not notice
            self._report(
                logging.ERROR,
                "readme_metrics: the grouping function raised "
                f"{type(exc).__name__}: {exc}; the request is not logged",
            )
            return None
        if result is None:
            return None
        return self._normalise(result)

    def _normalise(self, result: Any) -> Optional[Group]:
        if result.__class__ is not dict and not isinstance(result, Mapping):
            self._report(
                logging.ERROR,
                "readme_metrics: the grouping function must return a mapping or None, "
                f"got {type(result).__name__}; the request is not logged",
            )
            return None
        key = result.get("api_key")
        if key is None:
            key = result.get("id")  # the official package's older name
        if key is None or key == "" or isinstance(key, bool):
            self._report(
                logging.ERROR,
                "readme_metrics: the grouping function returned no 'api_key'; "
                "the request is not logged",
            )
            return None
        if not _KNOWN_KEYS.issuperset(result):
            extra = sorted(str(name) for name in result if name not in _KNOWN_KEYS)
            self._report(
                logging.WARNING,
                "readme_metrics: the grouping function returned unknown keys "
                f"{', '.join(extra)}; they are dropped (known: api_key, label, email)",
            )
        label = result.get("label")
        email = result.get("email")
        return Group(
            key if key.__class__ is str else str(key),
            label if label is None or label.__class__ is str else str(label),
            email if email is None or email.__class__ is str else str(email),
        )
