"""The checks of the options that are numbers (counts, sizes, durations) and of the
flags.

Each check validates one option's value (an argument, a parsed environment variable or the
default) and returns it normalised, or raises ``ValueError`` through
:meth:`~readme_metrics.options.Option.invalid`, which names the option and its variable.
What the checks accept is what README's options table says: the words come from the table,
the rules from here.

A value accepted but worth a word (a duration likely in milliseconds) has a ``*_warning``
function that returns the warning; a value refused that shows what it was taken for (a
duration with its unit, proxies' addresses for their count) has a ``*_hint``. Nothing here
logs: the warnings fire while the options are read, before the config's ``logger`` is
known, so the config logs them on that logger once it is.

The checks of the other options live by their job: lists of strings (keys, methods, hosts)
in :mod:`readme_metrics.list_checks`, URLs in :mod:`readme_metrics.url_checks`, the API key
in :mod:`readme_metrics.key_checks`, the grouping function and the logger in
:mod:`readme_metrics.object_checks`.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = [
    "LIKELY_MILLISECONDS", "MAX_SECONDS", "bytes_hint", "count_hint", "flag", "number",
    "seconds_hint", "seconds_warning", "whole", "whole_hint",
]


def whole(minimum: int) -> Callable[[Option, Any], int]:
    """A whole number >= ``minimum`` (``2.0`` counts; ``True`` does not)."""
    def check(option: Option, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise option.wrong_type(value, f"an int >= {minimum}")
        if not math.isfinite(value) or value != int(value) or value < minimum:
            raise option.invalid(value)
        return int(value)
    return check


# What a flag is written as in the environment (environs' bool parser, and common words).
_FLAG_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f"})


def count_hint(option: Option, value: Any) -> str:
    """For ``trusted_proxies`` given as a flag (``README_TRUSTED_PROXIES=true``, ``True``)
    or as the proxies' addresses (``127.0.0.1``, ``10.0.0.0/8``, ``*``, a list, as
    gunicorn's ``--forwarded-allow-ips`` and other frameworks' trusted proxies take them):
    it counts the proxies, as werkzeug's ProxyFix ``x_for``, which a bare "integer >= 0"
    does not say."""
    if isinstance(value, bool) or (isinstance(value, str)
                                   and value.strip().lower() in _FLAG_WORDS):
        return ("it is the number of reverse proxies in front of the app, not a flag "
                "(1 for one load balancer, 0 for none)")
    if _addresses(value):
        return ("it is the number of reverse proxies in front of the app, not their "
                "addresses (1 for one nginx or load balancer, 0 for none)")
    return ""


def _addresses(value: Any) -> bool:
    """Whether ``value`` reads as addresses: ``127.0.0.1``, ``::1``, ``10.0.0.0/8``, ``*``,
    ``proxy.internal``, ``localhost``, several with commas, or a list of such."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return bool(value) and all(isinstance(item, str) and _addresses(item) for item in value)
    if not isinstance(value, str):
        return False
    text = value.strip()
    try:
        float(text)  # 1.5, 1e3: a number, if not a whole one
        return False
    except ValueError:
        pass
    return bool(re.fullmatch(r"[\w.:/*\[\]-]+(\s*,\s*[\w.:/*\[\]-]+)*", text)
                and (re.search(r"[.:/*,]", text) or text.lower() == "localhost"))


# A duration or a size written with its unit, as other tools' settings take them
# (README_FLUSH_INTERVAL=5s, README_TIMEOUT=3000ms, README_MAX_BODY_BYTES=1MB).
_WITH_A_UNIT = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([a-z]+)\s*", re.IGNORECASE)
_SECONDS_IN = {
    **dict.fromkeys(("ms", "msec", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hour", "hours"), 3600.0),
}
_BYTES_IN = {
    **dict.fromkeys(("b", "byte", "bytes"), (1, "")),
    **dict.fromkeys(("k", "kb", "kib"), (1024, "KiB")),
    **dict.fromkeys(("m", "mb", "mib"), (1024 ** 2, "MiB")),
    **dict.fromkeys(("g", "gb", "gib"), (1024 ** 3, "GiB")),
}


def _accepted(option: Option, value: float) -> bool:
    """Whether the option takes ``value``, a number a hint would tell the user to write."""
    try:
        option.check(option, value)
    except ValueError:
        return False
    return True


def _without_the_unit(option: Option, what: str, number: Any, shown: str = "") -> str:
    """"write the number of <what> alone, without a unit: N", or, for a number the option
    refuses as well (``-5s``, ``0ms`` for a timeout, ``100000s``), that it does."""
    text = str(number) if isinstance(number, int) else f"{number:g}"
    if _accepted(option, number):
        return f"write the number of {what} alone, without a unit: {text}{shown}"
    return (f"the number of {what} is written alone, without a unit, and {text}{shown} "
            "is refused too")


# A decimal comma, as a German or French locale writes numbers (README_FLUSH_INTERVAL=0,5).
_DECIMAL_COMMA = re.compile(r"\s*([+-]?\d+),(\d+)\s*")


def seconds_hint(option: Option, value: Any) -> str:
    """For a duration given with its unit (``"5s"``, ``"3000ms"``, ``"1m"``): the number
    of seconds to write instead, which a bare "a number of seconds" leaves to work out
    (or, when that number is out of the option's range as well, that it is). For one
    written with a decimal comma (``"0,5"``): the same number with a point, unless it may
    be a thousands separator (``"1,000"``)."""
    comma = _DECIMAL_COMMA.fullmatch(value) if isinstance(value, str) else None
    # "1,000" may be a thousand written with a separator: no guess then ("0,500" is not).
    if comma is not None and (len(comma.group(2)) != 3 or int(comma.group(1)) == 0):
        meant = f"{comma.group(1)}.{comma.group(2)}"
        if _accepted(option, float(meant)):
            return f"write the number with a decimal point, not a comma: {meant}"
        return ""
    match = _WITH_A_UNIT.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(2).lower() not in _SECONDS_IN:
        return ""
    seconds = float(match.group(1)) * _SECONDS_IN[match.group(2).lower()]
    if not math.isfinite(seconds):  # 400 digits
        return ""
    return _without_the_unit(option, "seconds", seconds)


# A whole number written as a decimal or in scientific notation (10.0, 1e6, 1.5E3), and
# a count written with k for thousands (10k), as other tools' settings take them.
_DECIMAL = re.compile(r"\s*\+?(?:\d+(?:\.\d*)?|\.\d+)(?:e\+?\d+)?\s*", re.IGNORECASE)
_THOUSANDS = re.compile(r"\s*\+?(\d+)\s*k\s*", re.IGNORECASE)


def whole_hint(option: Option, value: Any, thousands: bool = True) -> str:
    """For a whole number written as a decimal (``"10.0"``), in scientific notation
    (``"1e6"``) or, with ``thousands``, with k for a thousand (``"10k"``): the digits to
    write instead, which int() (and so the environment's parser) refuses those as. Only a
    number the option takes."""
    if not isinstance(value, str) or value.strip().lstrip("+").isdigit():
        return ""  # digits already: an argument given as a str ("10"), said as such
    match = _THOUSANDS.fullmatch(value) if thousands else None
    if match is not None:
        number = int(match.group(1)) * 1000
    elif _DECIMAL.fullmatch(value):
        decimal = float(value)
        if not math.isfinite(decimal) or decimal != int(decimal) or decimal >= 2 ** 53:
            return ""  # 2.5; 1e23, whose digits a float does not hold exactly
        number = int(decimal)
    else:
        return ""
    if not _accepted(option, number):
        return ""
    return f"write it as a whole number, in digits alone: {number}"


def bytes_hint(option: Option, value: Any) -> str:
    """For a size given with its unit (``"1MB"``, ``"512k"``): the number of bytes to
    write instead (a KiB counted as 1024 bytes), or that it is out of range as well; for
    one in scientific notation (``"1e6"``), its digits."""
    match = _WITH_A_UNIT.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(2).lower() not in _BYTES_IN:
        return whole_hint(option, value, thousands=False)
    size, unit = _BYTES_IN[match.group(2).lower()]
    if not math.isfinite(float(match.group(1)) * size):  # 400 digits
        return ""
    count = int(float(match.group(1)) * size)
    shown = f" for {match.group(1).lstrip('+')} {unit}" if unit else ""
    return _without_the_unit(option, "bytes", count, shown)


#: The longest duration any option accepts. Past about 292 years (threading.TIMEOUT_MAX)
#: a thread's wait raises OverflowError, which killed the delivery thread; a day is far
#: beyond any sensible batching interval, HTTP timeout or exit flush.
MAX_SECONDS = 86400


def number(minimum: float, exclusive: bool = False) -> Callable[[Option, Any], float]:
    """A finite number of seconds from ``minimum`` (excluded if ``exclusive``) to a day."""
    bounds = (f"> {minimum:g} and <= {MAX_SECONDS}" if exclusive
              else f"from {minimum:g} to {MAX_SECONDS}")

    def check(option: Option, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise option.wrong_type(value, f"an int or a float of seconds {bounds}")
        # NaN and infinity are floats but no duration: a socket timeout cannot be either.
        if not math.isfinite(value):
            raise option.invalid(value)
        if value < minimum or (exclusive and value == minimum) or value > MAX_SECONDS:
            raise option.invalid(value)
        return float(value)
    return check


#: From this many seconds on, a duration is more likely milliseconds written for seconds
#: (``README_FLUSH_INTERVAL=5000``, as JavaScript's timers take them) than meant: 16
#: minutes and more between a log and its POST, for one HTTP call, or for the exit.
LIKELY_MILLISECONDS = 1000


def seconds_warning(effect: str) -> Callable[[Option, Any, Any], Optional[str]]:
    """The warning for a duration accepted at :data:`LIKELY_MILLISECONDS` or more, saying
    ``effect``: what waits that long."""

    def warning(option: Option, given: Any, value: Any) -> Optional[str]:
        if not isinstance(value, float) or value < LIKELY_MILLISECONDS:
            return None
        return (f"readme_metrics: {option.label()} is {value:g} seconds ({value / 60:.0f} "
                f"minutes): {effect}. It is in seconds, not milliseconds: "
                f"{value / 1000:g} for {value:g} ms")
    return warning


# What one writes for an environment's name where a switch is asked (NODE_ENV's, Rails').
_ENVIRONMENT_NAMES = {"development": True, "dev": True, "develop": True, "local": True,
                      "test": True, "testing": True, "staging": False, "stage": False,
                      "production": False, "prod": False, "live": False}


def mode_hint(option: Option, value: Any) -> str:
    """For development_mode given an environment's name (``README_DEVELOPMENT_MODE=
    production``): it is a switch, and which way that name means."""
    meant = (_ENVIRONMENT_NAMES.get(value.strip().lower()) if isinstance(value, str)
             else None)
    if meant is None:
        return ""
    return (f"it is a switch, not the environment's name: {str(meant).lower()} for "
            f"{value.strip()!r} (true marks the logs as development's, false as production's)")


def flag(option: Option, value: Any) -> bool:
    """True or False, nothing else (the environment's text is parsed before)."""
    if not isinstance(value, bool):
        raise option.wrong_type(value, "a bool (True or False)")
    return value
