"""Each option's value: its argument (even None), else its README_* variable, else its default.

Checked and normalised once, for :class:`~readme_metrics.config.MetricsApiConfig`: a value
refused names the option and where it came from (the argument over a variable also set,
the ``.env`` file), with a hint for quotes or a comment a ``.env`` line kept.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

from readme_metrics._env import (
    blamed,
    from_dotenv,
    origin,
    raw,
    read,
)
from readme_metrics._wording import KeptError, env_file_hint
from readme_metrics.options import BY_NAME, OPTIONS, Option

__all__ = ["UNSET", "Unset", "arguments_meant", "checked_value", "from_environment", "resolve",
           "with_aliases"]


class Unset:
    """"Not passed": distinct from None, which is a value an argument can explicitly
    have. Each argument of :class:`MetricsApiConfig` has its own, shown in its signature
    (``help()``, ``inspect.signature``, an IDE's tooltip) as where its value then comes
    from, ``<README_BUFFER_LENGTH or 10>``, rather than as an object's address."""

    __slots__ = ("shown",)

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown


UNSET: Any = Unset("<unset>")


def from_environment(option: Option) -> Any:
    """The option's variable, parsed but not checked, or ``UNSET`` when unset or empty."""
    if option.variable is None:
        return UNSET
    text = raw(option.variable)
    if text is None:
        return UNSET
    try:
        value = read(option.name, option.variable, option.parse, option.expects)
    except ValueError as exc:  # the parser refused the text: the row's hint, if any
        hint = env_file_hint(text, dotenv=from_dotenv(option.variable)) or option.hinted(text)
        if not hint:
            raise
        raise ValueError(f"{exc}: {hint}") from None
    return value.strip() if isinstance(value, str) else value


def checked_value(option: Option, value: Any, warnings: list[str]) -> Any:
    """``value`` checked and normalised; the warning it deserves, if any, to ``warnings``."""
    checked = option.check(option, value)
    if option.warning is not None:
        warning = option.warning(option, value, checked)
        if isinstance(warning, str):
            warnings.append(warning)
        elif warning:
            warnings.extend(warning)
    return checked


#: The options whose argument, set apart from their variable, is said at start-up: the key
#: and the address, which README and ``readme-metrics collect`` have set as variables
#: (newcomer32: a key kept in settings.py's ``api_key=`` and the right one exported as
#: README_API_KEY; ReadMe refused the argument's, and its error names README_API_KEY).
OVERRIDES_SAID = frozenset(("api_key", "metrics_api"))
#: The words of that warning after the option's name.
OVERRIDE_WORDS = "is passed to MetricsApiConfig, and"
#: True within :func:`arguments_meant`.
_MEANT: ContextVar[bool] = ContextVar("readme_metrics_arguments_meant", default=False)


@contextmanager
def arguments_meant() -> Iterator[None]:
    """Configs made within (in this thread or task) leave that warning unsaid: their
    arguments win over the variables on purpose, and their code is no user's
    (``readme-metrics demo``, run in the shell of README's "See it locally"). Before
    newcomer46 the demo dropped the warning by its words with a filter on the library's
    logger, which a reworded warning, or another config's at the same moment, escaped."""
    token = _MEANT.set(True)
    try:
        yield
    finally:
        _MEANT.reset(token)


def _overridden(option: Option, checked: Any) -> list[str]:
    """The warning for an argument that overrides its variable set to another value (names
    only: neither value is said), or none."""
    if option.variable is None or raw(option.variable) is None:
        return []
    try:
        other = checked_value(option, from_environment(option), [])
    except Exception:  # noqa: BLE001 - a variable not used: its own check is not said here
        return []
    if other == checked:
        return []
    return [f"readme_metrics: {option.name} {OVERRIDE_WORDS} "
            f"{option.variable}, set in {origin(option.variable)}, holds another value, "
            f"which is not used: the argument wins over the environment. Leave "
            f"{option.name}= out to use {option.variable}, or pass "
            f"{option.name}=os.environ[\"{option.variable}\"]"]


def resolve(option: Option, given: Mapping[str, Any], warnings: list[str]) -> Any:
    """Argument (even None) > environment > default, checked and normalised."""
    if option.name in given:
        value = given[option.name]
        if value is not None:
            said: list[str] = []  # the argument's own warnings, after the override's
            try:
                checked = checked_value(option, value, said)
            except ValueError as exc:
                if option.variable is None or raw(option.variable) is None:
                    raise
                # The error names the variable too (the house style): set as well, it
                # would be taken for the value refused, and edited to no effect.
                raise ValueError(
                    f"{exc} (from the {option.name} argument, which overrides "
                    f"{option.variable}, set in {origin(option.variable)})"
                ) from exc.__cause__
            if option.name in OVERRIDES_SAID and not _MEANT.get():
                warnings.extend(_overridden(option, checked))
            warnings.extend(said)
            return checked
        try:
            return checked_value(option, option.default, warnings)
        except ValueError:
            if option.variable is None or raw(option.variable) is None:
                raise
            # A required option passed as None while its variable is set: "set
            # README_API_KEY" would send the user after a variable that is already there.
            raise ValueError(
                f"readme_metrics: {option.label()} is required, and {option.name}=None was "
                f"passed, which overrides {option.variable} (set): pass a value, or leave "
                "the argument out to use the variable") from None
    value = from_environment(option)
    if value is UNSET:
        return checked_value(option, option.default, warnings)
    with blamed(option.variable, None):
        try:
            return checked_value(option, value, warnings)
        except ValueError as exc:
            # A value between quotes ("http://...", "app:grouping"), or with a comment
            # after it, that the check refused for them: said, as the parser's refusals
            # are (a list's check says it itself). A URL is not written again (it may
            # hold a password); the key has a warning of its own instead.
            hint = env_file_hint(value, shown=option.parse != "str" or option.name in (
                "grouping_function",), dotenv=from_dotenv(option.variable)
            ) if option.name != "api_key" else ""
            if not hint or isinstance(exc, KeptError):  # (a list's check said it)
                raise
            raise ValueError(f"{exc}: {hint}") from exc.__cause__

def with_aliases(given: dict[str, Any]) -> None:
    """Fold the deprecated ``blacklist``/``whitelist`` into denylist/allowlist, warning."""
    for option in OPTIONS:
        if option.alias_of is None or given.get(option.name) is None:
            continue
        warnings.warn(
            f"readme_metrics: {option.name} is deprecated, use {option.alias_of}",
            DeprecationWarning, stacklevel=3,
        )
        target = BY_NAME[option.alias_of]
        extra = option.check(option, given.pop(option.name))
        current = given.get(target.name)
        given[target.name] = (
            [] if current is None else target.check(target, current)
        ) + extra
