"""review93: newcomer20's optional ``start_response`` (df48492), read as a signature.

The WSGI middleware's ``__call__(environ, start_response=None)`` takes the scope alone, so
``inspect.signature`` showed an ASGI 2 app: this library's own ``single_callable`` (the
ASGI CORS and request id companions') took the WSGI middleware for one, wrapped it and
called it with the scope alone, which then said an ASGI server (uvicorn or daphne) had
done so. Its declared signature is PEP 3333's again; the call without ``start_response``
still reaches the named error. Both companion tests failed on main at df48492."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.asgi import CORSMiddleware, RequestIdMiddleware


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_the_declared_signature_is_pep_3333s(
        inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    middleware = inline_wrap(_wsgi_app)
    for follow in (True, False):
        signature = inspect.signature(middleware, follow_wrapped=follow)
        assert list(signature.parameters) == ["environ", "start_response"]
        signature.bind(None, None)
        with pytest.raises(TypeError):
            signature.bind(None)  # the scope alone: no ASGI 2 app


@pytest.mark.parametrize("companion", [CORSMiddleware, RequestIdMiddleware])
def test_an_asgi_companion_does_not_take_it_for_an_asgi2_app(
        companion: Any, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """Was a _Asgi2 wrapping it; then kept as it was; since newcomer21 refused, as the
    WSGI app it is, naming the WSGI twin."""
    middleware = inline_wrap(_wsgi_app)
    with pytest.raises(TypeError, match=r"app is a WSGI app \(MetricsMiddleware: .*Wrap "
                       rf"it with readme_metrics\.[a-z_]+\.{companion.__name__}\(app\)$"):
        companion(middleware)


def test_a_call_with_the_scope_alone_still_names_the_asgi_server(
        inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    middleware = inline_wrap(_wsgi_app)
    with pytest.raises(TypeError, match="an ASGI server called it with a scope alone"):
        middleware({"type": "http", "asgi": {"version": "3.0"}})  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        middleware({"REQUEST_METHOD": "GET"})  # type: ignore[call-arg]
