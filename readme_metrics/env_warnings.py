"""The start-up warnings about the environment itself, not about an option's value: a
``README_*`` variable set that is a near miss of one of ours (or another word for an
option, as the official package or another SDK names it), a ``.env`` line that does not
assign one, one of ours set empty over the ``.env`` file's value, a ``.env`` beside the
app that is not read. Names only, never values (the key may be in one).

:class:`~readme_metrics.config.MetricsApiConfig` says them at construction, on its
logger; reading the environment is :mod:`readme_metrics._env`'s job, what a name is a
near miss of :mod:`readme_metrics.env_names`'.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Collection

from readme_metrics._env import dotenv_elsewhere, hidden_by_empty, names, not_assigned, origin
from readme_metrics.env_names import meant_variable, names_a_key_variable
from readme_metrics.env_source import set_in_the_file_only
from readme_metrics.options import OPTIONS

__all__ = [
    "ARGUMENT_NAMES", "dotenv_beside_the_app", "emptied_variables", "lines_not_assigned",
    "misspelled_variables", "network_variables_in_dotenv",
]

_OPTION_OF = {option.variable: option.name for option in OPTIONS if option.variable}
_VARIABLES = frozenset(_OPTION_OF)
# README_ + an argument's name where its variable is named otherwise (README_METRICS_API
# for metrics_api's README_METRICS_SERVER, README_ENABLED): what the table's first column
# leads one to write, and too far from the variable for difflib.
ARGUMENT_NAMES = {f"README_{option.name.upper()}": option.variable for option in OPTIONS
                   if option.variable and option.variable != f"README_{option.name.upper()}"}
# Other names one guesses for the Metrics API's address (none is another ReadMe tool's).
# Not README_URL, README_HOST or README_API_BASE_URL: a project's own names for other
# things (its README's link) or as near the docs site's README_API_URL.
ARGUMENT_NAMES.update(dict.fromkeys(("README_METRICS_URL", "README_METRICS_HOST",
                                      "README_METRICS_API_URL", "README_SERVER",
                                      "README_METRICS_ENDPOINT", "README_ENDPOINT",
                                      "README_METRICS_BASE_URL"), "README_METRICS_SERVER"))
# odds3: the local collector's words (the docs call `readme-metrics collect` the
# collector, and README_METRICS_SERVER is pointed at it) and the Metrics API's with
# API_/URL/ADDRESS words; README_URL and README_HOST stay out (above), and so do names
# without README_ (METRICS_SERVER, METRICS_URL: a Prometheus or StatsD setup's own).
ARGUMENT_NAMES.update(dict.fromkeys(("README_COLLECTOR", "README_COLLECTOR_URL",
                                      "README_COLLECTOR_HOST", "README_METRICS_COLLECTOR",
                                      "README_METRICS_COLLECTOR_URL", "README_SERVER_URL",
                                      "README_METRICS_ADDRESS", "README_METRICS_URI",
                                      "README_METRICS_API_HOST", "README_METRICS_API_ENDPOINT",
                                      "README_METRICS_API_BASE_URL"), "README_METRICS_SERVER"))
# The official package's names for options (its arguments blacklist/whitelist, its
# upper-case attributes) and other words for an option's noun, as one coming from it or
# from another SDK writes them: too far from the variable for difflib, and silently
# ignored before (README_BUFFER_SIZE=1 left batches of 10).
ARGUMENT_NAMES.update({
    "README_BLACKLIST": "README_DENYLIST", "README_WHITELIST": "README_ALLOWLIST",
    "README_IS_BACKGROUND_MODE": "README_BACKGROUND_WORKER_MODE",
    "README_METRICS_API_TIMEOUT": "README_TIMEOUT",
    "README_BUFFER_SIZE": "README_BUFFER_LENGTH", "README_BATCH_SIZE": "README_BUFFER_LENGTH",
    "README_DEV_MODE": "README_DEVELOPMENT_MODE", "README_MAX_BODY_SIZE": "README_MAX_BODY_BYTES",
    "README_GROUPING": "README_GROUPING_FUNCTION", "README_GROUPING_FN": "README_GROUPING_FUNCTION",
    "README_ENABLE": "README_METRICS_ENABLED",
    # newcomer9's guesses: a noun left out, a unit added, another word for the list, the
    # argument metrics_api with METRIC for METRICS
    "README_MAX_QUEUE": "README_MAX_QUEUE_SIZE", "README_TIMEOUT_SECONDS": "README_TIMEOUT",
    "README_BLOCKLIST": "README_DENYLIST", "README_METRIC_API": "README_METRICS_SERVER",
})
# A debug switch or log level one looks for: there is none (development_mode is the
# nearest name, and means something else), and the library's logger is the app's to turn on.
ARGUMENT_NAMES.update(dict.fromkeys(
    ("README_DEBUG", "README_METRICS_DEBUG", "README_LOG_LEVEL", "README_METRICS_LOG_LEVEL",
     "README_VERBOSE"),
    "README_DEVELOPMENT_MODE (which marks the logs as development's; there is no debug "
    "or log level variable: the library logs to logging.getLogger('readme_metrics') and adds no "
    "handler, so turn it on with logging.getLogger('readme_metrics').setLevel(logging.DEBUG) "
    "and logging.basicConfig())"))
# The opposite of the variable: the value is turned round too (README_DISABLED=true
# copied as README_METRICS_ENABLED=true would keep metrics on). README_METRICS_DISABLED
# is close enough for difflib, which named the variable without turning it round.
ARGUMENT_NAMES.update({
    name: f"README_METRICS_ENABLED (the opposite: {name}=true is README_METRICS_ENABLED=false)"
    for name in ("README_DISABLED", "README_DISABLE", "README_METRICS_DISABLED",
                 "README_METRICS_DISABLE")})


# The early warnings below come as (repeated, message): repeated is True for a warning
# that the missing key's error says again (README_API_KEY's line in .env with ':' for
# '=', README_API_KEY set empty over the file's value, README_APIKEY set): where that
# error comes, such a warning only doubled it (see MetricsApiConfig.__init__).


def misspelled_variables() -> list[tuple[bool, str]]:
    """A warning for each ``README_*`` variable set that is a near miss of one of ours
    (``README_METRIC_SERVER``): ignored, it would leave its option at the default without
    a word. Names only, never values (the key may be in one)."""
    return [(meant == "README_API_KEY" and names_a_key_variable(name),
             f"readme_metrics: {name} (set in {origin(name)}) is no variable of this "
             f"library and is ignored: did you mean {meant}?")
            for name in names()
            if (meant := meant_variable(name, _VARIABLES, ARGUMENT_NAMES))]


def lines_not_assigned() -> list[tuple[bool, str]]:
    """A warning for each line of the ``.env`` file that starts with one of our variables
    (or a near miss) but does not assign it (``README_API_KEY: rdme_...``): python-dotenv
    skips it, or takes the whole line for a name, and the option keeps its default. The
    line's number and the name only: the rest of it is the value, often the key."""
    return [(name == "README_API_KEY",
             f"readme_metrics: line {number} of {file} is no {name}=value (a ':' or a "
             f"blank where '=' belongs?), so it does not set {name}: write {name}=<the "
             "value>")
            for file, number, name in not_assigned()
            if name in _VARIABLES or meant_variable(name, _VARIABLES, ARGUMENT_NAMES)]


def emptied_variables(given: Collection[str]) -> list[tuple[bool, str]]:
    """A warning for each of our variables that the ``.env`` file sets and the
    environment sets empty: the empty one wins and means unset, so the option keeps its
    default although the file gives it a value. Not for an option ``given`` as an
    argument, which wins over both. Names only."""
    return [(name == "README_API_KEY",
             f"readme_metrics: {name} is set empty in the environment, which wins over "
             f"its value in {file}, so that value is not used: unset {name} in the "
             "environment (or give it the value there)")
            for file, name in hidden_by_empty()
            if name in _VARIABLES and _OPTION_OF[name] not in given]


def dotenv_beside_the_app(grouping_function: Any, given: Collection[str]) -> list[str]:
    """The warning for a ``.env`` beside the grouping function's module (the app's) that
    is not read because the app runs from another directory, which has none
    (:func:`~readme_metrics._env.dotenv_elsewhere`). Names only; not those of options ``given`` as
    arguments (an app that reads that file itself and passes its values)."""
    try:
        name = getattr(grouping_function, "__module__", None) or ""
        if name.partition(".")[0] == "readme_metrics":
            return []  # a path imported on the first call (Django's): the app's unknown
        module = sys.modules.get(name)
        directory = os.path.dirname(os.path.abspath(module.__file__))  # type: ignore[union-attr,arg-type]
        found = dotenv_elsewhere(directory, [name for name in _VARIABLES
                                                  if _OPTION_OF[name] not in given])
    except Exception:  # no module, no file (a lambda in a REPL, a builtin): nothing said
        return []
    if found is None:
        return []
    file, variables, here = found
    verb = "is" if len(variables) == 1 else "are"
    return [f"readme_metrics: {file} sets {', '.join(variables)}, which {verb} not read from it: "
            f"the .env file read is the working directory's ({here}, which has "
            f"none): run the app from {directory}, or move the file to the working "
            "directory"]


# What requests reads from the process environment when the middleware starts (its proxies
# and certificate bundles), in the spellings it reads: a .env file is not the environment.
_NETWORK_VARIABLES = frozenset(
    spelling for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for spelling in (name, name.lower())) | {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}


def network_variables_in_dotenv() -> list[str]:
    """The warning for proxy and certificate variables that the ``.env`` file sets and
    the environment does not: the library reads only its own options from the file, and
    requests reads these from ``os.environ``, so they do nothing (newcomer31: the
    collector's banner offers a .env file for README_METRICS_SERVER, and a NO_PROXY put
    there beside it left every POST going to the proxy, whose warning said to set
    NO_PROXY). Names only. Under ``flask run``, which loads the file into the
    environment, nothing is said."""
    file, variables = set_in_the_file_only(_NETWORK_VARIABLES)
    if not variables:
        return []
    listed = ", ".join(variables)
    verb = "is" if len(variables) == 1 else "are"
    return [f"readme_metrics: {file} sets {listed}, which {verb} not applied: the library "
            "reads only its own README_* variables from a .env file, and the proxies and "
            "certificates of its POSTs come from the process environment: export "
            f"{variables[0]}=... in the app's shell (or load the file into the environment, "
            "python-dotenv's load_dotenv(), before the app is made)"]
