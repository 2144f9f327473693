"""Configuration: every option as an argument, from the environment, or a default.

Precedence is argument > environment (read with environs, which also loads a ``.env``
file from the working directory, once per process: :mod:`readme_metrics._env`) > default,
so the same code runs unchanged in development, CI and production (twelve-factor). An
argument given explicitly wins even when it is ``None`` (``base_log_url=None`` means "no
base URL", whatever ``README_BASE_LOG_URL`` says; ``None`` for any other option means its
default). Everything is validated once, here, so the request path never has to
second-guess a value. The options themselves, with their variables, defaults, checks and
documentation, are the table in :mod:`readme_metrics.options`.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import (
    Any,
    Awaitable,
    Callable,
    Collection,
    Generic,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

from readme_metrics._env import (
    blamed,
    dotenv_elsewhere,
    hidden_by_empty,
    names,
    not_assigned,
    origin,
    raw,
    read,
)
from readme_metrics._http import shown_url
from readme_metrics._logging import (
    MIN_SUBSTRING_SECRET,
    LogLimiter,
    QuietLogger,
    hidden,
    reloader_parent,
)
from readme_metrics._loopback import is_loopback_url
from readme_metrics.env_names import meant_variable, names_a_key_variable
from readme_metrics.key_checks import (
    PATH_FIRST,
    is_a_dotted_path,
    looks_like_a_placeholder,
    names_a_placeholder,
)
from readme_metrics.options import BY_NAME, OPTIONS, Option

#: ``grouping_function(request)``: the caller's mapping or None; under the ASGI middlewares
#: (and Django's under ASGI) also an ``async def`` one (its result is awaited), as README's
#: FastAPI quick start has.
GroupingFunction = Callable[
    [Any], Union[Optional[Mapping[str, Any]], Awaitable[Optional[Mapping[str, Any]]]]]

_T = TypeVar("_T")


class _Unset:
    """"Not passed": distinct from None, which is a value an argument can explicitly
    have. Each argument of :class:`MetricsApiConfig` has its own, shown in its signature
    (``help()``, ``inspect.signature``, an IDE's tooltip) as where its value then comes
    from, ``<README_BUFFER_LENGTH or 10>``, rather than as an object's address."""

    __slots__ = ("shown",)

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown


def _unset(name: str) -> Any:
    """The sentinel of argument ``name``, shown as its row of the options table says."""
    option = BY_NAME[name]
    default = option.shown_default.replace("`", "")
    if option.alias_of is not None:
        return _Unset(f"<deprecated: {option.alias_of}>")
    if option.variable is None:
        return _Unset(f"<{default}>")
    if default == "required":
        return _Unset(f"<{option.variable}, required>")
    return _Unset(f"<{option.variable} or {default}>")


_UNSET: Any = _Unset("<unset>")
#: The signature's defaults, one per argument.
_NOT_PASSED: dict[str, Any] = {option.name: _unset(option.name) for option in OPTIONS}

# A start-up warning is said once per process and logger: every worker and every config
# built from the same settings would repeat it, yet a config with a logger of its own
# still hears it. Keyed by the logger's name, so the limiter's own logger is not used.
_WARNED = LogLimiter(logging.getLogger("readme_metrics"), interval=None)


def _not_configured(request: Any) -> None:
    """The grouping function of a disabled config: it identifies nobody."""
    return None


#: A key shorter than this shows only its length: its last 4 characters would be most
#: of it (all of it at 4 or fewer). Real ReadMe keys are about 70 characters long.
KEY_HINT_MIN = 16


def key_hint(key: str) -> str:
    """What a repr may show of an API key: its last 4 characters when the key is long
    enough that they reveal little (``'...wxyz'``), else only its length."""
    if len(key) >= KEY_HINT_MIN:
        return f"'...{key[-4:]}'"
    return f"<{len(key)} characters>"


def _from_environment(option: Option) -> Any:
    """The option's variable, parsed but not checked, or ``_UNSET`` when unset or empty."""
    if option.variable is None:
        return _UNSET
    text = raw(option.variable)
    if text is None:
        return _UNSET
    try:
        value = read(option.name, option.variable, option.parse, option.expects)
    except ValueError as exc:  # the parser refused the text: the row's hint, if any
        hint = option.hinted(text)
        if not hint:
            raise
        raise ValueError(f"{exc}: {hint}") from None
    return value.strip() if isinstance(value, str) else value


def _checked(option: Option, value: Any, warnings: list[str]) -> Any:
    """``value`` checked and normalised; the warning it deserves, if any, to ``warnings``."""
    checked = option.check(option, value)
    if option.warning is not None:
        warning = option.warning(option, value, checked)
        if isinstance(warning, str):
            warnings.append(warning)
        elif warning:
            warnings.extend(warning)
    return checked


def _resolve(option: Option, given: Mapping[str, Any], warnings: list[str]) -> Any:
    """Argument (even None) > environment > default, checked and normalised."""
    if option.name in given:
        value = given[option.name]
        if value is not None:
            try:
                return _checked(option, value, warnings)
            except ValueError as exc:
                if option.variable is None or raw(option.variable) is None:
                    raise
                # The error names the variable too (the house style): set as well, it
                # would be taken for the value refused, and edited to no effect.
                raise ValueError(
                    f"{exc} (from the {option.name} argument, which overrides "
                    f"{option.variable}, set in {origin(option.variable)})"
                ) from exc.__cause__
        try:
            return _checked(option, option.default, warnings)
        except ValueError:
            if option.variable is None or raw(option.variable) is None:
                raise
            # A required option passed as None while its variable is set: "set
            # README_API_KEY" would send the user after a variable that is already there.
            raise ValueError(
                f"readme_metrics: {option.label()} is required, and {option.name}=None was "
                f"passed, which overrides {option.variable} (set): pass a value, or leave "
                "the argument out to use the variable") from None
    value = _from_environment(option)
    if value is _UNSET:
        return _checked(option, option.default, warnings)
    with blamed(option.variable, None):
        return _checked(option, value, warnings)


_OPTION_OF = {option.variable: option.name for option in OPTIONS if option.variable}
_VARIABLES = frozenset(_OPTION_OF)
# README_ + an argument's name where its variable is named otherwise (README_METRICS_API
# for metrics_api's README_METRICS_SERVER, README_ENABLED): what the table's first column
# leads one to write, and too far from the variable for difflib.
_ARGUMENT_NAMES = {f"README_{option.name.upper()}": option.variable for option in OPTIONS
                   if option.variable and option.variable != f"README_{option.name.upper()}"}
# Other names one guesses for the Metrics API's address (none is another ReadMe tool's).
# Not README_URL, README_HOST or README_API_BASE_URL: a project's own names for other
# things (its README's link) or as near the docs site's README_API_URL.
_ARGUMENT_NAMES.update(dict.fromkeys(("README_METRICS_URL", "README_METRICS_HOST",
                                      "README_METRICS_API_URL", "README_SERVER",
                                      "README_METRICS_ENDPOINT", "README_ENDPOINT",
                                      "README_METRICS_BASE_URL"), "README_METRICS_SERVER"))
# The official package's names for options (its arguments blacklist/whitelist, its
# upper-case attributes) and other words for an option's noun, as one coming from it or
# from another SDK writes them: too far from the variable for difflib, and silently
# ignored before (README_BUFFER_SIZE=1 left batches of 10).
_ARGUMENT_NAMES.update({
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
_ARGUMENT_NAMES.update(dict.fromkeys(
    ("README_DEBUG", "README_METRICS_DEBUG", "README_LOG_LEVEL", "README_METRICS_LOG_LEVEL",
     "README_VERBOSE"),
    "README_DEVELOPMENT_MODE (which marks the logs as development's; there is no debug "
    "or log level variable: the library logs to logging.getLogger('readme_metrics') and adds no "
    "handler, so turn it on with logging.getLogger('readme_metrics').setLevel(logging.DEBUG) "
    "and logging.basicConfig())"))
# The opposite of the variable: the value is turned round too (README_DISABLED=true
# copied as README_METRICS_ENABLED=true would keep metrics on). README_METRICS_DISABLED
# is close enough for difflib, which named the variable without turning it round.
_ARGUMENT_NAMES.update({
    name: f"README_METRICS_ENABLED (the opposite: {name}=true is README_METRICS_ENABLED=false)"
    for name in ("README_DISABLED", "README_DISABLE", "README_METRICS_DISABLED",
                 "README_METRICS_DISABLE")})


# The early warnings below come as (repeated, message): repeated is True for a warning
# that the missing key's error says again (README_API_KEY's line in .env with ':' for
# '=', README_API_KEY set empty over the file's value, README_APIKEY set): where that
# error comes, such a warning only doubled it (see MetricsApiConfig.__init__).


def _misspelled_variables() -> list[tuple[bool, str]]:
    """A warning for each ``README_*`` variable set that is a near miss of one of ours
    (``README_METRIC_SERVER``): ignored, it would leave its option at the default without
    a word. Names only, never values (the key may be in one)."""
    return [(meant == "README_API_KEY" and names_a_key_variable(name),
             f"readme_metrics: {name} (set in {origin(name)}) is no variable of this "
             f"library and is ignored: did you mean {meant}?")
            for name in names()
            if (meant := meant_variable(name, _VARIABLES, _ARGUMENT_NAMES))]


def _lines_not_assigned() -> list[tuple[bool, str]]:
    """A warning for each line of the ``.env`` file that starts with one of our variables
    (or a near miss) but does not assign it (``README_API_KEY: rdme_...``): python-dotenv
    skips it, or takes the whole line for a name, and the option keeps its default. The
    line's number and the name only: the rest of it is the value, often the key."""
    return [(name == "README_API_KEY",
             f"readme_metrics: line {number} of {file} is no {name}=value (a ':' or a "
             f"blank where '=' belongs?), so it does not set {name}: write {name}=<the "
             "value>")
            for file, number, name in not_assigned()
            if name in _VARIABLES or meant_variable(name, _VARIABLES, _ARGUMENT_NAMES)]


def _hidden_by_empty(given: Collection[str]) -> list[tuple[bool, str]]:
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


def _dotenv_beside_the_app(grouping_function: Any, given: Collection[str]) -> list[str]:
    """The warning for a ``.env`` beside the grouping function's module (the app's) that
    is not read because the app runs from another directory, which has none
    (:func:`dotenv_elsewhere`). Names only; not those of options ``given`` as
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


def _warn(logger: logging.Logger, warnings: list[str]) -> None:
    """Log the start-up ``warnings`` on the config's ``logger``, each once per process
    (in a reloader's child only: :func:`reloader_parent`)."""
    if warnings and reloader_parent():
        return
    for message in warnings:
        if _WARNED.due(f"{logger.name}\n{message}"):
            QuietLogger(logger).warning("%s", message)  # the app's filters may raise


def _with_aliases(given: dict[str, Any]) -> None:
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


#: The WSGI and ASGI middlewares' ``config`` when none was passed: Django calls a class in
#: its MIDDLEWARE setting with the next handler alone, and Python's "missing 1 required
#: positional argument: 'config'" did not say that the class for that setting is another.
class _Required:
    """The sentinel's type: shown as ``<required>`` in the middlewares' signatures
    (``help()``, ``inspect.signature``), not as an object's address."""

    def __repr__(self) -> str:
        return "<required>"


NO_CONFIG: Any = _Required()


def _from_django(app: Any) -> bool:
    """True for the handler Django gives a class of its MIDDLEWARE setting (a function of
    django.core.handlers, or asgiref's adapter of one under ASGI: not any asgiref object,
    such as WsgiToAsgi, README's way to serve a WSGI app with an ASGI server)."""
    if type(app).__module__.split(".")[0] == "asgiref":
        app = getattr(app, "awaitable", None) or getattr(app, "func", None)
    return str(getattr(app, "__module__", None)).split(".")[0] == "django"


def no_options_given(middleware: str, arguments: Mapping[str, Any],
                     call: str = "(app, config)") -> None:
    """Raise for ``middleware(app, grouping_function=...)``: options given to the
    middleware, as Starlette's own take theirs (``app.add_middleware(CORSMiddleware,
    allow_origins=...)``), are MetricsApiConfig's. Python's own "got an unexpected
    keyword argument 'grouping_function'" said nothing of where it goes, and under
    Starlette, which makes its middleware at the first request, came as a 500 for every
    request. A name that is no option is left to the constructor, for Python's own
    words."""
    options = [name for name in arguments if name in BY_NAME]
    if not options:
        return
    given = ", ".join(f"{name}=..." for name in options)
    raise TypeError(
        f"readme_metrics: {middleware}{call}: {given} "
        f"{'is an option' if len(options) == 1 else 'are options'} of MetricsApiConfig, "
        f"not of the middleware: pass config=MetricsApiConfig({given})")


def checked_config(middleware: str, app: Any, config: Any,
                   call: str = "(app, config)") -> MetricsApiConfig:
    """``config`` of ``middleware(app, config)`` (or of the ``call`` given: Flask's
    ``ReadMeMetrics(config, app)``, whose app may come later), once both arguments are
    what they must be: a ``TypeError`` saying which is not, at construction. Unchecked,
    None, a dict of options or swapped arguments failed deep inside ("'NoneType' object
    has no attribute 'skip_methods'"), and an app that is no callable failed on every
    request instead."""
    call = f"readme_metrics: {middleware}{call}"
    if config is NO_CONFIG and isinstance(app, MetricsApiConfig):
        # middleware(config): the app is what is missing, not the config.
        raise TypeError(f"{call}: the MetricsApiConfig was given in the app's place, and "
                        "no app: the app comes first")
    if config is NO_CONFIG:
        django = ("; in Django's MIDDLEWARE setting, name "
                  "'readme_metrics.django.MetricsMiddleware' instead, which reads "
                  "settings.README_METRICS_CONFIG" if _from_django(app) else "")
        raise TypeError(f"{call}: config is missing: pass MetricsApiConfig(...) (or "
                        f"MetricsApiConfig(), which reads the README_* variables){django}")
    if isinstance(app, MetricsApiConfig) and not isinstance(config, MetricsApiConfig):
        raise TypeError(f"{call}: the arguments are swapped, the MetricsApiConfig was "
                        "given in the app's place")
    if not isinstance(config, MetricsApiConfig):
        given = "None" if config is None else type(config).__name__
        hint = (" (MetricsApiConfig(**options) makes one of a dict)"
                if isinstance(config, Mapping) else "")
        if app is None and callable(config) and call.endswith("(config, app)"):
            # ReadMeMetrics(app), as Flask-CORS and Flask-SQLAlchemy are made.
            hint = (" (the app comes second: ReadMeMetrics(MetricsApiConfig(...), app); "
                    "MetricsApiConfig() reads the README_* variables)")
        raise TypeError(f"{call}: config must be a MetricsApiConfig, got {given}{hint}")
    if not callable(app) and (app is not None or call.endswith("(app, config)")):
        raise TypeError(f"{call}: app must be the application to wrap (a callable), got "
                        f"{type(app).__name__}")
    return config


class _OfficialName(Generic[_T]):
    """An official 3.x attribute name (``config.METRICS_API``) for option ``name``: reads
    it, and sets it checked and normalised as the constructor would (``ValueError``
    naming the option otherwise), so code written for the official package keeps working.
    Typed by the option's type (``_OfficialName[int]``), as the properties it replaced."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> _OfficialName[_T]: ...

    @overload
    def __get__(self, config: MetricsApiConfig, owner: type) -> _T: ...

    def __get__(self, config: Optional[MetricsApiConfig], owner: type) -> Any:
        return self if config is None else getattr(config, self.name)

    def __set__(self, config: MetricsApiConfig, value: Any) -> None:
        option = BY_NAME[self.name]
        warnings: list[str] = []
        setattr(config, self.name, _checked(option, option.default if value is None
                                            else value, warnings))
        _warn(config.logger, warnings)
        if self.name == "readme_api_url":
            # None means the default, as the constructor's readme_api_url=None does: not
            # looked up beside a loopback METRICS_API (docs_lookup_url).
            config._readme_api_url_given = value is not None


class MetricsApiConfig:
    """Options for :class:`readme_metrics.MetricsMiddleware` (SPEC section 2).

    .. code-block:: python

        config = MetricsApiConfig(
            # the caller's key for your API; None: the call is not logged
            grouping_function=lambda req: (
                {"api_key": req.headers["X-Api-Key"]} if "X-Api-Key" in req.headers
                else None),
        )  # your ReadMe API key from README_API_KEY (or api_key="...")

    Arguments left out are read from ``README_*`` environment variables, then defaulted
    (the table in :mod:`readme_metrics.options`). Invalid values raise ``ValueError``
    naming the option and its variable. With ``enabled=False``
    (``README_METRICS_ENABLED=false``) ``api_key`` and ``grouping_function`` are neither
    required nor checked, and the middlewares pass every request through untouched.
    """

    enabled: bool
    api_key: str
    grouping_function: GroupingFunction
    buffer_length: int
    flush_interval: float
    development_mode: bool
    background_worker_mode: bool
    denylist: list[str]
    allowlist: list[str]
    allowed_http_hosts: list[str]
    timeout: float
    base_log_url: Optional[str]
    metrics_api: str
    readme_api_url: str
    max_body_bytes: int
    max_queue_size: int
    max_queue_bytes: int
    trusted_proxies: int
    skip_methods: list[str]
    shutdown_timeout: float
    logger: logging.Logger

    # The positional order is the official package's (3.1 to 3.4), so existing code keeps
    # working: allowlist before denylist, or a list meant to be kept would be the only one
    # redacted. Every default is an _Unset (its own, for the signature to show), so that an
    # explicit argument, None included, is told apart from one left out; the names and the
    # table's are kept in step by a test.
    def __init__(
        self,
        api_key: Optional[str] = _NOT_PASSED["api_key"],
        grouping_function: Union[GroupingFunction, str, None] = _NOT_PASSED["grouping_function"],
        base_log_url: Optional[str] = _NOT_PASSED["base_log_url"],
        buffer_length: Optional[int] = _NOT_PASSED["buffer_length"],
        development_mode: Optional[bool] = _NOT_PASSED["development_mode"],
        background_worker_mode: Optional[bool] = _NOT_PASSED["background_worker_mode"],
        allowlist: Optional[Sequence[str]] = _NOT_PASSED["allowlist"],
        denylist: Optional[Sequence[str]] = _NOT_PASSED["denylist"],
        blacklist: Optional[Sequence[str]] = _NOT_PASSED["blacklist"],
        whitelist: Optional[Sequence[str]] = _NOT_PASSED["whitelist"],
        allowed_http_hosts: Optional[Sequence[str]] = _NOT_PASSED["allowed_http_hosts"],
        timeout: Optional[float] = _NOT_PASSED["timeout"],
        logger: Optional[logging.Logger] = _NOT_PASSED["logger"],
        *,
        flush_interval: Optional[float] = _NOT_PASSED["flush_interval"],
        metrics_api: Optional[str] = _NOT_PASSED["metrics_api"],
        readme_api_url: Optional[str] = _NOT_PASSED["readme_api_url"],
        max_body_bytes: Optional[int] = _NOT_PASSED["max_body_bytes"],
        max_queue_size: Optional[int] = _NOT_PASSED["max_queue_size"],
        max_queue_bytes: Optional[int] = _NOT_PASSED["max_queue_bytes"],
        trusted_proxies: Optional[int] = _NOT_PASSED["trusted_proxies"],
        skip_methods: Optional[Sequence[str]] = _NOT_PASSED["skip_methods"],
        shutdown_timeout: Optional[float] = _NOT_PASSED["shutdown_timeout"],
        enabled: Optional[bool] = _NOT_PASSED["enabled"],
    ) -> None:
        given = {name: value for name, value in locals().items()
                 if name != "self" and not isinstance(value, _Unset)}
        _with_aliases(given)
        # The logger (an argument only) first: a misspelled variable is warned about
        # even when it leaves a required option unset (README_APIKEY: no api_key).
        self.logger = _resolve(BY_NAME["logger"], given, [])
        early = _misspelled_variables() + _lines_not_assigned() + _hidden_by_empty(given)
        # With no key given or set, the key's error comes (metrics on) and says these: the
        # argument left out, or passed as None or "" (api_key=os.environ.get(...)).
        key = given.get("api_key")
        no_key = ((key is None or (isinstance(key, str) and key == ""))
                  and raw("README_API_KEY") is None)
        _warn(self.logger, [message for repeated, message in early
                            if not (repeated and no_key)])
        warnings: list[str] = []
        self.enabled = _resolve(BY_NAME["enabled"], given, warnings)
        if no_key and not self.enabled:
            warnings += [message for repeated, message in early if repeated]
        for option in OPTIONS:
            if option.alias_of is not None or option.name in ("enabled", "logger"):
                continue
            if not self.enabled and option.name in ("api_key", "grouping_function"):
                continue
            try:
                setattr(self, option.name, _resolve(option, given, warnings))
            except ValueError as exc:
                said = str(exc)
                if option.name == "grouping_function" and option.name not in given and (
                        is_a_dotted_path(given.get("api_key"))):
                    said = f"{said}: {PATH_FIRST}"
                # A refusal quotes the value, and the key may be in it (a URL's query:
                # '?apiKey=rdme_...', as some APIs take it).
                said = hidden(said, self._secrets())
                if said == str(exc):
                    raise
                raise ValueError(said) from exc.__cause__
        if self.enabled:
            warnings += _dotenv_beside_the_app(self.grouping_function, given)
            if "django.conf" in sys.modules:  # settings.py: is the middleware used?
                from readme_metrics.unwrapped import watch_django

                watch_django()
        _warn(self.logger, [hidden(warning, self._secrets()) for warning in warnings])
        if not self.enabled:
            self._disabled_identity(given)
        self._readme_api_url_given = (given.get("readme_api_url") is not None
                                      or raw("README_API_URL") is not None)
        # docs_lookup_url's answer for the metrics_api it was last asked with: it is asked
        # on the request path, for every logged response (DocsUrl.base).
        self._loopback: tuple[Optional[str], bool] = (None, False)

    def _secrets(self) -> tuple[str, ...]:
        """The API key, once known: what a message made here never shows. Not a dummy
        key (shorter than MIN_SUBSTRING_SECRET, ``k42``; a placeholder, ``README_API_KEY``,
        the official package's own): the words of the message itself would go."""
        key = getattr(self, "api_key", None)
        if not isinstance(key, str) or len(key) < MIN_SUBSTRING_SECRET or (
                names_a_placeholder(key) or looks_like_a_placeholder(key)):
            return ()
        return (key,)

    @property
    def docs_lookup_url(self) -> Optional[str]:
        """Where the ``x-documentation-url`` base is looked up: ``readme_api_url``, or
        None (no lookup) when ``metrics_api`` is a loopback address and no
        ``readme_api_url`` was given (argument, environment or ``README_API_URL``).

        A local stand-in for the Metrics API (``readme-metrics collect``, a test's
        collector, ReadMe's cross-SDK suites) then receives what the Metrics API receives
        and nothing else, and the API key is not sent to ReadMe's dashboard from a local
        setup. Read at each lookup, so ``config.METRICS_API`` set later counts too; the
        URL is parsed once per value of ``metrics_api``.
        """
        if self._readme_api_url_given:
            return self.readme_api_url
        metrics_api, loopback = self._loopback
        if metrics_api != self.metrics_api:
            metrics_api = self.metrics_api
            loopback = is_loopback_url(metrics_api)
            self._loopback = (metrics_api, loopback)
        return None if loopback else self.readme_api_url

    def _disabled_identity(self, given: Mapping[str, Any]) -> None:
        """Disabled: keep what was given, unchecked; nothing will use it to send."""
        key = given.get("api_key")
        self.api_key = key if isinstance(key, str) else ""
        function = given.get("grouping_function")
        self.grouping_function = function if callable(function) else _not_configured

    def __repr__(self) -> str:
        if not self.enabled:
            return "MetricsApiConfig(enabled=False)"
        return (
            f"MetricsApiConfig(api_key={key_hint(self.api_key)}, "
            f"buffer_length={self.buffer_length}, "
            f"metrics_api={hidden(shown_url(self.metrics_api), self._secrets())!r}, "
            f"background_worker_mode={self.background_worker_mode})"
        )

    # The upper-case names of the official package, read and set as the options are
    # (a value set is checked as the argument would be).
    README_API_KEY: _OfficialName[str] = _OfficialName("api_key")
    BUFFER_LENGTH: _OfficialName[int] = _OfficialName("buffer_length")
    GROUPING_FUNCTION: _OfficialName[GroupingFunction] = _OfficialName("grouping_function")
    IS_DEVELOPMENT_MODE: _OfficialName[bool] = _OfficialName("development_mode")
    IS_BACKGROUND_MODE: _OfficialName[bool] = _OfficialName("background_worker_mode")
    DENYLIST: _OfficialName[list[str]] = _OfficialName("denylist")
    ALLOWLIST: _OfficialName[list[str]] = _OfficialName("allowlist")
    ALLOWED_HTTP_HOSTS: _OfficialName[list[str]] = _OfficialName("allowed_http_hosts")
    METRICS_API: _OfficialName[str] = _OfficialName("metrics_api")
    README_API_URL: _OfficialName[str] = _OfficialName("readme_api_url")
    BASE_LOG_URL: _OfficialName[Optional[str]] = _OfficialName("base_log_url")
    METRICS_API_TIMEOUT: _OfficialName[float] = _OfficialName("timeout")
    LOGGER: _OfficialName[logging.Logger] = _OfficialName("logger")

