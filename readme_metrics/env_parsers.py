"""The environs ``Env`` objects the configuration's values are parsed by, made on the first
parse asked for (import49): environs, and marshmallow under it, cost a start about a fifth
of ``import readme_metrics.middleware``, and a configuration from arguments and unset
variables parses nothing. :mod:`readme_metrics.env_source` looks a variable's text up
without them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from environs import Env

__all__ = ["env_error", "file_env", "given_env"]

_classes: dict[str, Any] = {}


def _made() -> dict[str, Any]:
    """The two ``Env`` classes, environs imported on the first call."""
    if _classes:
        return _classes
    from environs import Env, EnvError

    class _FileEnv(Env):
        """An ``Env`` that also finds the ``.env`` file's variables (the real ones win)."""

        def __init__(self, file: Mapping[str, str]) -> None:
            super().__init__()
            self._file = file

        def _get_from_environ(self, key: str, default: Any, *,
                              proxied: bool = False) -> Any:
            if key not in os.environ and key in self._file:  # the real environment wins
                return key, self._file[key], None
            return super()._get_from_environ(key, default, proxied=proxied)

    class _Given(Env):
        """An ``Env`` that reads one given text for any variable (a value already read)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self._text = text

        def _get_from_environ(self, key: str, default: Any, *,
                              proxied: bool = False) -> Any:
            return key, self._text, None

    _classes.update(file=_FileEnv, given=_Given, error=EnvError)
    return _classes


def file_env(file: Mapping[str, str]) -> Env:
    """An ``Env`` over the environment and the ``.env`` file's values ``file``."""
    return _made()["file"](file)


def given_env(text: str) -> Env:
    """An ``Env`` that reads ``text`` for any variable."""
    return _made()["given"](text)


def env_error() -> type[Exception]:
    """environs' ``EnvError`` (what its parsers raise for a value they refuse)."""
    return _made()["error"]
