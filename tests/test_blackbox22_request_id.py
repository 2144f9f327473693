"""blackbox22: SPEC section 8, ``RequestIdMiddleware`` "reads the id from the header named by
``REQUEST_ID_HEADER`` ... echoes it on the response", read as a stranger would.

Both twins keep the header in an attribute (``middleware.header``, as CORSMiddleware keeps
its options, which are checked when set later). Set after construction, it was taken
unchecked (``"bad header"`` kept) and only half applied: the response carried the new
header while the id was still read from the old one (the WSGI twin's ``environ_key``, the
ASGI twin's ``_key``, computed once), so a client's ``X-Correlation-Id`` was replaced by a
fresh uuid4. Reading: the header set later is checked as the argument is and used both
ways, from the next request on.

Every case failed before the fix, through the public API only.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from readme_metrics.asgi import RequestIdMiddleware as AsgiRequestId
from readme_metrics.request_id import RequestIdMiddleware, current_request_id
from tests.support.asgi import http_scope, run
from tests.support.wsgi import run_wsgi, wsgi_environ


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(current_request_id()).encode()]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(current_request_id()).encode()})


@pytest.mark.parametrize("kind", [RequestIdMiddleware, AsgiRequestId], ids=["wsgi", "asgi"])
def test_a_header_set_later_that_is_no_header_name_is_refused(kind: Any) -> None:
    middleware = kind(wsgi_app if kind is RequestIdMiddleware else asgi_app)
    with pytest.raises(ValueError, match="REQUEST_ID_HEADER"):
        middleware.header = "bad header"
    assert middleware.header == "X-Request-Id"


def test_a_header_set_later_is_read_and_echoed_wsgi() -> None:
    middleware = RequestIdMiddleware(wsgi_app)
    middleware.header = "X-Correlation-Id"
    result = run_wsgi(middleware, wsgi_environ(headers={"X-Correlation-Id": "corr-42"}))
    assert result.body == b"corr-42"
    assert [value for name, value in result.headers
            if name.lower() == "x-correlation-id"] == ["corr-42"]


def test_a_header_set_later_is_read_and_echoed_asgi() -> None:
    middleware = AsgiRequestId(asgi_app)
    middleware.header = "X-Correlation-Id"
    result = asyncio.run(run(middleware, http_scope(
        headers=[(b"x-correlation-id", b"corr-42")])))
    assert result.body == b"corr-42"
    assert result.headers[b"x-correlation-id"] == b"corr-42"
