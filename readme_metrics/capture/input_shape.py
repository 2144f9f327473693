"""What the server's ``wsgi.input`` accepts, kept by the tee that replaces it.

Servers' inputs differ beyond PEP 3333's four methods, and an app may depend on any of
the differences, so the tee takes what the server's input takes and refuses the rest:

- keyword arguments: gunicorn's ``read(size=...)`` and ``readline(size=...)``,
  granian's ``read(size=...)`` and ``readline(_size=...)``; io's objects (waitress,
  werkzeug's development server, wsgiref) and uWSGI's take none
  (:func:`size_argument`);
- ``readlines(hint)``: io reads lines until their total passes the hint, ``BytesIO``
  (waitress's small bodies) until it reaches it, gunicorn, granian and uWSGI read every
  line (:func:`readlines_stop`);
- ``with`` and iteration, looked up on the type, not through ``__getattr__``: io's
  objects have ``__enter__``/``__exit__``, gunicorn's, granian's and uWSGI's do not
  (:func:`shaped`).
"""

from __future__ import annotations

import inspect
import io
from functools import cache
from typing import Any, Callable, Optional

__all__ = ["REFUSED", "readlines_stop", "shaped", "size_argument"]

#: The special methods the tee has exactly when the server's input's type has them.
SPECIAL = ("__iter__", "__next__", "__enter__", "__exit__")

#: :func:`size_argument`: the server's method would not take these arguments (or cannot
#: tell): the call goes to it as the app made it, to raise as it does bare.
REFUSED: Any = object()


def size_argument(method: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    """The size (or hint) a call of the server's ``method`` with ``args`` and ``kwargs``
    asks for (None: its default), or :data:`REFUSED`."""
    try:
        bound = inspect.signature(method).bind(*args, **kwargs)
    except (TypeError, ValueError):  # refused, or no signature (uWSGI's C methods)
        return REFUSED
    values = list(bound.arguments.values())
    if len(values) > 1:
        return REFUSED
    return values[0] if values else None


def _past(total: int, hint: int) -> bool:
    return total > hint


def _reached(total: int, hint: int) -> bool:
    return total >= hint


def readlines_stop(stream: Any) -> Optional[Callable[[int, int], bool]]:
    """When ``stream.readlines(hint)`` stops, given the total of the lines read so far and a
    positive hint; None where it reads every line (the hint is advice, PEP 3333)."""
    if isinstance(stream, io.BytesIO):
        return _reached
    if isinstance(stream, io.IOBase):
        return _past  # "if the total size of all lines so far exceeds hint"
    return None


def shaped(base: Any, source: type) -> Any:
    """``base`` with those of :data:`SPECIAL` that ``source`` has, each as ``base``'s
    ``_iter``, ``_next``, ``_enter``, ``_exit`` (one class per set of them)."""
    return _shaped(base, source)


@cache
def _shaped(base: Any, source: Any) -> Any:
    return _variant(base, tuple(name for name in SPECIAL
                                if getattr(source, name, None) is not None))


@cache
def _variant(base: type, names: tuple[str, ...]) -> type:
    members: dict[str, Any] = {"__slots__": (), "__module__": base.__module__,
                               "__qualname__": base.__qualname__, "__doc__": base.__doc__}
    for name in names:
        members[name] = getattr(base, "_" + name.strip("_"))
    return type(base.__name__, (base,), members)
