"""review87: an adversarial review of the session's first landings (c1e185c and before).

A raw request target without "?" takes QUERY_STRING (c1e185c, for werkzeug's test
environ) only where no server named itself: under a real server, such a target means
the client sent no query, and a QUERY_STRING then is one an outer middleware of the app's
wrote (a rewrite of ``/v1/items/5`` to ``/items?id=5``, an internal token added): SPEC 4
logs the url exactly as received, and c1e185c logged that query, the token in clear,
only for the requests that came without a query of their own.
"""

from __future__ import annotations

import http.client
from typing import Any, Callable

import pytest

from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi_servers import served

_TOKEN = "internal-s3cr3t-token"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Reads no body: werkzeug's server gives a GET without Content-Length the socket."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _rewriting(app: Callable[..., Any]) -> Callable[..., Any]:
    """An outer middleware of the app's: /v1/items/<id> becomes /items?id=<id>, with an
    internal token for the app behind it; a query the client sent is kept after them."""

    def rewrite(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ["PATH_INFO"]
        if path.startswith("/v1/items/"):
            environ["PATH_INFO"] = "/items"
            query = environ.get("QUERY_STRING", "")
            environ["QUERY_STRING"] = "&".join(
                part for part in (f"id={path.rsplit('/', 1)[1]}&token={_TOKEN}", query)
                if part)
        return app(environ, start_response)

    return rewrite


@pytest.mark.parametrize("kind", ["werkzeug", "waitress"])
@pytest.mark.parametrize(("target", "query"), [
    ("/v1/items/5", []),
    ("/v1/items/5?x=1", [{"name": "x", "value": "1"}]),
])
def test_a_query_an_outer_middleware_wrote_is_not_logged_as_received(
        inline_wrap: Any, collector: Collector, kind: str, target: str,
        query: list[dict[str, str]]) -> None:
    """The url (and queryString) are the request target the client sent, with or without
    a query of its own; failed before for the target without one (its url
    ``.../v1/items/5?id=5&token=internal-s3cr3t-token``)."""
    middleware = inline_wrap(_app)
    with served(kind, _rewriting(middleware)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        finally:
            connection.close()
        [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["url"] == f"http://127.0.0.1:{port}{target}"
    assert request["queryString"] == query
    assert _TOKEN not in str(log)
    assert_valid_log(log)
