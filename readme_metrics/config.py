"""Configuration: every option as an argument, from the environment, or a default.

Precedence is argument > environment (read with environs, which also loads a ``.env``
file from the working directory, once per process: :mod:`readme_metrics._env`) > default,
so the same code runs unchanged in development, CI and production (twelve-factor). An
argument given explicitly wins even when it is ``None`` (``base_log_url=None`` means "no
base URL", whatever ``README_BASE_LOG_URL`` says; ``None`` for any other option means its
default). Everything is validated once, here, so the request path never has to
second-guess a value. The options themselves, with their variables, defaults, checks and
documentation, are the table in :mod:`readme_metrics.options`; the start-up warnings
about the environment itself (a misspelled variable, a ``.env`` line or file not read) are
:mod:`readme_metrics.env_warnings`', and the middlewares' check of the config they are
given is :mod:`readme_metrics.middleware_arguments`'. Each option's value, resolved and
checked, is :mod:`readme_metrics.config_values`'; what a refusal of one says,
:mod:`readme_metrics.config_refusals`'; the official package's upper-case names
(``config.METRICS_API``), :mod:`readme_metrics.official_names`'.
"""

from __future__ import annotations

import logging
import sys
import warnings as _warnings
from typing import (
    Any,
    Awaitable,
    Callable,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from readme_metrics._env import raw
from readme_metrics._http import shown_url
from readme_metrics._logging import (
    MIN_SUBSTRING_SECRET,
    LogLimiter,
    QuietLogger,
    hidden,
    reloader_parent,
)
from readme_metrics._loopback import is_loopback_url
from readme_metrics.config_refusals import refusal
from readme_metrics.config_values import Unset as _Unset
from readme_metrics.config_values import checked_value as _checked
from readme_metrics.config_values import resolve as _resolve
from readme_metrics.config_values import with_aliases as _with_aliases
from readme_metrics.env_warnings import (
    dotenv_beside_the_app,
    emptied_variables,
    lines_not_assigned,
    misspelled_variables,
    network_variables_in_dotenv,
)
from readme_metrics.key_checks import (
    KEY_SAID,
    key_said,
    looks_like_a_placeholder,
    names_a_placeholder,
    stand_in_key_warning,
)
from readme_metrics.official_names import OfficialName, OfficialNames
from readme_metrics.options import BY_NAME, OPTIONS
from readme_metrics.under_pytest import warn_under_pytest

#: ``grouping_function(request)``: the caller's mapping or None; under the ASGI middlewares
#: (and Django's under ASGI) also an ``async def`` one (its result is awaited), as README's
#: FastAPI quick start has.
GroupingFunction = Callable[
    [Any], Union[Optional[Mapping[str, Any]], Awaitable[Optional[Mapping[str, Any]]]]]

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


def _warn(logger: logging.Logger, warnings: list[str]) -> None:
    """Log the start-up ``warnings`` on the config's ``logger``, each once per process
    (in a reloader's child only: :func:`reloader_parent`)."""
    if warnings and reloader_parent():
        return
    for message in warnings:
        if _WARNED.due(f"{logger.name}\n{message}"):
            QuietLogger(logger).warning("%s", message)  # the app's filters may raise


class MetricsApiConfig(metaclass=OfficialNames):
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
        early = misspelled_variables() + lines_not_assigned() + emptied_variables(given)
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
                said = refusal(exc, option.name, given, self._secrets())
                if said == str(exc):
                    raise
                raise ValueError(said) from exc.__cause__
        if self.enabled:
            passed = isinstance(key, str) and key != ""
            self._key_from = (key_said(passed), self.api_key)
            warnings += dotenv_beside_the_app(self.grouping_function, given)
            warnings += network_variables_in_dotenv()
            if "api_key" not in given:  # README_API_KEY=any-key: README's "See it locally"
                warnings += stand_in_key_warning(self.api_key, self.metrics_api)
            warn_under_pytest(self)  # a test suite's calls sent to ReadMe
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

    def __setattr__(self, name: str, value: Any) -> None:
        # Once made (``_loopback`` is set last), an option set by its own name, or by a
        # deprecated alias, is checked and normalised as the argument is (blackbox22:
        # ``config.skip_methods = ["head"]`` was kept lower-case and HEAD still logged).
        option = BY_NAME.get(name)
        if option is None or name == "enabled" or "_loopback" not in self.__dict__:
            object.__setattr__(self, name, value)
            return
        if option.alias_of is not None:
            _warnings.warn(f"readme_metrics: {name} is deprecated, use {option.alias_of}",
                          DeprecationWarning, stacklevel=2)
            option = BY_NAME[option.alias_of]
        said: list[str] = []
        checked = _checked(option, option.default if value is None else value, said)
        _warn(self.logger, said)
        object.__setattr__(self, option.name, checked)
        if option.name == "readme_api_url":
            # None means the default, as the constructor's readme_api_url=None does: not
            # looked up beside a loopback METRICS_API (docs_lookup_url).
            object.__setattr__(self, "_readme_api_url_given", value is not None)

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
    def api_key_said(self) -> str:
        """How a refusal of the key names it: where it came from (the argument,
        README_API_KEY from the environment or a ``.env`` file), never its value."""
        said, key = getattr(self, "_key_from", (KEY_SAID, None))
        if key is not None and key != getattr(self, "api_key", None):
            return "the api_key set on the MetricsApiConfig"
        return said

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
    README_API_KEY: OfficialName[str] = OfficialName("api_key")
    BUFFER_LENGTH: OfficialName[int] = OfficialName("buffer_length")
    GROUPING_FUNCTION: OfficialName[GroupingFunction] = OfficialName("grouping_function")
    IS_DEVELOPMENT_MODE: OfficialName[bool] = OfficialName("development_mode")
    IS_BACKGROUND_MODE: OfficialName[bool] = OfficialName("background_worker_mode")
    DENYLIST: OfficialName[list[str]] = OfficialName("denylist")
    ALLOWLIST: OfficialName[list[str]] = OfficialName("allowlist")
    ALLOWED_HTTP_HOSTS: OfficialName[list[str]] = OfficialName("allowed_http_hosts")
    METRICS_API: OfficialName[str] = OfficialName("metrics_api")
    README_API_URL: OfficialName[str] = OfficialName("readme_api_url")
    BASE_LOG_URL: OfficialName[Optional[str]] = OfficialName("base_log_url")
    METRICS_API_TIMEOUT: OfficialName[float] = OfficialName("timeout")
    LOGGER: OfficialName[logging.Logger] = OfficialName("logger")

