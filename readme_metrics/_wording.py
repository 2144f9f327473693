"""Wording shared by the library's log lines and the command's output."""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["counted", "quotes_hint", "wrong_type"]


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


_QUOTES = "\"'"


def quotes_hint(text: object, shown: bool = True, items: bool = False) -> str:
    """For a value written between quotes (``"false"``, ``'5'``): that the quotes are part
    of it, and the value without them (unless not ``shown``: a URL may hold a password);
    "" for any other value. ``items``: a comma-separated list, each of whose items may be
    quoted too (``"password","token"`` is written ``'password,token'``).

    The quotes come from a file of variables read by something that keeps them:
    ``docker run --env-file`` takes every line as written, where a ``.env`` file read by
    the library (python-dotenv) has them removed."""
    if not isinstance(text, str):
        return ""
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] not in _QUOTES or stripped[-1] != stripped[0]:
        return ""
    quote = stripped[0]
    inner = stripped[1:-1].strip()
    if items:
        inner = ",".join(item.strip().strip(_QUOTES).strip() for item in inner.split(","))
    said = f", {inner!r}" if shown else ""
    return (f"it is between {quote} quotes, which are part of the value where nothing "
            f"removes them (`docker run --env-file` keeps them as written): write it "
            f"without them{said}")
