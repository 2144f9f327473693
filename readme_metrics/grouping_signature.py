"""Whether a grouping function can be called with the request alone, and if not, why.

Checked when the configuration is made (and when a path imported on its first call is
imported), not at each request, where the TypeError would name only this package's
frame. The error names what was given and how its definition reads with the request's
parameter: a function taking none, a class, a method taken from its class.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

__all__ = ["cannot_take_the_request"]


def cannot_take_the_request(function: Callable[..., Any]) -> Optional[str]:
    """Why ``function`` cannot be called with the request alone (``def grouping():``), or
    None. Its own signature is read, not the one a decorator's ``__wrapped__`` shows (the
    wrapper is what is called); a callable without one to read (a builtin) passes."""
    try:
        signature = inspect.signature(function, follow_wrapped=False)
    except Exception:  # its own __getattr__ or __signature__ may raise anything (a KeyError,
        return None  # an unbound proxy's RuntimeError): then it is not checked
    try:
        signature.bind(None)
    except TypeError as exc:
        name = getattr(function, "__qualname__", None) or type(function).__qualname__
        shown = signature.replace(return_annotation=inspect.Signature.empty, parameters=[
            parameter.replace(annotation=inspect.Parameter.empty)
            for parameter in signature.parameters.values()])
        if inspect.isclass(function):
            return _a_class(function, name)
        if str(exc) == "too many positional arguments":  # inspect's words for def grouping():
            if signature.parameters:  # def grouping(*, request): each one keyword-only
                return (f"{name}{shown} takes its arguments by keyword only, but it is "
                        "called with one positional argument, the request: write "
                        f"{_with_the_request(function)}")
            return (f"{name}{shown} takes no argument, but it is called with one, the "
                    f"request: write {_with_the_request(function)}")
        taken_from = _class_of_an_unbound_method(function, signature)
        if taken_from:
            return (f"{name}{shown} is a method taken from the class, not from an "
                    f"instance, so the request would be its self: pass an instance's, "
                    f"{taken_from}().{function.__name__}, or make it a @staticmethod")
        return (f"{name}{shown} cannot be called with the request alone ({exc}): it takes "
                "one argument, the request")
    return None


def _a_class(cls: type, name: str) -> str:
    """The error for a class named where the function is wanted (``myapp.metrics.Auth``
    for ``myapp.metrics.Auth.group``): called with the request it would make an instance,
    no group, and writing ``__call__`` in it, as a callable instance is told, would not
    change that. Names the functions it holds that take the request."""
    held = [f"{name}.{attr}" for attr, value in vars(cls).items()
            if attr[:1] != "_" and isinstance(value, (staticmethod, classmethod))
            and cannot_take_the_request(getattr(cls, attr)) is None]
    wanted = (f"the function in it ({', '.join(held)}?)" if held
              else "a function (a @staticmethod in it)")
    return (f"{name} is a class, which cannot be called with the request alone: name "
            f"{wanted}, or an instance of a class with def __call__(self, request)")


def _class_of_an_unbound_method(function: Callable[..., Any],
                                signature: inspect.Signature) -> Optional[str]:
    """The class's name when ``function`` is a method read from its class (``Grouper.group``
    for ``Grouper().group``): a plain function defined in a class, taking ``self`` first."""
    if not inspect.isfunction(function):
        return None
    first = next(iter(signature.parameters), None)
    owner = function.__qualname__.split(".")[-2:-1]
    if first != "self" or not owner or owner[0] == "<locals>":
        return None
    return owner[0]


def _with_the_request(function: Callable[..., Any]) -> str:
    """How ``function``'s definition reads with the request's parameter: ``def
    grouping(request)``, ``lambda request: ...``, ``def grouping(self, request)``."""
    short = getattr(function, "__name__", None)
    if short == "<lambda>":
        return "lambda request: ..."
    if inspect.ismethod(function):
        return f"def {short}(self, request)"
    if inspect.isfunction(function):
        return f"def {short}(request)"
    return "def __call__(self, request)"
