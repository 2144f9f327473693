"""The checks of the ``api_key`` option: what a key may be, and what a key accepted
deserves a warning for.

A key with a blank inside (README's ``<your ReadMe API key>`` pasted as written) is
refused; other placeholders (``rdme_...``, ``YOUR_API_KEY``), a quoted key and a
``module.attribute`` path given first to ``MetricsApiConfig`` are accepted, as the
official package's test suites use such dummy keys, and warned about. No message echoes
the value: were a check ever wrong, it would be a real key. As in
:mod:`readme_metrics.number_checks`, nothing here logs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

from readme_metrics._env import (
    dotenv_where,
    from_dotenv,
    hidden_by_empty,
    names,
    origin,
    set_empty,
)
from readme_metrics._http import shown_url
from readme_metrics._lazy_re import lazy_compile
from readme_metrics._wording import kept_in
from readme_metrics.env_names import names_a_key_variable

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = [
    "KEY_SAID", "PATH_FIRST", "api_key", "api_key_warning", "is_a_dotted_path", "key_said",
    "looks_like_a_placeholder", "names_a_placeholder", "placeholder_warning",
    "stand_in_key_warning",
]


# A whole key that is one of these (lower case, separators removed) was never replaced.
_PLACEHOLDER_WORDS = frozenset((
    "yourapikey", "yourreadmeapikey", "readmeapikey", "apikey", "yourkey", "key",
    "yourapikeyhere", "apikeyhere", "changeme", "placeholder", "todo", "secret", "rdme",
))
_PLACEHOLDER_SHAPES = re.compile(r"(rdme_?)?(x{3,}|\.+|\*+)", re.IGNORECASE)
# A whole Authorization header's value ("Basic cmRtZV94eXo6", "Bearer rdme_xyz"), the
# header's name perhaps pasted with it: group 1 is the scheme, group 2 the credentials.
_AUTHORIZATION_VALUE = lazy_compile(r"(?:authorization\s*:\s*)?(basic|bearer)\s+(\S+)",
                                    re.IGNORECASE)


def _cannot_be_a_key(key: str) -> bool:
    """True for what no key is, real or a dummy: blank, or with a blank inside (the
    README's ``<your ReadMe API key>`` pasted as written). Other placeholder shapes
    (``rdme_...``, SPEC 2's own example; ``rdme_xxxxxxxx``; ``<<apiKey>>``) are dummy keys
    in someone's tests: warned about (:func:`placeholder_warning`), not refused."""
    text = key.strip()
    return not text or any(char.isspace() for char in text)


def looks_like_a_placeholder(key: str) -> bool:
    """True for keys copied from documentation: ``<your ReadMe API key>``, ``rdme_...``.

    Only shapes no real key has (brackets, spaces, ellipses, a template variable, a run of
    x): a key with one is warned about; one with a blank inside is refused (api_key).
    """
    if _cannot_be_a_key(key):
        return True
    text = key.strip()
    if text[0] in "<{[$%" or text[-1] in ">}]" or "..." in text or "\u2026" in text:
        return True
    return _PLACEHOLDER_SHAPES.fullmatch(text) is not None


def names_a_placeholder(key: str) -> bool:
    """True for a whole placeholder word (``YOUR_API_KEY``, ``README_API_KEY``, ``secret``).

    Not refused, only warned about: test suites written for the official package use such
    words as dummy keys (its own build ``MetricsApiConfig("README_API_KEY", ...)``), and
    they must keep running unchanged (SPEC 2). ReadMe refuses such a key with a 401, which
    the delivery reports as well.
    """
    return re.sub(r"[\s_\-.]", "", key.strip().lower()) in _PLACEHOLDER_WORDS


# Said by both errors a newcomer without a ReadMe account meets (no key, the placeholder):
# README's quick starts send such a reader to `readme-metrics collect`, not to turning the
# metrics off. It names a key (any would do): "any key" alone sent the reader who ran
# the quick start with its placeholder back with the placeholder, refused again (review83).
# Both variables `readme-metrics collect` prints: without README_API_URL no answer had an
# x-documentation-url, which README's "See it locally" promises (newcomer38).
NO_KEY_YET = ("no key yet? any key works against the local collector: "
              "`readme-metrics collect`, then README_API_KEY=any-key "
              "README_METRICS_SERVER=http://127.0.0.1:8001 README_API_URL=http://127.0.0.1:8001")


#: The key README's "See it locally" and ``readme-metrics collect`` give an app that sends
#: to the local collector, which takes any key (ReadMe refuses it).
STAND_IN_KEY = "any-key"


def stand_in_key_warning(key: Any, metrics_api: Any) -> list[str]:
    """The start-up warning for README's stand-in key, ``any-key``, sent to ReadMe's own
    Metrics API: ``README_METRICS_SERVER`` was meant for ``readme-metrics collect`` and
    did not reach the app (set in another shell, or without ``export``). Without it, the
    first word was a warning seconds later that the machine "cannot reach
    metrics.readme.io: a firewall ...", or ReadMe's 401 (newcomer29). For a key from the
    environment only (the config checks): tests pass ``api_key="any-key"`` as an argument
    to configs that never send. The stand-in is echoed: it is README's, no one's key."""
    if not (isinstance(key, str) and key.strip().lower() == STAND_IN_KEY):
        return []
    if not (isinstance(metrics_api, str)
            and urlsplit(metrics_api).hostname == "metrics.readme.io"):
        return []
    return [f"readme_metrics: api_key (README_API_KEY) is {STAND_IN_KEY!r}, the stand-in "
            "key for the local collector, `readme-metrics collect`, but the logs go to "
            "ReadMe's Metrics API, metrics_api (README_METRICS_SERVER) "
            f"{shown_url(metrics_api)}, which will refuse it: to see them on the collector, "
            "run the app in a shell with the line the collector prints, `export "
            "README_METRICS_SERVER=http://127.0.0.1:8001 "
            "README_API_URL=http://127.0.0.1:8001` (or put both in a .env file in the "
            "app's working directory); to send to ReadMe, use your project's API key"]


def api_key(option: Option, value: Any) -> str:
    """A key without a blank inside (placeholders without one are only warned about),
    without surrounding blanks."""
    if value is None or value == "":
        raise ValueError(
            f"readme_metrics: api_key is required{_set_empty()}: pass api_key=... or set "
            f"README_API_KEY in the environment or {dotenv_where('README_API_KEY')}; or set "
            "README_METRICS_ENABLED=false to turn metrics off" + _key_variables_set()
            + f"; {NO_KEY_YET}"
        )
    if not isinstance(value, str):
        error = option.wrong_type(value, "a str", shown=False)
        if callable(value):
            # MetricsApiConfig(grouping): the official package's positional order puts
            # api_key first, and the quick starts read the key from README_API_KEY.
            raise ValueError(
                f"{error}: api_key is MetricsApiConfig's first positional argument; name "
                "the function: MetricsApiConfig(grouping_function=...) (the key then "
                "comes from README_API_KEY)")
        raise error
    if _cannot_be_a_key(value):
        # The value is not echoed: were this check ever wrong, it would be a real key.
        kept = kept_in(value)
        if kept is not None and kept.comment:  # 'rdme_... # prod key' (docker run --env-file)
            raise ValueError(f"readme_metrics: {option.label()} "
                             f"{kept.said(False, from_dotenv(option.variable))}")
        authorization = _authorization_value(value)
        if authorization is not None:
            raise ValueError(f"readme_metrics: {option.label()} {authorization}")
        raise ValueError(
            f"readme_metrics: {option.label()} looks like a placeholder (such as "
            "'<your ReadMe API key>'), not a key: use your project's API key from the "
            f"ReadMe dashboard ({NO_KEY_YET})"
        )
    # Stripped as the variable is: a key read from a secrets file ends in a line break.
    return value.strip()


def _authorization_value(value: str) -> Optional[str]:
    """For a key refused for its blank: when it is a whole Authorization header's value
    (``Basic cmRtZV94eXo6``, ``Bearer rdme_xyz``, copied from a curl line or a request
    log) and not a placeholder (``Bearer <token>``), what it is; else None. Called a
    placeholder, it sent the reader hunting for a placeholder in a real key (newcomer26).
    For Basic, SPEC 5's ``Authorization: Basic base64("{api_key}:")``: the key is the
    decoded part before ':'. The credentials are not echoed, nor decoded here."""
    match = _AUTHORIZATION_VALUE.fullmatch(value.strip())
    if match is None:
        return None
    credentials = match.group(2)
    if looks_like_a_placeholder(credentials) or names_a_placeholder(credentials):
        return None
    said = ("is an Authorization header's value (its scheme, then the credentials), not "
            "a key: give the key alone")
    if match.group(1).lower() == "basic":
        return (f"{said}; in 'Basic ...' the credentials are base64(\"<key>:\"), so the key "
                "is the base64-decoded part before ':'")
    return f"{said}, the part after 'Bearer '"


def _set_empty() -> str:
    """For the missing key's error: README_API_KEY set in the environment, but empty (or
    blank), which counts as unset; told to set it, the reader who ran
    ``README_API_KEY=$RDME_KEY python app.py`` believed it set (newcomer23). Not when a
    ``.env`` file has the key: :func:`dotenv_where` says that the empty variable hides it."""
    if not set_empty("README_API_KEY") or any(
            name == "README_API_KEY" for _, name in hidden_by_empty()):
        return ""
    return (", and README_API_KEY is set in the environment but empty, which counts as "
            "unset (given from a shell variable that is not set, as in "
            "README_API_KEY=$KEY?)")


def _key_variables_set() -> str:
    """For the missing key's error: the ``README*``/``RDME*`` variables set whose name says
    key or token (``README_METRICS_API_KEY``, ``README_TOKEN``), too far from
    ``README_API_KEY`` for the near-miss warning. Names only, never values."""
    found = [name for name in names() if names_a_key_variable(name)]
    if not found:
        return ""
    return (f" ({', '.join(found)} {'is' if len(found) == 1 else 'are'} set, but this "
            "library reads the key from README_API_KEY only)")


def placeholder_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a key that is a whole placeholder word (:func:`names_a_placeholder`)
    or has a placeholder's shape (:func:`looks_like_a_placeholder`) and was accepted.

    The value is not echoed, as in the error for a placeholder refused.
    """
    if not (names_a_placeholder(value) or looks_like_a_placeholder(value)):
        return None
    return (f"readme_metrics: {option.label()} looks like a placeholder, not a key: ReadMe "
            "will refuse it; use your project's API key from the ReadMe dashboard")


# A "module.attribute" path, as grouping_function takes ("myapp.metrics.grouping"): no
# ReadMe key has a dot.
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")

#: Said of a path given as the key: README's Django line with ``grouping_function=`` left
#: out, ``MetricsApiConfig("myapp.metrics.grouping")``.
PATH_FIRST = ("api_key was given a 'module.attribute' path, as grouping_function takes "
              "(api_key is MetricsApiConfig's first positional argument): name it, "
              "MetricsApiConfig(grouping_function=...), the key then comes from "
              "README_API_KEY")


def is_a_dotted_path(text: Any) -> bool:
    """True for a ``module.attribute`` path (``myapp.metrics.grouping``)."""
    return isinstance(text, str) and _DOTTED_PATH.fullmatch(text.strip()) is not None


def api_key_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The start-up warning a key accepted deserves: quoted, or a placeholder.

    A key between quotes (``README_API_KEY="rdme_..."`` in a file given to ``docker run
    --env-file``, which keeps them; a YAML value quoted twice) has them as part of the
    value, and ReadMe refuses it with a 401. Warned about, not stripped: a key is opaque
    to the library, which sends what it was given. The value is not echoed.
    (Surrounding blanks, a secrets file's line break, are stripped: no key has them.)
    """
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and (
            value[0] in "\"'"):
        quote = value[0]
        return (f"readme_metrics: {option.label()} starts and ends with a {quote} quote, "
                "which is taken as part of the key: ReadMe will refuse it; remove the "
                "quotes (`docker run --env-file` keeps them as written)")
    if is_a_dotted_path(value):
        return (f"readme_metrics: {option.label()} is a 'module.attribute' path, as "
                "grouping_function takes, not a key: ReadMe will refuse it (given first to "
                "MetricsApiConfig, a path is its api_key; name it, "
                "MetricsApiConfig(grouping_function=...))")
    return placeholder_warning(option, given, value)


#: How a refusal of the key names it where no configuration says more (a sender made
#: by hand, a test's): the variable, as before.
KEY_SAID = "the api_key (README_API_KEY)"


def key_said(passed: bool) -> str:
    """How a refusal of the key (ReadMe's 401 or 403) names it: by where it came from,
    never by its value. ``passed``: given as ``MetricsApiConfig(api_key=...)``.

    A 401 for a key passed in code said "the api_key (README_API_KEY) is wrong", and a
    newcomer with no such variable set looked for one (newcomer33). Read when the
    configuration is made: the ``.env`` file named is the one read then."""
    if passed:
        return "the api_key passed to MetricsApiConfig(api_key=...), not README_API_KEY,"
    where = origin("README_API_KEY")
    return KEY_SAID if where == "the environment" else f"the api_key (README_API_KEY, from {where})"
