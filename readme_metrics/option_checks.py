"""The checks of the option table (:data:`readme_metrics.options.OPTIONS`).

Each check validates one option's value (an argument, a parsed environment variable or the
default) and returns it normalised, or raises ``ValueError`` through
:meth:`~readme_metrics.options.Option.invalid`, which names the option and its variable.
What the checks accept is what README's options table says: the words come from the table,
the rules from here.

A value accepted but worth a word (a placeholder key, a URL given with the path the library
adds) has a ``*_warning`` function that returns the warning. Nothing here logs: the
warnings fire while the options are read, before the config's ``logger`` is known, so the
config logs them on that logger once it is.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping, Optional
from urllib.parse import SplitResult, urlsplit

import requests

from readme_metrics._dotted import (
    ImportedOnFirstCall,
    cannot_take_the_request,
    import_dotted,
    too_early_for_django,
)
from readme_metrics._env import dotenv_where, names
from readme_metrics._http import shown_url
from readme_metrics._loopback import is_loopback_url  # also in __all__, as before

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = [
    "MAX_SECONDS", "PATH_FIRST", "api_key", "api_key_warning", "appended_path_warning",
    "count_hint", "flag", "grouping",
    "hosts", "key_separator_warning", "key_url_warnings", "link_userinfo_warning",
    "http_url", "is_a_dotted_path", "is_loopback_url", "logger", "looks_like_a_placeholder",
    "meant_variable",
    "methods", "names_a_placeholder", "number", "placeholder_warning", "strings", "whole",
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


def seconds_hint(option: Option, value: Any) -> str:
    """For a duration given with its unit (``"5s"``, ``"3000ms"``, ``"1m"``): the number
    of seconds to write instead, which a bare "a number of seconds" leaves to work out
    (or, when that number is out of the option's range as well, that it is)."""
    match = _WITH_A_UNIT.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(2).lower() not in _SECONDS_IN:
        return ""
    seconds = float(match.group(1)) * _SECONDS_IN[match.group(2).lower()]
    if not math.isfinite(seconds):  # 400 digits
        return ""
    return _without_the_unit(option, "seconds", seconds)


def bytes_hint(option: Option, value: Any) -> str:
    """For a size given with its unit (``"1MB"``, ``"512k"``): the number of bytes to
    write instead (a KiB counted as 1024 bytes), or that it is out of range as well."""
    match = _WITH_A_UNIT.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(2).lower() not in _BYTES_IN:
        return ""
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


def flag(option: Option, value: Any) -> bool:
    """True or False, nothing else (the environment's text is parsed before)."""
    if not isinstance(value, bool):
        raise option.wrong_type(value, "a bool (True or False)")
    return value


_EMPTY_LIST = re.compile(r"\s*\[\s*\]\s*")


def _bracketed(text: str) -> bool:
    """True when the whole of ``text`` is in brackets, as a list is written in JSON or
    Python (``["a", "b"]``, ``[a,b]``): no key list means that."""
    text = text.strip()
    return text.startswith("[") and text.endswith("]")


def _as_commas(text: str) -> str:
    """How a list written in brackets is written here: ``["a", "b"]`` is ``'a,b'``."""
    items = [item.strip().strip("'\"").strip() for item in text.strip()[1:-1].split(",")]
    listed = ",".join(item for item in items if item)
    return (f"write it without brackets or quotes, {listed!r}" if listed
            else "an empty list is written [] alone")


def _json_list(text: str) -> bool:
    """True when ``text`` is a JSON array (``["a", "b"]``); ``[::1]``, an IPv6 host, is not."""
    if not _bracketed(text):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def strings(normalise: Callable[[str], str] = str,
            listed: Callable[[str], bool] = _bracketed
            ) -> Callable[[Option, Any], list[str]]:
    """A list of strings, or one comma-separated string; each stripped and ``normalise``-d.

    ``listed`` tells a string written as a list (refused)."""
    def check(option: Option, value: Any) -> list[str]:
        # list() of a str would split it into characters: "password" must stay one key.
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(value, str) and _EMPTY_LIST.fullmatch(value):
            # "[]": the empty list, said explicitly. An empty variable means unset (the
            # default), so README_SKIP_METHODS=[] is how the environment says "log every
            # method" (its default, OPTIONS, is the one list default that is not empty).
            return []
        if isinstance(value, str) and listed(value):
            # JSON (["password"]) would be one key named '["password"]' that matches
            # nothing, and [password,token] keys '[password' and 'token]': the denylist
            # would silently redact nothing.
            raise option.invalid(value, hint=_as_commas(value))
        if not isinstance(items, (list, tuple, set, frozenset)) or not all(
                isinstance(item, str) for item in items):
            raise option.wrong_type(value, "a list of str (or one comma-separated str)")
        return [normalise(item.strip()) for item in items if item.strip()]
    return check


# A key list written with another separator than the comma ("password;token", a shell's
# "password token", "id | name") is one key that no field has: the list would redact (or
# keep) nothing. It stays that key, as a JSON key may hold a ';' or a blank, but is said.
# A list written with commas used them: a blank there is its key's own ("first name").
_OTHER_SEPARATOR = re.compile(r"\s*[;|]\s*|\s+")
_OTHER_THAN_BLANK = re.compile(r"\s*[;|]\s*")


def key_separator_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a key list given as text (the environment's, or one string) whose
    keys hold a ';', a '|' or, in a text without a comma, a blank: keys are separated by
    commas."""
    if not isinstance(given, str) or not isinstance(value, list):
        return None
    separator = _OTHER_THAN_BLANK if "," in given else _OTHER_SEPARATOR
    odd = [key for key in value if separator.search(key)]
    if not odd:
        return None
    meant = ",".join(part for key in value for part in separator.split(key) if part)
    return (f"readme_metrics: {option.label()} holds the key {odd[0]!r}: keys are separated "
            f"by commas ({meant!r}), so it is matched as one key, as written, which is "
            "likely no field's name")


# The library appends these paths itself ({metrics_api}/v1/request, {readme_api_url}/v1):
# a URL copied with them would be posted to .../v1/request/v1/request, which answers 404.
# The official package joined them as absolute paths, so such a URL worked there: it is
# taken off (with one warning), so that a configuration that worked keeps working.
_APPENDED_PATHS = {"metrics_api": ("/v1/request", "/v1"), "readme_api_url": ("/v1",)}


def _appended_path(option: Option, url: str) -> Optional[str]:
    """The path the library appends to ``option`` that ``url`` ends in, if any."""
    path = urlsplit(url).path.lower()
    return next((end for end in _APPENDED_PATHS.get(option.name, ()) if path.endswith(end)),
                None)


# In a URL's host or anywhere: a blank (host) or a control character (anywhere) is a typo
# that http.client refuses on every POST, or a host no resolver finds.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# A refused URL's userinfo, up to its last "@" (see _shown_refused).
_REFUSED_USERINFO = re.compile(r"\A((?:[^/?#]*//|[A-Za-z][A-Za-z0-9+.\-]*:/(?!/))?)[\s\S]*@")


def _shown_refused(text: str) -> str:
    """A refused URL ``text`` for its message: masked as :func:`.shown_url` masks a URL,
    but up to its last "@". A password holding an unencoded "/", "?" or "#" (generated
    ones often do) ends the authority early, as urlsplit and browsers read it (the rest
    is a port, a path, a query or a fragment): shown_url, right for a URL that parses,
    would show it. A refused text is no URL to read so: what may be a credential goes."""
    return _REFUSED_USERINFO.sub(r"\1***@", text, count=1) if "@" in text else text


def _host_name_problem(text: str, host: str) -> Optional[str]:
    """Why requests cannot post to the host name ``host`` of ``text``, if it cannot: an
    empty label (``a..b``, ``.a``: retried every batch for ever, each POST failing), or a
    name IDNA refuses (``\u2603.com``: requests' InvalidURL when the transport was made,
    out of ``MetricsMiddleware(app, config)``). IP literals are left to urlsplit, but an
    IPv6 zone id."""
    if ":" in host:  # an IPv6 literal (urlsplit checked it)
        # requests and the direct route alike look "::1%25lo" up as a name: every POST
        # fails ("Name or service not known"), retried for ever.
        return ("its IPv6 address has a zone id (%...), which requests cannot post to"
                if "%" in host else None)
    if not all(host.removesuffix(".").split(".")):  # (a final dot: a fully qualified name)
        return "its host name has an empty label (two dots in a row, or a leading dot)"
    try:
        requests.Request("POST", text).prepare()
    except requests.exceptions.InvalidURL as error:
        # requests quotes the URL in some ("Invalid URL 'http://user:password@...'"):
        # shown as the error shows it, without its user and password.
        shown = _shown_refused(text)
        said = str(error).replace(repr(text), repr(shown)).replace(text, shown)
        userinfo = urlsplit(text).netloc.rpartition("@")[0]
        if userinfo and userinfo in said:
            said = "requests' InvalidURL, its message withheld: it quotes the user info"
        return f"its host name is not valid ({said})"
    except Exception:  # noqa: BLE001 - anything else is left to the first POST to say
        pass
    return None


# A URL followed by another assignment (" README_API_URL=http://..."): the one line that
# ``readme-metrics collect`` prints for a shell's export, copied whole into a .env file.
_TWO_ASSIGNMENTS = re.compile(r"\s+[A-Za-z_][A-Za-z0-9_]*=")


def _before_another_assignment(text: str) -> str:
    """``text`` up to another variable's assignment, if it holds one: what follows is
    another variable's value (``README_API_KEY=rdme_...`` on the same .env line), never
    shown in an error."""
    found = _TWO_ASSIGNMENTS.search(text)
    return text if found is None else f"{text[:found.start()]} ..."


def _url_problem(text: str, parts: SplitResult) -> Optional[str]:
    """Why the http(s) URL ``text`` (split: ``parts``) is no base URL the library can post
    to, if it is not. urlsplit drops tabs and line breaks: ``text`` still has them."""
    if _CONTROL.search(text) or any(char.isspace() for char in parts.netloc):
        if _TWO_ASSIGNMENTS.search(text):  # collect's `export A=... B=...` line, in .env
            return ("it holds a blank and another variable's assignment: each variable "
                    "takes one value, and a .env file one variable a line")
        return "it holds a blank or control character"
    if "\\" in parts.netloc:
        # urlsplit reads the host on past a "\" (to an "@": "https://docs.example.com\@x"
        # is host x to it), browsers read it as "/" and requests' urllib3 ends the host
        # there: the key would go to, or the links name, another host than the checks
        # here and the messages read.
        return "a '\\' follows its host: write '/' (a path's '\\' is %5C)"
    if not parts.hostname:
        return "it names no host"
    try:
        port = parts.port  # ValueError for a port that is no number from 0 to 65535
    except ValueError:
        port = 0
    if port == 0:
        return "its port must be a number from 1 to 65535"
    return _host_name_problem(text, parts.hostname)


def _userinfo_past_the_host(option: Option, parts: SplitResult) -> bool:
    """True for ``http://owl:8001/pass@host``: a password whose "/" follows digits (or
    nothing) reads as a port, the rest as a path. Taken, it posted to host "owl" (the
    key with it), and every message, the repr and base_log_url's links showed the
    password: shown_url masks only an authority's userinfo. The API's URLs have no "@"
    in their path; a docs site's may (a team's page, test_leak4): there, only after a
    host with a port, which is what such a password makes of the user."""
    if "@" not in parts.path:
        return False
    return option.name != "base_log_url" or ":" in parts.netloc.rpartition("]")[2]


def http_url(option: Option, value: Any) -> Optional[str]:
    """An http(s) URL, stripped, without a trailing slash (or the path the library appends
    itself), with a host, a valid port if any, and no query or fragment."""
    if value is None and option.default is None:
        return None
    if not isinstance(value, str):
        raise option.wrong_type(value, "a str (an http(s) URL)")
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1": an unclosed or invalid IP literal
        raise option.invalid(_shown_refused(value), hint="not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise option.invalid(_shown_refused(value), hint=_scheme_hint(text))
    url = text.rstrip("/")
    appended = _appended_path(option, url)
    problem = _url_problem(text, parts)
    if problem is None and ("?" in text or "#" in text):
        # They would end up after the paths the library appends (an empty one too:
        # 'http://host?' posted to '/?/v1/request', whose path is '/').
        problem = (f"give the base URL, without {appended} (the library adds it)"
                   if appended is not None else
                   "a base URL has no query or fragment (the library appends paths to it)")
    if problem is None and _userinfo_past_the_host(option, parts):
        problem = ("an '@' follows its host: a password holding '/', '?' or '#' takes "
                   "them percent-encoded (%2F, %3F, %23), and an '@' of the path %40")
    if problem is not None:
        raise option.invalid(_shown_refused(_before_another_assignment(value)),
                             hint=problem)
    if appended is None:
        return url
    return url[:-len(appended)].rstrip("/")


_SCHEME_ONE_SLASH = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:/")


def _scheme_hint(text: str) -> str:
    """For a URL given without its scheme (``127.0.0.1:8001``, the collector's address
    copied without it): the URL meant, ``http://`` for a loopback host (the collector
    speaks plain HTTP), ``https://`` otherwise; "" when the text is no such address."""
    if "://" in text or not text or text[0] in "/:" or any(c.isspace() for c in text):
        return ""
    if _SCHEME_ONE_SLASH.match(text):  # "http:/host": a scheme, one slash short, not a host
        return ""
    try:
        if not urlsplit(f"http://{text}").hostname:
            return ""
        scheme = "http" if is_loopback_url(f"http://{text}") else "https"
    except ValueError:  # "[": an unclosed IP literal, no address to suggest
        return ""
    meant = f"{scheme}://{text}"
    return f"a URL starts with http:// or https://: did you mean {_shown_refused(meant)!r}?"


def appended_path_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a URL ``given`` with the path the library adds (``value``: without)."""
    appended = (_appended_path(option, given.strip().rstrip("/")) if isinstance(given, str)
                else None)
    if appended is None:
        return None
    return (f"readme_metrics: {option.label()} ends in {appended}, which the library adds "
            f"itself: using {shown_url(value)}")


def plain_http_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for an ``http://`` URL the API key is sent to (``value``: checked) whose
    host is not this machine: the key crosses the network in clear."""
    if not isinstance(value, str) or urlsplit(value).scheme != "http" or (
            is_loopback_url(value)):
        return None
    return (f"readme_metrics: {option.label()} is {shown_url(value)}, plain HTTP to a host "
            "that is not this machine: the API key goes over the network in clear (in the "
            "Authorization header of every request to it); use https://")


def link_userinfo_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a link base URL (``base_log_url``) holding a user and password,
    which the links made from it leave out."""
    if not isinstance(value, str) or "@" not in urlsplit(value).netloc:
        return None
    return (f"readme_metrics: {option.label()} holds a user and password "
            f"({shown_url(value)}): they are left out of x-documentation-url, which every "
            "client receives")


def key_url_warnings(option: Option, given: Any, value: Any) -> tuple[str, ...]:
    """The warnings for a URL the API key is sent to: :func:`appended_path_warning` and
    :func:`plain_http_warning`."""
    return tuple(warning for warning in (appended_path_warning(option, given, value),
                                         plain_http_warning(option, given, value))
                 if warning is not None)


# RFC 9110 5.6.2: a method is a token; "GET POST" (spaces) or "GET;POST" would be one
# method that no request has, so nothing would ever be skipped.
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What a Host header holds: a name or address, maybe a port. A URL, a path or a wildcard
# (Django's ".example.com", "*") would match no Host, and every call would be skipped.
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_\-][a-z0-9_\-.]*)(:[0-9]+)?")


def methods(option: Option, value: Any) -> list[str]:
    """HTTP method names, upper case, each one token."""
    names = strings(str.upper)(option, value)
    for method in names:
        if not _METHOD.fullmatch(method):
            raise option.invalid(value, hint=f"{method!r} is not one method (separate "
                                 "methods with commas)")
    return names


def hosts(option: Option, value: Any) -> list[str]:
    """Host names, lower case, each with or without a port."""
    names = strings(str.lower, _json_list)(option, value)
    for host in names:
        if not _HOST.fullmatch(host):
            raise option.invalid(value, hint=_why_no_host(host))
    return names


def _why_no_host(host: str) -> str:
    """What is wrong with one entry of allowed_http_hosts, naming it (a list may be long)."""
    if "*" in host or host.startswith("."):
        return f"{host!r} is a wildcard, which never matches: list each host"
    netloc = urlsplit(host).netloc if "://" in host else ""
    if netloc:
        return f"{host!r} is a URL: list its host, {netloc!r}"
    if "/" in host:
        return f"{host!r} is not a host name: list the host alone, without a path"
    if host.count(":") > 1:
        return f"{host!r} is not a host name: an IPv6 address goes in brackets, '[::1]'"
    if not host.isascii():
        name, colon, port = host.partition(":")
        try:
            sent = name.encode("idna").decode("ascii") + colon + port
        except UnicodeError:
            return f"{host!r} is not a host name"
        if _HOST.fullmatch(sent):
            # The Host header holds a name as DNS does ("xn--..."): matched as sent.
            return (f"{host!r} is an internationalised name, which clients send in its "
                    f"ASCII form: list {sent!r}")
    return f"{host!r} is not a host name"


# A whole key that is one of these (lower case, separators removed) was never replaced.
_PLACEHOLDER_WORDS = frozenset((
    "yourapikey", "yourreadmeapikey", "readmeapikey", "apikey", "yourkey", "key",
    "yourapikeyhere", "apikeyhere", "changeme", "placeholder", "todo", "secret", "rdme",
))
_PLACEHOLDER_SHAPES = re.compile(r"(rdme_?)?(x{3,}|\.+|\*+)", re.IGNORECASE)


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


def api_key(option: Option, value: Any) -> str:
    """A key without a blank inside (placeholders without one are only warned about),
    without surrounding blanks."""
    if value is None or value == "":
        raise ValueError(
            "readme_metrics: api_key is required: pass api_key=... or set README_API_KEY "
            f"in the environment or {dotenv_where('README_API_KEY')}; or set "
            "README_METRICS_ENABLED=false to turn metrics off" + _key_variables_set()
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
        raise ValueError(
            f"readme_metrics: {option.label()} looks like a placeholder (such as "
            "'<your ReadMe API key>'), not a key: use your project's API key from the "
            "ReadMe dashboard (no key yet? any key works against the local collector: "
            "`readme-metrics collect`, then README_METRICS_SERVER=http://127.0.0.1:8001)"
        )
    # Stripped as the variable is: a key read from a secrets file ends in a line break.
    return value.strip()


def names_a_key_variable(name: str) -> bool:
    """Whether the missing key's error names variable ``name`` (set): a ``README*`` or
    ``RDME*`` name, not README_API_KEY, that says key, token or secret."""
    upper = name.upper()
    return (upper.startswith(("README", "RDME")) and name != "README_API_KEY"
            and any(word in upper for word in ("KEY", "TOKEN", "SECRET")))


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


def grouping(option: Option, value: Any) -> Callable[[Any], Any]:
    """A callable, or the ``module.attribute`` path of one, imported now (see _dotted)."""
    given = value
    if isinstance(value, str):
        path = value.strip()
        try:
            value = import_dotted(path)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(
                f"readme_metrics: {option.label()} cannot import {value!r}: {exc}"
            ) from exc
        except Exception as exc:
            if not too_early_for_django(exc):
                raise
            value = ImportedOnFirstCall(path)  # settings.py runs before Django's apps load
        if isinstance(value, ModuleType):
            raise ValueError(
                f"readme_metrics: {option.label()}: {path!r} is a module: name the "
                f"function in it ({path + '.grouping'!r} for a function named grouping)")
        if not callable(value):
            raise ValueError(
                f"readme_metrics: {option.label()}: {path!r} is not callable (a "
                f"{type(value).__name__}): name a function taking the request")
    if not callable(value):
        if value is not None and not isinstance(given, str):
            raise option.wrong_type(value, "a callable or a str (a 'module.attribute' path)")
        raise ValueError(
            f"readme_metrics: {option.label()} is required and must be {option.expects} "
            "(or set README_METRICS_ENABLED=false to turn metrics off)"
        )
    _takes_the_request(option, value)
    return value


def _takes_the_request(option: Option, function: Callable[..., Any]) -> None:
    """A ``ValueError`` at start-up for a callable that cannot be called with the request
    alone (``def grouping():``): each call would raise a TypeError in this package's own
    frame, which is all its report could name."""
    problem = cannot_take_the_request(function)
    if problem is not None:
        raise ValueError(f"readme_metrics: {option.label()}: {problem}")


def logger(option: Option, value: Any) -> logging.Logger:
    """A ``logging.Logger``; None is the library's own."""
    if value is None:
        return logging.getLogger("readme_metrics")
    if not isinstance(value, logging.Logger):
        raise option.wrong_type(value, "a logging.Logger")
    return value


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
