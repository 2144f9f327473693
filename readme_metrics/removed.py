"""The official 3.x package's modules that version 4 removed, each saying where to go.

``import readme_metrics.util`` (or ``from readme_metrics import PayloadBuilder``) stopped
with a bare ``ModuleNotFoundError: No module named 'readme_metrics.util'``, as if the
install were broken (newcomer46). Each of the official package's modules that is gone
(docs/MIGRATING.md names them) now raises :class:`RemovedModuleError`, still a
``ModuleNotFoundError``, naming the module and MIGRATING.md, and what replaces it where
something does. Only these names: any other missing module fails as Python says it, and
the official paths that stay (``readme_metrics.MetricsApiConfig``,
``readme_metrics.MetricsMiddleware``, ``readme_metrics.VerifyWebhook``, the adapters) are
real modules, found before this finder is asked.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence

__all__ = ["REMOVED", "RemovedAttributeError", "RemovedModuleError", "install", "removed_error",
           "removed_attribute"]

#: The official package's removed modules (under ``readme_metrics.``), and what to use.
REMOVED = {
    "Metrics": "the middlewares queue and send the logs themselves "
               "(MetricsMiddleware's flush(), close() and stats)",
    "PayloadBuilder": "the logs are built inside the middlewares; see what is sent with "
                      "`readme-metrics collect`",
    "publisher": "delivery runs on the middleware's background sender "
                 "(MetricsMiddleware's flush() sends what waits now)",
    "util": "the caller's key is masked for you in every log; loggers: "
            "MetricsApiConfig(logger=...)",
    "GetProjectBaseUrl": "set base_log_url (README_BASE_LOG_URL), or leave it out to have "
                         "it looked up",
    "ResponseInfoWrapper": "the middlewares record the response themselves",
}

_PACKAGE = "readme_metrics"


class RemovedModuleError(ModuleNotFoundError):
    """A module of the official 3.x package that version 4 removed was imported."""


class RemovedAttributeError(AttributeError):
    """Such a module read as the package's attribute (``readme_metrics.util``): an
    ``AttributeError``, so that ``hasattr(readme_metrics, "util")`` is False and
    ``getattr(readme_metrics, "util", None)`` None, as for any missing attribute."""


def removed_error(name: str) -> RemovedModuleError:
    """The error for ``readme_metrics.<name>``, one of :data:`REMOVED`. Its ``name`` is
    None, not the module's: ``from readme_metrics import util`` looks for the module
    (hasattr False) and Python's import drops a ModuleNotFoundError named as the module
    it looked for, then says only "cannot import name 'util'"."""
    return RemovedModuleError(_said(name))


def _said(name: str) -> str:
    full = f"{_PACKAGE}.{name}"
    return (
        f"{full} was a module of the official readme-metrics 3.x package, and this "
        f"version 4 has none: {REMOVED[name]}. Code that imports it reached into the "
        "official package's internals: docs/MIGRATING.md, \"The official package's "
        "undocumented internals are gone\" (to keep them, stay on the official package: "
        "pip install 'readme-metrics<4')")


def removed_attribute(name: str) -> RemovedAttributeError:
    """The error for the package's attribute ``name``, one of :data:`REMOVED`."""
    return RemovedAttributeError(_said(name))


class _RemovedFinder:
    """A meta path finder asked last: raises :func:`removed_error` for the removed
    modules' names, and finds nothing else."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Any = None) -> None:
        package, _, name = fullname.partition(".")
        if package == _PACKAGE and name in REMOVED:
            raise removed_error(name)
        return None

    def invalidate_caches(self) -> None:
        pass


def install() -> None:
    """Put the finder last on ``sys.meta_path``, once per process (a reloaded package
    adds no second one)."""
    if not any(type(finder).__qualname__ == _RemovedFinder.__qualname__
               and type(finder).__module__ == __name__ for finder in sys.meta_path):
        sys.meta_path.append(_RemovedFinder())
