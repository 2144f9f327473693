"""The official package's upper-case attribute names on a config (``config.METRICS_API``,
``config.BUFFER_LENGTH``): :class:`OfficialName`, a descriptor per name that reads and
sets the option it stands for, so code written for the official 3.x package keeps
working on :class:`~readme_metrics.config.MetricsApiConfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar, overload

if TYPE_CHECKING:
    from readme_metrics.config import MetricsApiConfig

__all__ = ["OfficialName"]

_T = TypeVar("_T")


class OfficialName(Generic[_T]):
    """An official 3.x attribute name (``config.METRICS_API``) for option ``name``: reads
    it, and sets it checked and normalised as the constructor would (``ValueError``
    naming the option otherwise), so code written for the official package keeps working.
    Typed by the option's type (``OfficialName[int]``), as the properties it replaced."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> OfficialName[_T]: ...

    @overload
    def __get__(self, config: MetricsApiConfig, owner: type) -> _T: ...

    def __get__(self, config: Optional[MetricsApiConfig], owner: type) -> Any:
        return self if config is None else getattr(config, self.name)

    def __set__(self, config: MetricsApiConfig, value: Any) -> None:
        setattr(config, self.name, value)  # checked there, as the option's own name is
