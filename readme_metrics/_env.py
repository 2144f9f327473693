"""A variable's value read by environs' parsers, a value refused saying where it was read.

What :class:`~readme_metrics.config.MetricsApiConfig` and the companions
(:mod:`readme_metrics.cors_settings`, :mod:`readme_metrics.request_id`) read their
``README_*`` and other variables through. Where the values come from, the process
environment and the working directory's ``.env`` read once, is
:mod:`readme_metrics.env_source`'s (where a value was read, :mod:`readme_metrics.env_origin`'s);
their names are importable from here as before.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

from readme_metrics._wording import KeptError, env_file_hint, wrong_type
from readme_metrics.env_origin import from_dotenv, origin
from readme_metrics.env_parsers import env_error, given_env
from readme_metrics.env_source import (
    dotenv_elsewhere,
    dotenv_where,
    environment,
    hidden_by_empty,
    names,
    not_assigned,
    reset,
    set_empty,
    value,
)

__all__ = ["blamed", "dotenv_elsewhere", "dotenv_where", "environment", "flag",
           "from_dotenv", "hidden_by_empty", "names", "not_assigned", "raw", "read", "reset",
           "set_empty", "setting", "value"]


def takes(variable: str, parse: str, text: str) -> Any:
    """``text`` parsed as ``variable``'s would be, by environs' ``parse`` parser (blanks
    around it ignored, as :func:`read` ignores them); raises ``EnvError`` for a text the
    variable refuses."""
    return getattr(given_env(_as_parsed(parse, text)), parse)(variable)


def _as_parsed(parse: str, text: str) -> str:
    """``text`` as environs' ``parse`` parser is given it: a number or a flag without the
    blanks around it, and a flag in lower case (environs reads ``true``, ``True`` and
    ``TRUE`` but refused ``TrUe``, ``yEs`` or ``oFF``: blackbox19); a str as it is."""
    if parse == "str":
        return text
    return text.strip().lower() if parse == "bool" else text.strip()


def raw(variable: str) -> Optional[str]:
    """The variable's text, or None when it is unset or empty (blank)."""
    text = value(variable)  # what environs' str parser reads, without environs
    if text is None or not text.strip():
        return None
    return text


def read(option: str, variable: str, parse: str, expects: Optional[str] = None) -> Any:
    """The variable parsed by environs' ``parse`` parser (``"int"``, ``"bool"`` ...).

    None when unset or empty. A value the parser refuses raises ``ValueError`` naming the
    option and the variable, and saying what is ``expects``-ed when given.
    """
    text = raw(variable)
    if text is None:
        return None
    if parse == "str":
        return text  # environs' str parser gives the text as it is: no environs needed
    try:
        given = _as_parsed(parse, text)
        if given != text:
            # A line break or blanks around a flag ("true\r": a .env saved with Windows
            # line ends and read by `docker run --env-file` or bash's `source`, which
            # keep the \r) are no part of it, as int() and float() already ignore them;
            # nor is a flag's case.
            return getattr(given_env(given), parse)(variable)
        return getattr(environment(), parse)(variable)
    except env_error():
        problem = f"must be {expects}, got" if expects else "has an invalid value"
        raise ValueError(
            f"readme_metrics: {option} ({variable}) {problem} {text!r} "
            f"(from {origin(variable)})"
        ) from None


@contextmanager
def blamed(variable: Optional[str], given: Any, items: Optional[bool] = None
           ) -> Iterator[None]:
    """Around the check of a value :func:`setting` returned: a ``ValueError`` raised for
    a value read from ``variable`` (``given`` None) ends by saying where it was read, as
    :func:`read` says it of a value its parser refuses. ``items`` (a companion's: whether
    the value is a list): quotes or a comment that it holds are said too, as the main
    configuration says them (:func:`_kept`)."""
    try:
        yield
    except ValueError as exc:
        if given is not None or str(exc).endswith(f" (from {origin(variable)})"):
            raise  # an argument's value, or said already (a nested configuration's)
        hint = "" if items is None else _kept(exc, variable, items)
        raise ValueError(f"{exc}{hint} (from {origin(variable)})") from None


def _kept(exc: ValueError, variable: Optional[str], items: bool = False) -> str:
    """": it is between \" quotes ..." (:func:`env_file_hint`) for a companion's
    ``variable`` whose value was refused (``exc``) and holds quotes or a comment, as
    ``docker run --env-file`` keeps them ("" if it holds neither, or ``exc`` says it)."""
    if isinstance(exc, KeptError) or variable is None:
        return ""
    hint = env_file_hint(raw(variable), items=items, dotenv=from_dotenv(variable))
    return f": {hint}" if hint else ""


def setting(option: str, variable: str, given: Any, parse: str,
            expects: Optional[str] = None) -> Any:
    """``given`` unless it is None, else :func:`read` of the variable (the companions' rule);
    a value the parser refuses holding quotes or a comment is told so (:func:`_kept`)."""
    if given is not None:
        return given
    try:
        return read(option, variable, parse, expects)
    except ValueError as exc:
        hint = _kept(exc, variable)
        if not hint:
            raise
        raise ValueError(f"{exc}{hint}") from None


def flag(option: str, variable: str, given: Any, default: bool) -> bool:
    """:func:`setting` for a true/false option: ``default`` when neither is set, and a
    ``ValueError`` naming the option and the variable for anything but a bool."""
    value = setting(option, variable, given, "bool", "true or false")
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(wrong_type(option, variable, "a bool (True or False)", value))
    return value
