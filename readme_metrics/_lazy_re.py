"""Regular expressions compiled on first use, not at import (import1).

A module's table of patterns for a kind of body most requests never carry (the
redaction of a document hidden in a form, three escapes deep ...) cost every cold start
(a recycled gunicorn worker, a serverless start, a ``flask run`` reload) its compiling:
``lazy_compile`` stands for ``re.compile`` at module level and compiles on the first
look-up of any of the pattern's attributes (``search``, ``finditer``, ``pattern`` ...).
That first look-up binds the compiled pattern's methods and attributes on the object
itself, so every later call finds them in the instance's dict: no check per call, the
same work as on a compiled pattern (benchmarks/instructions.py).

Only attribute look-ups are served: a lazy pattern is not a ``re.Pattern``, so it is not
for ``re.sub(pattern, ...)``, ``isinstance`` or ``re.compile(pattern)``; give those a
compiled one.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

__all__ = ["lazy_compile"]

#: Bound on the object at the first look-up (anything else is served by __getattr__).
_BOUND = ("search", "match", "fullmatch", "finditer", "findall", "split", "sub", "subn",
          "pattern", "flags", "groups", "groupindex", "scanner")


class _LazyPattern:
    """A pattern compiled on the first look-up of one of its attributes."""

    def __init__(self, source: Any, flags: int) -> None:
        self._lazy_source = (source, flags)

    def __getattr__(self, name: str) -> Any:
        # Only called for a name not (yet) in the instance's dict.
        if name.startswith("_lazy_"):
            raise AttributeError(name)
        compiled = re.compile(*self._lazy_source)
        for bound in _BOUND:
            setattr(self, bound, getattr(compiled, bound))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_compile({self._lazy_source[0]!r}, {self._lazy_source[1]!r})"


def lazy_compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, compiled on first use (see the module)."""
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, flags))
