"""What the names of environment variables say: the ``README_*`` variable a near miss
meant (``README_METRIC_SERVER``, ``RAEDME_API_KEY``, ``README_METRICS_TIMEOUT``), and
whether a name set in the environment reads as an API key's (``README_TOKEN``).

The config warns about a near miss at start-up, and the missing key's error names the
key-like variables set; names only, never values. Pure functions over names: reading the
environment is :mod:`readme_metrics._env`'s job.
"""

from __future__ import annotations

import difflib
from typing import Collection, Mapping, Optional

__all__ = ["meant_variable", "names_a_key_variable"]


def names_a_key_variable(name: str) -> bool:
    """Whether the missing key's error names variable ``name`` (set): a ``README*`` or
    ``RDME*`` name, not README_API_KEY, that says key, token or secret."""
    upper = name.upper()
    return (upper.startswith(("README", "RDME")) and name != "README_API_KEY"
            and any(word in upper for word in ("KEY", "TOKEN", "SECRET")))


_PREFIX = "README_"
# Compared without the prefix all share, which would make any two names look alike: 0.8
# takes a letter dropped, doubled or swapped (METRIC_SERVER, DENY_LIST, TIMEOUTS) and
# leaves other ReadMe tools' names alone (README_OAS_KEY is 0.71 from API_KEY).
_CLOSE = 0.8
_METRICS = _PREFIX + "METRICS_"


def meant_variable(name: str, known: Collection[str],
                   aliases: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The variable of ``known`` (all ``README_*``) that ``name`` is a near miss of: the
    same name in another case, the variable ``aliases`` gives for it (in any case), or
    one difflib finds close, or, for ``README_METRICS_X``, the ``README_X`` of ``known``
    (or ``aliases``); for a name not starting with ``README_``, the variable it is with
    ``README`` mistyped (``RAEDME_API_KEY``); None for a name of ``known`` itself, or one
    close to none (another tool's)."""
    upper = name.upper()
    if name in known:
        return None
    if not upper.startswith(_PREFIX):
        return _with_readme_mistyped(upper, known)
    if upper in known:
        return upper
    if aliases and upper in aliases:
        return aliases[upper]
    if upper.startswith(_METRICS):
        # README_METRICS_TIMEOUT: the METRICS_ of README_METRICS_SERVER and _ENABLED put
        # into another option's variable, which has none (silently ignored before).
        plain = _PREFIX + upper[len(_METRICS):]
        if plain in known:
            return plain
        if aliases and plain in aliases:
            return aliases[plain]
    stems = {variable[len(_PREFIX):]: variable for variable in known}
    close = difflib.get_close_matches(upper[len(_PREFIX):], stems, n=1, cutoff=_CLOSE)
    return stems[close[0]] if close else None


def _with_readme_mistyped(upper: str, known: Collection[str]) -> Optional[str]:
    """The variable of ``known`` that ``upper`` is with its ``README`` mistyped:
    ``RAEDME_API_KEY`` (two letters swapped), ``REDME_API_KEY`` (one dropped),
    ``READ_ME_API_KEY`` (split), the rest spelled exactly. Not the rdme CLI's
    ``RDME_API_KEY`` (two letters short), nor a word such as ``READER_``."""
    word = _PREFIX.rstrip("_")
    for variable in known:
        stem = variable[len(_PREFIX):]
        if not upper.endswith("_" + stem):
            continue
        letters = upper[:-len(stem) - 1].replace("_", "")
        dropped = {word[:i] + word[i + 1:] for i in range(len(word))}
        if sorted(letters) == sorted(word) or letters in dropped:
            return variable
    return None
