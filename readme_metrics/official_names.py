"""The official 3.x package's upper-case names of ``MetricsApiConfig``'s settings.

Code written for the official package reads and sets ``config.METRICS_API``,
``config.BUFFER_LENGTH``, ...: on a config they are its options, checked as the
arguments are. The official package kept them as class attributes too, with its
defaults, so ``MetricsApiConfig.METRICS_API`` read a URL and an assignment to it changed
every config's. Here a class read gives the option's default, and an assignment on the
class raises, saying where the option is set: replacing the name would leave
``config.METRICS_API`` reading the new URL while the logs, and the API key, still went to
``metrics_api``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar, overload

from readme_metrics.options import BY_NAME

if TYPE_CHECKING:
    from readme_metrics.config import MetricsApiConfig

_T = TypeVar("_T")


class OfficialName(Generic[_T]):
    """An official 3.x attribute name (``config.METRICS_API``) for option ``name``: reads
    it, and sets it checked and normalised as the constructor would (``ValueError``
    naming the option otherwise), so code written for the official package keeps working.
    Typed by the option's type (``OfficialName[int]``), as the properties it replaced.
    Read on the class, the option's default."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> Any: ...

    @overload
    def __get__(self, config: MetricsApiConfig, owner: type) -> _T: ...

    def __get__(self, config: Optional[MetricsApiConfig], owner: type) -> Any:
        if config is not None:
            return getattr(config, self.name)
        default = BY_NAME[self.name].default
        if self.name == "logger":
            return logging.getLogger("readme_metrics")
        return list(default) if isinstance(default, tuple) else default

    def __set__(self, config: MetricsApiConfig, value: Any) -> None:
        setattr(config, self.name, value)  # checked there, as the option's own name is


class OfficialNames(type):
    """The metaclass of ``MetricsApiConfig``: an official name set on the class raises
    ``AttributeError`` saying where its option is set (the official package read it
    from the class in every config)."""

    def __setattr__(cls, name: str, value: Any) -> None:
        current = cls.__dict__.get(name)
        if isinstance(current, OfficialName) and not isinstance(value, OfficialName):
            option = BY_NAME[current.name]
            variable = f", or set {option.variable}" if option.variable else ""
            raise AttributeError(
                f"readme_metrics: {cls.__name__}.{name} = ... sets no config's "
                f"{option.name}: set it on the config (config.{name} = ...), or pass "
                f"{option.name}=... to {cls.__name__}(...){variable}")
        super().__setattr__(name, value)
