"""Wording shared by the library's log lines and the command's output."""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["counted", "wrong_type"]


def counted(count: int, noun: str, plural: str = "") -> str:
    """``"1 log"``, ``"2 logs"``; ``plural`` where adding an "s" is wrong ("entries")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def wrong_type(name: str, variable: Optional[str], takes: str, value: Any,
               shown: bool = True) -> str:
    """The error for an argument of the wrong Python type: what ``name`` takes (``takes``,
    "a bool (True or False)") and the type given, with ``value`` unless not ``shown`` (a
    secret). A string is what the environment holds, so a string given as an argument
    (``development_mode="false"``) is told where strings are read from instead, and the
    ``...`` of an example copied as it is written (``MetricsApiConfig(...)``) is told
    for what it is."""
    kind = type(value).__name__
    got = f"the {kind} {value!r}" if shown else f"a value of type {kind}"
    if isinstance(value, str) and variable is not None:
        example = f"like {value!r} " if shown else ""
        return (f"readme_metrics: {name} must be {takes}, got {got}; strings {example}are "
                f"read from {variable}")
    label = f"{name} ({variable})" if variable is not None else name
    if value is Ellipsis:  # MetricsApiConfig(...), copied from an example as it is written
        got += (": `...` in the examples stands for your own arguments: leave it out, or "
                "write them out")
    return f"readme_metrics: {label} must be {takes}, got {got}"
