"""Django settings that look like this library's but are not read.

The Django middleware reads one setting, ``README_METRICS_CONFIG`` (a
:class:`~readme_metrics.config.MetricsApiConfig`), and the environment. An option written
as a setting of its own (``GROUPING_FUNCTION = "myapp.metrics.grouping"`` or
``README_GROUPING_FUNCTION = ...`` at the top level of settings.py, the variable's name
taken for a setting's) or the configuration under another name (``README_METRICS``) was
left at its default without a word, or, for a required one, refused as missing while the
user could see it set. :func:`unread_settings` names each such setting and the right
place for it, once at start-up (the middleware's first construction) and in the missing
option's error. Names only, never values: the key may be in one.
"""

from __future__ import annotations

import difflib
import os
import sys
from types import SimpleNamespace
from typing import Any, Optional

from readme_metrics.env_names import meant_variable
from readme_metrics.env_warnings import ARGUMENT_NAMES
from readme_metrics.frames import frames
from readme_metrics.options import OPTIONS

__all__ = ["CONFIG_SETTING", "in_settings_being_read", "unread_settings"]

#: The one setting the middleware reads.
CONFIG_SETTING = "README_METRICS_CONFIG"

_OPTION_OF = {option.variable: option.name for option in OPTIONS if option.variable}
# An option's own name upper-cased, as a top-level setting: only those no other package
# or Django itself is likely to use for something else (not API_KEY, TIMEOUT, ENABLED).
_BARE = {"GROUPING_FUNCTION": "grouping_function"}
# Other names one gives the configuration itself (difflib finds the near misses).
_CONFIG_NAMES = frozenset(("README_METRICS", "README_CONFIG", "README_METRICS_SETTINGS",
                           "README_SETTINGS", "README_METRICS_CONFIGURATION",
                           "METRICS_CONFIG", "README_METRICS_API_CONFIG"))


def _option_of(name: str) -> Optional[str]:
    """The option a top-level setting ``name`` was meant to give, or None."""
    if name in _BARE:
        return _BARE[name]
    if name in _OPTION_OF:
        return _OPTION_OF[name]
    meant = meant_variable(name, frozenset(_OPTION_OF), ARGUMENT_NAMES)
    # (an alias's text may go on after the variable: "README_METRICS_ENABLED (the ...")
    return _OPTION_OF.get((meant or "").partition(" ")[0])


def _names_the_config(name: str, value: Any) -> bool:
    """Whether setting ``name`` reads as the configuration misnamed. A name without
    README (``METRICS_CONFIG``, a project's own for its other metrics) only when its
    value is a MetricsApiConfig (review137: such a project was warned at each start)."""
    if name == CONFIG_SETTING:
        return False
    if not name.startswith("README"):
        from readme_metrics.config import MetricsApiConfig

        return name in _CONFIG_NAMES and isinstance(value, MetricsApiConfig)
    return name in _CONFIG_NAMES or bool(difflib.get_close_matches(
        name, [CONFIG_SETTING], n=1, cutoff=0.85))


def _same(value: Any, used: Any) -> bool:
    """Whether a setting's ``value`` is what the configuration uses anyway (settings.py
    read the variable and passed it on: ``api_key=README_API_KEY``), so nothing is lost."""
    if value is used:
        return True
    # The path of a grouping function: kept by one imported on its first call, else its
    # module and name ("module:attr" written with a dot too).
    path = getattr(used, "path", None) or (
        f"{getattr(used, '__module__', '')}.{getattr(used, '__qualname__', '')}")
    try:
        return bool(value == used or (
            isinstance(value, str) and value.replace(":", ".") == path.replace(":", ".")) or (
            isinstance(value, (list, tuple)) and isinstance(used, (list, tuple))
            and list(value) == list(used)))
    except Exception:  # a value whose == raises: not the same
        return False


def unread_settings(settings: Any, config: Any = None) -> list[str]:
    """A sentence (to follow ``readme_metrics: ``) for each top-level setting of
    ``settings`` that reads as an option of this library (or as its configuration under
    another name) and is not read: not for one whose value ``config`` (the configuration
    in use, if any) uses anyway."""
    try:
        names = sorted(name for name in dir(settings) if name.isupper())
    except Exception:  # settings not configured: nothing to say
        return []
    said = []
    for name in names:
        try:
            misnamed = _names_the_config(name, getattr(settings, name, None))
        except Exception:  # a setting whose read raises: not named
            misnamed = False
        if misnamed:
            said.append(f"settings.{name} is not read: the setting is "
                        f"{CONFIG_SETTING} = MetricsApiConfig(...)")
            continue
        option = _option_of(name)
        if option is None or name == CONFIG_SETTING:
            continue
        try:
            if config is not None and _same(getattr(settings, name),
                                            getattr(config, option, None)):
                continue
        except Exception:
            pass
        variable = next((v for v, o in _OPTION_OF.items() if o == option), None)
        where = (f" ({name} is an environment variable, not a Django setting)"
                 if name == variable else "")
        said.append(f"settings.{name} is not read{where}: give the "
                    f"option inside {CONFIG_SETTING} = MetricsApiConfig({option}=...) "
                    "in settings.py"
                    + (f", or export {variable}" if variable else ""))
    return said


def in_settings_being_read() -> str:
    """``"; settings.X is not read: ..."`` for each unread setting above the line of
    settings.py that makes the configuration, when a required option is missing
    (``GROUPING_FUNCTION = ...`` then ``README_METRICS_CONFIG = MetricsApiConfig()``):
    that error comes while Django reads the module, before there is a ``settings``."""
    try:
        module = next((frame.f_globals for frame in frames(sys._getframe(1))
                       if not str(frame.f_globals.get("__name__")).startswith(
                           "readme_metrics")), {})
        if not module or module.get("__name__") != os.environ.get("DJANGO_SETTINGS_MODULE"):
            return ""
        return "".join(f"; {line}" for line in unread_settings(
            SimpleNamespace(**{name: value for name, value in module.items()
                               if name.isupper()})))
    except Exception:  # nothing to add to the error
        return ""
