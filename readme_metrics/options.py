"""The options of :class:`readme_metrics.MetricsApiConfig`, as one table.

Each :class:`Option` row says everything about one option: its argument name, its
environment variable, how the variable's text is parsed, its default, the check that
validates and normalises a value (the checks are :mod:`readme_metrics.number_checks` for
numbers and flags, and for lists, URLs, the API key and Python objects
:mod:`~readme_metrics.list_checks`, :mod:`~readme_metrics.url_checks`,
:mod:`~readme_metrics.key_checks` and :mod:`~readme_metrics.object_checks`; the row words
the error), and the line README shows. The constructor, the environment parsing, the error
messages and README's options table (:func:`markdown_table`, checked against README by the
tests) all come from :data:`OPTIONS`, so they cannot drift apart.

Print README's table with
``python -c "from readme_metrics.options import markdown_table; print(markdown_table())"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from readme_metrics import key_checks, object_checks, url_checks
from readme_metrics import list_checks as lists
from readme_metrics import number_checks as numbers
from readme_metrics._env import takes
from readme_metrics._loopback import is_loopback_url
from readme_metrics._wording import wrong_type
from readme_metrics.env_parsers import env_error
from readme_metrics.key_checks import looks_like_a_placeholder, names_a_placeholder  # noqa: F401
from readme_metrics.number_checks import MAX_SECONDS  # noqa: F401

# is_loopback_url, looks_like_a_placeholder, names_a_placeholder and MAX_SECONDS are kept
# importable from here, where they lived before the checks had modules of their own.
__all__ = ["BY_NAME", "OPTIONS", "Option", "is_loopback_url", "markdown_table"]


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
    #: for a value the check accepted, ``warning(option, given, checked)``: the warning it
    #: deserves (or several), or None. The config logs each on its ``logger``, once per
    #: process.
    warning: Optional[Callable[[Option, Any, Any], Union[None, str, tuple[str, ...]]]] = None
    #: for a value refused (an argument or the variable's text): what the option is, where
    #: the value shows it was taken for something else (a flag for a count), or "".
    hint: Optional[Callable[[Option, Any], str]] = None

    def label(self) -> str:
        """``name (VARIABLE)``, the way every message names an option."""
        return f"{self.name} ({self.variable})" if self.variable else self.name

    def invalid(self, value: Any, source: str = "", hint: str = "") -> ValueError:
        """The error for a value that fails this option's check (``hint``: why, if known)."""
        hint = hint or self.hinted(value)
        return ValueError(
            f"readme_metrics: {self.label()} must be {self.expects}, got {value!r}{source}"
            + (f": {hint}" if hint else "")
        )

    def wrong_type(self, value: Any, takes: str, shown: bool = True) -> ValueError:
        """The error for an argument that is not of the Python type the option takes
        (``takes``: "an int >= 1"); the value is not echoed unless ``shown``."""
        hint = self.hinted(value) if shown else ""
        if isinstance(value, str) and shown and (hint or not self.variable_takes(value)):
            # as wrong in the variable: not "strings like '127.0.0.1' (or 'abc') are read
            # from README_TRUSTED_PROXIES", which sends the user there to be refused again
            return ValueError(f"readme_metrics: {self.label()} must be {takes}, got the str "
                              f"{value!r}" + (f": {hint}" if hint else ""))
        return ValueError(wrong_type(self.name, self.variable, takes, value, shown)
                          + (f": {hint}" if hint else ""))

    def variable_takes(self, text: str) -> bool:
        """Whether this option's variable, set to ``text``, would be accepted."""
        if self.variable is None or self.parse == "str":
            return True  # strings are what the check takes: not refused for their type
        try:
            self.check(self, takes(self.variable, self.parse, text))
        except (ValueError, env_error()):
            return False
        return True

    def hinted(self, value: Any) -> str:
        """The row's :attr:`hint` for a refused ``value``, or ""."""
        return self.hint(self, value) if self.hint is not None else ""


# -- the table -------------------------------------------------------------------------

_WHOLE = "an integer >= {}"
_LIST = "a list of strings (comma-separated in the environment)"
_URL = "an http(s) URL"


#: Every option, in README's order. The constructor's signature lists the same names
#: (the official package's positional order first); a test keeps them in step.
OPTIONS: tuple[Option, ...] = (
    Option("enabled", "README_METRICS_ENABLED", "bool", True, "true or false", numbers.flag,
        "`True`",
        "`False` turns metrics off: the app is passed through untouched, no thread is "
        "started, nothing is sent, and `api_key` and `grouping_function` are not needed "
        "(tests, local runs)"),
    Option("api_key", "README_API_KEY", "str", None, "your project's API key",
        key_checks.api_key, "required", "your ReadMe project API key; never logged; a "
        "placeholder such as `<your ReadMe API key>` is refused",
        warning=key_checks.api_key_warning),
    Option("grouping_function", "README_GROUPING_FUNCTION", "str", None,
        "a callable or a 'module.attribute' path", object_checks.grouping, "required",
        "`callable(request) -> mapping or None`; in the environment a dotted path such as "
        "`myapp.metrics.group` (or `myapp.metrics:group`; a function held by a class: "
        "`myapp.metrics.Auth.group`)", hint=object_checks.grouping_hint),
    Option("buffer_length", "README_BUFFER_LENGTH", "int", 10, _WHOLE.format(1), numbers.whole(1),
        "`10`", "logs per batch; a batch is sent as soon as this many are waiting, or as "
        "soon as the queue is full (`max_queue_size`, `max_queue_bytes`) if it holds fewer",
        hint=numbers.whole_hint),
    Option("flush_interval", "README_FLUSH_INTERVAL", "float", 5.0,
        f"a number of seconds from 0 to {numbers.MAX_SECONDS}", numbers.number(0), "`5.0`",
        "seconds: a partial batch is sent this long after its first log (later only "
        "while the Metrics API fails, or is slow: its POSTs spread over its round "
        "trip); `0` turns this timer "
        "off: a partial batch then waits for `buffer_length` logs (or a full queue), "
        "`flush()` or the exit "
        "(to send each log at once, `buffer_length=1`)",
        warning=numbers.seconds_warning("a partial batch waits that long to be sent"),
        hint=numbers.seconds_hint),
    Option("development_mode", "README_DEVELOPMENT_MODE", "bool", False, "true or false",
        numbers.flag, "`False`", "logs are marked `development: true` (ReadMe shows them apart)",
        hint=numbers.mode_hint),
    Option("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "bool", True,
        "true or false", numbers.flag, "`True`", "deliver from a background thread; `False` sends "
        "in the request thread when a batch is full (tests, serverless)"),
    Option("denylist", "README_DENYLIST", "str", (), _LIST, lists.strings(), "`[]`",
        "keys to redact (comma-separated in the environment); wins over the allowlist",
        warning=lists.key_separator_warning),
    Option("allowlist", "README_ALLOWLIST", "str", (), _LIST, lists.strings(), "`[]`",
        "if set, only these keys are kept (comma-separated in the environment)",
        warning=lists.key_separator_warning),
    Option("blacklist", None, "str", None, _LIST, lists.strings(), "-",
        "deprecated alias of `denylist` (DeprecationWarning)", alias_of="denylist"),
    Option("whitelist", None, "str", None, _LIST, lists.strings(), "-",
        "deprecated alias of `allowlist` (DeprecationWarning)", alias_of="allowlist"),
    Option("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "str", (),
        "a list of host names, each with or without a port (exact names: no URL or "
        "wildcard; comma-separated in the environment)", lists.hosts, "`[]` (all)",
        "only requests whose Host is listed are logged (exact names, no wildcards; with "
        "or without the port; behind `trusted_proxies`, the Host they forwarded)"),
    Option("timeout", "README_TIMEOUT", "float", 3.0,
        f"a number of seconds > 0 and <= {numbers.MAX_SECONDS}", numbers.number(0, exclusive=True),
        "`3.0`", "seconds a POST to ReadMe waits for its answer; one that got none in time is "
        "sent again waiting twice as long, up to 60 s, and so are the POSTs after it until "
        "answers come fast again ([Timeouts](docs/DELIVERY.md#timeouts))",
        warning=numbers.seconds_warning("a Metrics API that does not answer holds a POST "
                                      "that long"), hint=numbers.seconds_hint),
    Option("base_log_url", "README_BASE_LOG_URL", "str", None, _URL, url_checks.http_url, "`None`",
        "your docs site URL, for the `x-documentation-url` header (looked up from ReadMe "
        "if not set)", warning=url_checks.link_userinfo_warning),
    Option("metrics_api", "README_METRICS_SERVER", "str", "https://metrics.readme.io", _URL,
        url_checks.http_url, "`https://metrics.readme.io`", "base URL of the Metrics API "
        "(point it at `readme-metrics collect` to see what would be sent)",
        warning=url_checks.key_url_warnings),
    Option("readme_api_url", "README_API_URL", "str", "https://dash.readme.com/api", _URL,
        url_checks.http_url,
        "`https://dash.readme.com/api`",
        "base URL used to look up your docs URL; not looked up while `metrics_api` is a "
        "loopback address (`localhost`, `127.0.0.0/8`, `::1`, also `0.0.0.0`, `127.1`, "
        "`::ffff:127.0.0.1`) unless set "
        "(`readme-metrics collect` prints both)", warning=url_checks.key_url_warnings),
    Option("max_body_bytes", "README_MAX_BODY_BYTES", "int", 262144, _WHOLE.format(0),
        numbers.whole(0), "`262144` (256 KiB)", "most bytes of one body recorded; larger bodies "
        "pass through untouched and are logged truncated", hint=numbers.bytes_hint),
    Option("max_queue_size", "README_MAX_QUEUE_SIZE", "int", 10000, _WHOLE.format(1),
        numbers.whole(1), "`10000`",
        "logs held in memory (waiting, or in a POST in flight) before new ones are "
        "dropped (and counted); against a slow Metrics API your traffic times its answer "
        "time must fit in it: 2,000 logs/s to one answering in 8 s needs about 16,000 to "
        "20,000", hint=numbers.whole_hint),
    Option("max_queue_bytes", "README_MAX_QUEUE_BYTES", "int", 64 * 1024 * 1024,
        _WHOLE.format(1), numbers.whole(1), "`67108864` (64 MiB)",
        "bytes held in memory before new logs are dropped: logs waiting by their "
        "captured bytes, batches in flight or waiting for a retry by their JSON; at most "
        "one log's JSON over it (a log larger than it is taken when nothing else waits)",
        hint=numbers.bytes_hint),
    Option("trusted_proxies", "README_TRUSTED_PROXIES", "int", 0, _WHOLE.format(0),
        numbers.whole(0), "`0`",
        "how many reverse proxies to trust for X-Forwarded-For/-Proto/-Host (as "
        "werkzeug's ProxyFix); `0` uses REMOTE_ADDR, `wsgi.url_scheme` and Host only. An "
        "X-Forwarded-For hop that is no IP address (a client's own text) logs REMOTE_ADDR",
        hint=numbers.count_hint),
    Option("skip_methods", "README_SKIP_METHODS", "str", ("OPTIONS",),
        "a list of HTTP methods such as OPTIONS,HEAD (comma-separated in the environment)",
        lists.methods, "`OPTIONS`",
        "methods never logged (comma-separated in the environment); a list you give "
        "replaces the default; `[]` (`README_SKIP_METHODS=[]`) logs every method; a "
        "registered method in any case (`options`) is that method; another (a custom "
        "one) is kept as written, case included, with a warning (it is compared with the "
        "method the server passes on: hypercorn upper-cases every method, so there "
        "`fetch` arrives as `FETCH`; gunicorn and uvicorn answer a lower-case one with "
        "their own 400, and uvicorn any unregistered one: "
        "[servers](docs/SERVERS.md#fastapi-and-any-asgi-app))",
        warning=lists.unknown_methods_warning),
    Option("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "float", 5.0,
        f"a number of seconds from 0 to {numbers.MAX_SECONDS}", numbers.number(0), "`5.0`",
        "seconds the exit flush may take at most; `0`: the exit (and an ASGI server's "
        "stop) sends nothing and says how many logs it left",
        warning=numbers.seconds_warning("the exit may wait that long for the Metrics API"),
        hint=numbers.seconds_hint),
    Option("logger", None, "str", None, "a logging.Logger", object_checks.logger,
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
