"""The WSGI callables' types, named once for the WSGI middleware, its adapters and the
companions, and bound at run time too: ``typing.get_type_hints`` on our classes (as a
framework's app discovery calls it, Litestar's on every callable of the app's module)
resolves them. Type checkers read typeshed's (``_typeshed.wsgi``, which exists for them
alone); at run time they are plain aliases of the same shape (no framework imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable

__all__ = ["StartResponse", "WSGIApplication", "WSGIEnvironment"]

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    WSGIEnvironment = Dict[str, Any]
    StartResponse = Callable[..., Callable[[bytes], object]]
    WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
