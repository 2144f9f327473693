"""The options of :class:`readme_metrics.MetricsApiConfig`, as one table.

Each :class:`Option` row says everything about one option: its argument name, its
environment variable, how the variable's text is parsed, its default, the check that
validates and normalises a value (and words the error), and the line README shows. The
constructor, the environment parsing, the error messages and README's options table
(:func:`markdown_table`, checked against README by the tests) all come from :data:`OPTIONS`,
so they cannot drift apart.

Print README's table with
``python -c "from readme_metrics.options import markdown_table; print(markdown_table())"``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from readme_metrics._dotted import ImportedOnFirstCall, import_dotted, too_early_for_django
from readme_metrics._logging import LogLimiter

__all__ = ["OPTIONS", "Option", "is_loopback_url", "markdown_table"]


@dataclass(frozen=True)
class Option:
    """One row of the table: an argument of ``MetricsApiConfig`` and its variable."""

    name: str
    variable: Optional[str]
    #: environs parser for the variable's text: "str", "int", "float" or "bool".
    parse: str
    default: Any
    #: what a valid value is, for error messages ("an integer >= 1").
    expects: str
    #: validates a value (argument, parsed variable or default) and returns it normalised;
    #: raises ``ValueError`` (through :meth:`invalid`) otherwise.
    check: Callable[[Option, Any], Any]
    #: the default as README shows it.
    shown_default: str
    doc: str
    #: for deprecated aliases: the option whose list this one extends.
    alias_of: Optional[str] = None

    def label(self) -> str:
        """``name (VARIABLE)``, the way every message names an option."""
        return f"{self.name} ({self.variable})" if self.variable else self.name

    def invalid(self, value: Any, source: str = "", hint: str = "") -> ValueError:
        """The error for a value that fails this option's check (``hint``: why, if known)."""
        return ValueError(
            f"readme_metrics: {self.label()} must be {self.expects}, got {value!r}{source}"
            + (f": {hint}" if hint else "")
        )


# -- checks ----------------------------------------------------------------------------


def _whole(minimum: int) -> Callable[[Option, Any], int]:
    def check(option: Option, value: Any) -> int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value != int(value) or value < minimum):
            raise option.invalid(value)
        return int(value)
    return check


#: The longest duration any option accepts. Past about 292 years (threading.TIMEOUT_MAX)
#: a thread's wait raises OverflowError, which killed the delivery thread; a day is far
#: beyond any sensible batching interval, HTTP timeout or exit flush.
MAX_SECONDS = 86400


def _number(minimum: float, exclusive: bool = False) -> Callable[[Option, Any], float]:
    def check(option: Option, value: Any) -> float:
        # NaN and infinity are floats but no duration: a socket timeout cannot be either.
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value)):
            raise option.invalid(value)
        if value < minimum or (exclusive and value == minimum) or value > MAX_SECONDS:
            raise option.invalid(value)
        return float(value)
    return check


def _flag(option: Option, value: Any) -> bool:
    if not isinstance(value, bool):
        raise option.invalid(value)
    return value


def _strings(normalise: Callable[[str], str] = str) -> Callable[[Option, Any], list[str]]:
    def check(option: Option, value: Any) -> list[str]:
        # list() of a str would split it into characters: "password" must stay one key.
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(value, str) and _json_list(value):
            # JSON (["password"]) would be one key named '["password"]' that matches
            # nothing: the denylist would silently redact nothing.
            raise option.invalid(value)
        if not isinstance(items, (list, tuple, set, frozenset)) or not all(
                isinstance(item, str) for item in items):
            raise option.invalid(value)
        return [normalise(item.strip()) for item in items if item.strip()]
    return check


def _json_list(text: str) -> bool:
    """True when ``text`` is a JSON array (``["a", "b"]``); ``[::1]``, an IPv6 host, is not."""
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


# The library appends these paths itself ({metrics_api}/v1/request, {readme_api_url}/v1):
# a URL copied with them would be posted to .../v1/request/v1/request, which answers 404.
# The official package joined them as absolute paths, so such a URL worked there: it is
# taken off (with one warning), so that a configuration that worked keeps working.
_APPENDED_PATHS = {"metrics_api": ("/v1/request", "/v1"), "readme_api_url": ("/v1",)}
_APPENDED_WARNING = LogLimiter(logging.getLogger("readme_metrics"), interval=None)


def _url(option: Option, value: Any) -> Optional[str]:
    if value is None and option.default is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise option.invalid(value)
    url = str(value).rstrip("/")
    parts = urlsplit(url)
    for appended in _APPENDED_PATHS.get(option.name, ()):
        if not parts.path.lower().endswith(appended):
            continue
        if parts.query or parts.fragment:  # the path is not at the end: no safe cut
            raise option.invalid(value, hint=f"give the base URL, without {appended} "
                                 "(the library adds it)")
        base = url[:-len(appended)].rstrip("/")
        if _APPENDED_WARNING.due(f"{option.name} {url}"):  # once per value (bounded)
            _APPENDED_WARNING.logger.warning(
                "readme_metrics: %s ends in %s, which the library adds itself: using %s",
                option.label(), appended, base)
        return base
    return url


# RFC 9110 5.6.2: a method is a token; "GET POST" (spaces) or "GET;POST" would be one
# method that no request has, so nothing would ever be skipped.
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What a Host header holds: a name or address, maybe a port. A URL, a path or a wildcard
# (Django's ".example.com", "*") would match no Host, and every call would be skipped.
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_\-][a-z0-9_\-.]*)(:[0-9]+)?")


def _methods(option: Option, value: Any) -> list[str]:
    methods = _strings(str.upper)(option, value)
    for method in methods:
        if not _METHOD.fullmatch(method):
            raise option.invalid(value, hint=f"{method!r} is not one method (separate "
                                 "methods with commas)")
    return methods


def _hosts(option: Option, value: Any) -> list[str]:
    hosts = _strings(str.lower)(option, value)
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise option.invalid(value, hint=_why_no_host(host))
    return hosts


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
    return f"{host!r} is not a host name"


# A whole key that is one of these (lower case, separators removed) was never replaced.
_PLACEHOLDER_WORDS = frozenset((
    "yourapikey", "yourreadmeapikey", "readmeapikey", "apikey", "yourkey", "key",
    "yourapikeyhere", "apikeyhere", "changeme", "placeholder", "todo", "secret", "rdme",
))
_PLACEHOLDER_SHAPES = re.compile(r"(rdme_?)?(x{3,}|\.+|\*+)", re.IGNORECASE)
# Once per process: the key is the same in every worker and every config built from it.
_PLACEHOLDER_WARNING = LogLimiter(logging.getLogger("readme_metrics"), interval=None)


def looks_like_a_placeholder(key: str) -> bool:
    """True for keys copied from documentation: ``<your ReadMe API key>``, ``rdme_...``.

    Only shapes no key has, real or a test's dummy (brackets, spaces, ellipses, a template
    variable, a run of x): a real key must never be refused.
    """
    text = key.strip()
    if not text or any(char.isspace() for char in text):
        return True
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


def _api_key(option: Option, value: Any) -> str:
    if value is None or value == "":
        raise ValueError(
            "readme_metrics: api_key is required: pass api_key=... or set README_API_KEY "
            "(or set README_METRICS_ENABLED=false to turn metrics off)"
        )
    if not isinstance(value, str):
        raise ValueError(f"readme_metrics: {option.label()} must be a string, got "
                         f"{type(value).__name__}")
    if looks_like_a_placeholder(value):
        # The value is not echoed: were this check ever wrong, it would be a real key.
        raise ValueError(
            f"readme_metrics: {option.label()} looks like a placeholder (such as "
            "'<your ReadMe API key>'), not a key: use your project's API key from the "
            "ReadMe dashboard (no key yet? any key works against the local collector: "
            "`readme-metrics collect`, then README_METRICS_SERVER=http://127.0.0.1:8001)"
        )
    if names_a_placeholder(value) and _PLACEHOLDER_WARNING.due("api_key"):
        _PLACEHOLDER_WARNING.logger.warning(
            "readme_metrics: %s looks like a placeholder, not a key: ReadMe will refuse "
            "it; use your project's API key from the ReadMe dashboard", option.label())
    return value


def _grouping(option: Option, value: Any) -> Callable[[Any], Any]:
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
    if not callable(value):
        raise ValueError(
            f"readme_metrics: {option.label()} is required and must be {option.expects} "
            "(or set README_METRICS_ENABLED=false to turn metrics off)"
        )
    return value


def _logger(option: Option, value: Any) -> logging.Logger:
    if value is None:
        return logging.getLogger("readme_metrics")
    if not isinstance(value, logging.Logger):
        raise option.invalid(value)
    return value


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is ``localhost``, 127.0.0.0/8 or ``::1``."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the table -------------------------------------------------------------------------

_WHOLE = "an integer >= {}"
_LIST = "a list of strings (comma-separated in the environment)"
_URL = "an http(s) URL"


#: Every option, in README's order. The constructor's signature lists the same names
#: (the official package's positional order first); a test keeps them in step.
OPTIONS: tuple[Option, ...] = (
    Option("enabled", "README_METRICS_ENABLED", "bool", True, "true or false", _flag, "`True`",
        "`False` turns metrics off: the app is passed through untouched, no thread is "
        "started, nothing is sent, and `api_key` and `grouping_function` are not needed "
        "(tests, local runs)"),
    Option("api_key", "README_API_KEY", "str", None, "your project's API key", _api_key,
        "required", "your ReadMe project API key; never logged; a placeholder such as "
        "`<your ReadMe API key>` is refused"),
    Option("grouping_function", "README_GROUPING_FUNCTION", "str", None,
        "a callable or a 'module.attribute' path", _grouping, "required",
        "`callable(request) -> mapping or None`; in the environment a dotted path such as "
        "`myapp.metrics.group` (or `myapp.metrics:group`)"),
    Option("buffer_length", "README_BUFFER_LENGTH", "int", 10, _WHOLE.format(1), _whole(1),
        "`10`", "logs per batch; a batch is sent as soon as this many are waiting"),
    Option("flush_interval", "README_FLUSH_INTERVAL", "float", 5.0,
        f"a number of seconds from 0 to {MAX_SECONDS}", _number(0), "`5.0`",
        "seconds: a partial batch is sent at the latest this long "
        "after its first log; `0` disables"),
    Option("development_mode", "README_DEVELOPMENT_MODE", "bool", False, "true or false", _flag,
        "`False`", "logs are marked `development: true` (ReadMe shows them apart)"),
    Option("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "bool", True,
        "true or false", _flag, "`True`", "deliver from a background thread; `False` sends "
        "in the request thread when a batch is full (tests, serverless)"),
    Option("denylist", "README_DENYLIST", "str", (), _LIST, _strings(), "`[]`",
        "keys to redact (comma-separated in the environment); wins over the allowlist"),
    Option("allowlist", "README_ALLOWLIST", "str", (), _LIST, _strings(), "`[]`",
        "if set, only these keys are kept"),
    Option("blacklist", None, "str", None, _LIST, _strings(), "-",
        "deprecated alias of `denylist` (DeprecationWarning)", alias_of="denylist"),
    Option("whitelist", None, "str", None, _LIST, _strings(), "-",
        "deprecated alias of `allowlist` (DeprecationWarning)", alias_of="allowlist"),
    Option("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "str", (),
        "a list of host names, each with or without a port (exact names: no URL or "
        "wildcard; comma-separated in the environment)", _hosts, "`[]` (all)",
        "only requests whose Host is listed are logged (exact names, no wildcards; with "
        "or without the port; behind `trusted_proxies`, the Host they forwarded)"),
    Option("timeout", "README_TIMEOUT", "float", 3.0,
        f"a number of seconds > 0 and <= {MAX_SECONDS}", _number(0, exclusive=True), "`3`",
        "seconds per HTTP call to ReadMe"),
    Option("base_log_url", "README_BASE_LOG_URL", "str", None, _URL, _url, "`None`",
        "your docs site URL, for the `x-documentation-url` header (looked up from ReadMe "
        "if not set)"),
    Option("metrics_api", "README_METRICS_SERVER", "str", "https://metrics.readme.io", _URL,
        _url, "`https://metrics.readme.io`", "base URL of the Metrics API (point it at "
        "`readme-metrics collect` to see what would be sent)"),
    Option("readme_api_url", "README_API_URL", "str", "https://dash.readme.com/api", _URL, _url,
        "`https://dash.readme.com/api`, or `metrics_api` when that is a loopback address",
        "base URL used to look up your docs URL; follows a local `metrics_api` "
        "(`localhost`, `127.0.0.0/8`, `::1`) unless set, so `readme-metrics collect` "
        "needs one variable"),
    Option("max_body_bytes", "README_MAX_BODY_BYTES", "int", 262144, _WHOLE.format(0),
        _whole(0), "`262144` (256 KiB)", "most bytes of one body recorded; larger bodies "
        "pass through untouched and are logged truncated"),
    Option("max_queue_size", "README_MAX_QUEUE_SIZE", "int", 10000, _WHOLE.format(1), _whole(1),
        "`10000`", "logs waiting in memory before new ones are dropped (and counted)"),
    Option("max_queue_bytes", "README_MAX_QUEUE_BYTES", "int", 64 * 1024 * 1024,
        _WHOLE.format(1), _whole(1), "`67108864` (64 MiB)",
        "captured bytes waiting in memory before new logs are dropped"),
    Option("trusted_proxies", "README_TRUSTED_PROXIES", "int", 0, _WHOLE.format(0), _whole(0),
        "`0`", "how many reverse proxies to trust for X-Forwarded-For/-Proto/-Host (as "
        "werkzeug's ProxyFix); `0` uses REMOTE_ADDR, `wsgi.url_scheme` and Host only"),
    Option("skip_methods", "README_SKIP_METHODS", "str", ("OPTIONS",),
        "a list of HTTP methods such as OPTIONS,HEAD (comma-separated in the environment)",
        _methods, "`OPTIONS`",
        "methods never logged; a list you give replaces the default"),
    Option("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "float", 5.0,
        f"a number of seconds from 0 to {MAX_SECONDS}", _number(0), "`5`",
        "seconds the exit flush may take at most"),
    Option("logger", None, "str", None, "a logging.Logger", _logger,
        '`logging.getLogger("readme_metrics")`',
        "the library's logger; it adds no handlers and never calls `basicConfig`"),
)

BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}


def markdown_table() -> str:
    """README's options table, one row per option, from :data:`OPTIONS`."""
    lines = ["| argument | environment variable | default | meaning |", "|---|---|---|---|"]
    for option in OPTIONS:
        variable = f"`{option.variable}`" if option.variable else "-"
        lines.append(
            f"| `{option.name}` | {variable} | {option.shown_default} | {option.doc} |"
        )
    return "\n".join(lines) + "\n"
