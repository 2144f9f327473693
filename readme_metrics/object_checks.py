"""The checks of the options given as Python objects: ``grouping_function`` (a callable,
or the ``module.attribute`` path of one, imported at start-up) and ``logger``.

A grouping function that cannot be called with the request alone is refused at start-up,
not at each request, where the TypeError would name only this package's frame.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from readme_metrics.dotted_path import import_dotted
from readme_metrics.grouping_import import ImportedOnFirstCall, too_early_for_django
from readme_metrics.grouping_signature import cannot_take_the_request

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = ["grouping", "grouping_hint", "logger"]


def grouping(option: Option, value: Any) -> Callable[[Any], Any]:
    """A callable, or the ``module.attribute`` path of one, imported now (see dotted_path)."""
    given = value
    if isinstance(value, str):
        path = value.strip()
        try:
            value = import_dotted(path)
        except (ImportError, AttributeError, ValueError) as exc:
            if isinstance(exc, ValueError) and str(exc).startswith(
                    f"readme_metrics: {option.label()}"):
                # The module imported made its own configuration, which failed on this
                # option first (`python app.py` naming app:...: app.py runs again as
                # 'app'): that error, already complete, is said once, not wrapped.
                raise
            raise ValueError(
                f"readme_metrics: {option.label()} cannot import {value!r}: {exc}"
            ) from exc
        except Exception as exc:
            if not too_early_for_django(exc):
                raise
            value = ImportedOnFirstCall(path)  # settings.py runs before Django's apps load
        if isinstance(value, ModuleType):
            raise ValueError(
                f"readme_metrics: {option.label()}: {path!r} is a module: name the "
                f"function in it ({path + '.grouping'!r} for a function named grouping)")
        if not callable(value):
            raise ValueError(
                f"readme_metrics: {option.label()}: {path!r} is not callable (a "
                f"{type(value).__name__}): name a function taking the request")
    if not callable(value):
        if value is not None and not isinstance(given, str):
            raise option.wrong_type(value, "a callable or a str (a 'module.attribute' path)")
        raise ValueError(
            f"readme_metrics: {option.label()} is required and must be {option.expects} "
            "(or set README_METRICS_ENABLED=false to turn metrics off)"
        )
    _takes_the_request(option, value)
    return value


def grouping_hint(option: Option, value: Any) -> str:
    """What to do about a mapping given as the grouping function: it is what one returns,
    so the function was called where it is named (``grouping_function=grouping(None)``,
    ``grouping_function=grouping()``): a start-up error said only "must be a callable"."""
    if isinstance(value, Mapping):
        return ("that is what a grouping function returns: pass the function itself, "
                "without parentheses (grouping_function=grouping, not grouping(...))")
    return ""


def _takes_the_request(option: Option, function: Callable[..., Any]) -> None:
    """A ``ValueError`` at start-up for a callable that cannot be called with the request
    alone (``def grouping():``): each call would raise a TypeError in this package's own
    frame, which is all its report could name."""
    problem = cannot_take_the_request(function)
    if problem is not None:
        raise ValueError(f"readme_metrics: {option.label()}: {problem}")


def logger(option: Option, value: Any) -> logging.Logger:
    """A ``logging.Logger``; None is the library's own."""
    if value is None:
        return logging.getLogger("readme_metrics")
    if not isinstance(value, logging.Logger):
        raise option.wrong_type(value, "a logging.Logger")
    return value
