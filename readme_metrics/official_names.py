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
    """The metaclass of ``MetricsApiConfig``: an official name set on the class, or
    given a plain value in a subclass's body, raises ``AttributeError`` saying where its option
    is set (the official package read it from the class in every config)."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        for attribute, value in namespace.items():
            inherited = _official(cls.__mro__[1:], attribute)
            # A descriptor of the subclass's own (a property) is its to define.
            if inherited is not None and not hasattr(type(value), "__get__"):
                raise AttributeError(_set_on_the_class(cls, attribute, inherited))

    def __setattr__(cls, name: str, value: Any) -> None:
        current = _official(cls.__mro__, name)
        if current is not None and not isinstance(value, OfficialName):
            raise AttributeError(_set_on_the_class(cls, name, current))
        super().__setattr__(name, value)


def _official(classes: tuple[type, ...], name: str) -> Optional[OfficialName[Any]]:
    """The official name ``name`` that ``classes`` (an MRO) give, if it is one."""
    for base in classes:
        if name in base.__dict__:
            found = base.__dict__[name]
            return found if isinstance(found, OfficialName) else None
    return None


def _set_on_the_class(cls: type, name: str, official: OfficialName[Any]) -> str:
    option = BY_NAME[official.name]
    variable = f", or set {option.variable}" if option.variable else ""
    return (f"readme_metrics: {cls.__name__}.{name} = ... sets no config's {option.name}: "
            f"set it on the config (config.{name} = ...), or pass {option.name}=... to "
            f"{cls.__name__}(...){variable}")
