"""Configuration: every option as an argument, from the environment, or a default.

Precedence is argument > environment (read with environs, which also loads a ``.env``
file from the working directory) > default, so the same code runs unchanged in
development, CI and production (twelve-factor). Everything is validated once, here, so
the request path never has to second-guess a value.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union
from urllib.parse import urlsplit

from readme_metrics import _env

GroupingFunction = Callable[[Any], Optional[Mapping[str, Any]]]

_UNSET: Any = object()


def _import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` or ``"package.module:attr"``."""
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a 'module.attribute' path")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def env_setting(option: str, variable: str, given: Any, parse: str) -> Any:
    """The argument if given, else the environment variable (None when unset or empty)."""
    if given is not None and given is not _UNSET:
        return given
    return _env.read(option, variable, parse)


def _split_list(value: Union[str, Iterable[str]]) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def _merge_alias(option: str, given: Any, alias: str, alias_given: Any) -> list[str]:
    """``given`` plus the deprecated alias's entries, each a list or a comma-separated str.

    list() of a str would split it into characters: "password" must stay one key.
    """
    for name, value in ((option, given), (alias, alias_given)):
        if value is not None and not isinstance(value, (str, list, tuple, set, frozenset)):
            raise ValueError(
                f"readme_metrics: {name} must be a list of strings, got {value!r}"
            )
    return _split_list(given or []) + _split_list(alias_given)


def _check_url(option: str, variable: str, value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"readme_metrics: {option} ({variable}) must be an http(s) URL, got {value!r}"
        )
    return value.rstrip("/")


class MetricsApiConfig:
    """Options for :class:`readme_metrics.MetricsMiddleware` (SPEC section 2).

    .. code-block:: python

        config = MetricsApiConfig(
            api_key="rdme_...",
            grouping_function=lambda req: {"api_key": req.headers.get("X-Api-Key")},
        )

    Arguments left out are read from ``README_*`` environment variables, then defaulted.
    Invalid values raise ``ValueError`` naming the option and its variable.
    """

    # The positional order is the official package's, so existing code keeps working.
    def __init__(
        self,
        api_key: Optional[str] = None,
        grouping_function: Union[GroupingFunction, str, None] = None,
        buffer_length: Optional[int] = None,
        development_mode: Optional[bool] = None,
        background_worker_mode: Optional[bool] = None,
        denylist: Optional[Sequence[str]] = None,
        allowlist: Optional[Sequence[str]] = None,
        blacklist: Optional[Sequence[str]] = None,
        whitelist: Optional[Sequence[str]] = None,
        allowed_http_hosts: Optional[Sequence[str]] = None,
        timeout: Optional[float] = None,
        logger: Optional[logging.Logger] = None,
        *,
        flush_interval: Optional[float] = None,
        base_log_url: Optional[str] = _UNSET,
        metrics_api: Optional[str] = None,
        readme_api_url: Optional[str] = None,
        max_body_bytes: Optional[int] = None,
        max_queue_size: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        trusted_proxies: Optional[int] = None,
        skip_methods: Optional[Sequence[str]] = None,
        shutdown_timeout: Optional[float] = None,
    ) -> None:
        def pick(option: str, variable: str, given: Any, parse: str, default: Any) -> Any:
            value = env_setting(option, variable, given, parse)
            return default if value is None else value

        api_key = pick("api_key", "README_API_KEY", api_key, "str", None)
        if not api_key or not isinstance(api_key, str):
            raise ValueError(
                "readme_metrics: api_key is required: pass api_key=... or set README_API_KEY"
            )
        self.api_key: str = api_key

        grouping = pick(
            "grouping_function", "README_GROUPING_FUNCTION", grouping_function, "str", None
        )
        if isinstance(grouping, str):
            try:
                grouping = _import_dotted(grouping)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ValueError(
                    "readme_metrics: grouping_function (README_GROUPING_FUNCTION) "
                    f"cannot import {grouping!r}: {exc}"
                ) from exc
        if not callable(grouping):
            raise ValueError(
                "readme_metrics: grouping_function (README_GROUPING_FUNCTION) is required "
                "and must be a callable or a 'module.attribute' path"
            )
        self.grouping_function: GroupingFunction = grouping

        def number(option: str, variable: str, given: Any, default: Any, kind: type,
                   minimum: float, exclusive: bool = False) -> Any:
            value = pick(option, variable, given, kind.__name__, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"readme_metrics: {option} ({variable}) must be a number, got {value!r}"
                )
            if kind is int and value != int(value):
                raise ValueError(
                    f"readme_metrics: {option} ({variable}) must be a whole number, "
                    f"got {value!r}"
                )
            if value < minimum or (exclusive and value == minimum):
                relation = ">" if exclusive else ">="
                raise ValueError(
                    f"readme_metrics: {option} ({variable}) must be {relation} {minimum}, "
                    f"got {value!r}"
                )
            return kind(value)

        self.buffer_length: int = number(
            "buffer_length", "README_BUFFER_LENGTH", buffer_length, 10, int, 1
        )
        self.flush_interval: float = number(
            "flush_interval", "README_FLUSH_INTERVAL", flush_interval, 5.0, float, 0
        )
        self.timeout: float = number("timeout", "README_TIMEOUT", timeout, 3.0, float, 0, True)
        # 256 KiB covers practically every JSON API body while bounding memory per log.
        self.max_body_bytes: int = number(
            "max_body_bytes", "README_MAX_BODY_BYTES", max_body_bytes, 262144, int, 0
        )
        self.max_queue_size: int = number(
            "max_queue_size", "README_MAX_QUEUE_SIZE", max_queue_size, 10000, int, 1
        )
        self.max_queue_bytes: int = number(
            "max_queue_bytes", "README_MAX_QUEUE_BYTES", max_queue_bytes, 64 * 1024 * 1024,
            int, 1,
        )
        self.trusted_proxies: int = number(
            "trusted_proxies", "README_TRUSTED_PROXIES", trusted_proxies, 0, int, 0
        )
        self.shutdown_timeout: float = number(
            "shutdown_timeout", "README_SHUTDOWN_TIMEOUT", shutdown_timeout, 5.0, float, 0
        )

        def flag(option: str, variable: str, given: Any, default: bool) -> bool:
            value = pick(option, variable, given, "bool", default)
            if not isinstance(value, bool):
                raise ValueError(
                    f"readme_metrics: {option} ({variable}) must be true or false, "
                    f"got {value!r}"
                )
            return value

        self.development_mode: bool = flag(
            "development_mode", "README_DEVELOPMENT_MODE", development_mode, False
        )
        self.background_worker_mode: bool = flag(
            "background_worker_mode", "README_BACKGROUND_WORKER_MODE",
            background_worker_mode, True,
        )

        if blacklist is not None:
            warnings.warn(
                "readme_metrics: blacklist is deprecated, use denylist",
                DeprecationWarning, stacklevel=2,
            )
            denylist = _merge_alias("denylist", denylist, "blacklist", blacklist)
        if whitelist is not None:
            warnings.warn(
                "readme_metrics: whitelist is deprecated, use allowlist",
                DeprecationWarning, stacklevel=2,
            )
            allowlist = _merge_alias("allowlist", allowlist, "whitelist", whitelist)

        def str_list(option: str, variable: str, given: Any, default: list[str]) -> list[str]:
            value = pick(option, variable, given, "str", None)
            if value is None:
                return list(default)
            if not isinstance(value, (str, list, tuple, set, frozenset)):
                raise ValueError(
                    f"readme_metrics: {option} ({variable}) must be a list of strings, "
                    f"got {value!r}"
                )
            return _split_list(value)

        self.denylist: list[str] = str_list("denylist", "README_DENYLIST", denylist, [])
        self.allowlist: list[str] = str_list("allowlist", "README_ALLOWLIST", allowlist, [])
        self.allowed_http_hosts: list[str] = [
            host.lower()
            for host in str_list(
                "allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", allowed_http_hosts, []
            )
        ]
        self.skip_methods: list[str] = [
            method.upper()
            for method in str_list("skip_methods", "README_SKIP_METHODS", skip_methods,
                                   ["OPTIONS"])
        ]

        self.metrics_api: str = _check_url(
            "metrics_api", "README_METRICS_SERVER",
            pick("metrics_api", "README_METRICS_SERVER", metrics_api, "str",
                 "https://metrics.readme.io"),
        )
        self.readme_api_url: str = _check_url(
            "readme_api_url", "README_API_URL",
            pick("readme_api_url", "README_API_URL", readme_api_url, "str",
                 "https://dash.readme.com/api"),
        )
        base = pick("base_log_url", "README_BASE_LOG_URL", base_log_url, "str", None)
        self.base_log_url: Optional[str] = (
            None if base is None else _check_url("base_log_url", "README_BASE_LOG_URL", base)
        )

        if logger is not None and not isinstance(logger, logging.Logger):
            raise ValueError("readme_metrics: logger must be a logging.Logger")
        self.logger: logging.Logger = logger or logging.getLogger("readme_metrics")

    def __repr__(self) -> str:
        # The API key is a secret: show only its mask-style tail, never the value.
        return (
            f"MetricsApiConfig(api_key='...{self.api_key[-4:]}', "
            f"buffer_length={self.buffer_length}, metrics_api={self.metrics_api!r}, "
            f"background_worker_mode={self.background_worker_mode})"
        )

    # Read-only upper-case names of the official package, for code that inspects them.
    @property
    def README_API_KEY(self) -> str:  # noqa: N802
        return self.api_key

    @property
    def BUFFER_LENGTH(self) -> int:  # noqa: N802
        return self.buffer_length

    @property
    def GROUPING_FUNCTION(self) -> GroupingFunction:  # noqa: N802
        return self.grouping_function

    @property
    def IS_DEVELOPMENT_MODE(self) -> bool:  # noqa: N802
        return self.development_mode

    @property
    def IS_BACKGROUND_MODE(self) -> bool:  # noqa: N802
        return self.background_worker_mode

    @property
    def DENYLIST(self) -> list[str]:  # noqa: N802
        return self.denylist

    @property
    def ALLOWLIST(self) -> list[str]:  # noqa: N802
        return self.allowlist

    @property
    def ALLOWED_HTTP_HOSTS(self) -> list[str]:  # noqa: N802
        return self.allowed_http_hosts

    @property
    def METRICS_API(self) -> str:  # noqa: N802
        return self.metrics_api

    @property
    def METRICS_API_TIMEOUT(self) -> float:  # noqa: N802
        return self.timeout

    @property
    def LOGGER(self) -> logging.Logger:  # noqa: N802
        return self.logger
