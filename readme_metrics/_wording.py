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
    (``development_mode="false"``) is told where strings are read from instead."""
    kind = type(value).__name__
    got = f"the {kind} {value!r}" if shown else f"a value of type {kind}"
    if isinstance(value, str) and variable is not None:
        example = f"like {value!r} " if shown else ""
        return (f"readme_metrics: {name} must be {takes}, got {got}; strings {example}are "
                f"read from {variable}")
    label = f"{name} ({variable})" if variable is not None else name
    return f"readme_metrics: {label} must be {takes}, got {got}"
