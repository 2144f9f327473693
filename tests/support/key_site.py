"""One middleware (WSGI or ASGI) whose grouping function returns the key a test sets,
posting each log at once to a real collector: for tests that send a caller's key in
some part of a request and look for it in what was posted (tests/support/leaks.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Optional
from urllib.parse import unquote, unquote_to_bytes

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.masking import mask
from tests.support.asgi import body_messages, http_scope, run
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.leaks import found_unmasked
from tests.support.wsgi import run_wsgi, wsgi_environ

__all__ = ["Caller", "Site", "app", "asgi_app", "without_made_fields"]

def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


# What the library makes itself (ids, clocks, versions): a digits-only key such as "42"
# or "30" turns up in a uuid or a timestamp by chance, which is no leak.
_MADE_LOG = ("_id", "_version")
_MADE_ENTRY = ("startedDateTime", "time", "timings")


def without_made_fields(batch: bytes) -> bytes:
    """``batch`` (a posted JSON array of logs) without the values the library makes
    itself, so a search for a key finds only what came from the request or response."""
    logs = json.loads(batch)
    for log in logs:
        for name in _MADE_LOG:
            log.pop(name, None)
        har = log.get("request", {}).get("log", {})
        har.pop("creator", None)
        for entry in har.get("entries", []):
            for name in _MADE_ENTRY:
                entry.pop(name, None)
    return json.dumps(logs).encode()


class Caller:
    """The key the grouping function returns, set per request by the test."""

    key = "k42"

    def __call__(self, request: Any) -> dict[str, str]:
        return {"api_key": self.key}


class Site:
    """One middleware (WSGI or ASGI) posting each log at once to a real collector."""

    def __init__(self, kind: str, collector: Collector) -> None:
        self.kind, self.collector, self.caller = kind, collector, Caller()
        self.batch = b""
        config = MetricsApiConfig(api_key="rdme_leak4_key", metrics_api=collector.url,
                                  grouping_function=self.caller, buffer_length=1,
                                  background_worker_mode=False, timeout=INLINE_TIMEOUT)
        self.middleware: Any = (MetricsMiddleware(app, config) if kind == "wsgi"
                                else AsgiMetricsMiddleware(asgi_app, config))

    def send(self, key: str, path: str = "/", query: str = "", method: str = "GET",
             headers: Optional[dict[str, str]] = None, body: bytes = b"",
             ) -> tuple[dict[str, Any], list[str]]:
        """One request (``path`` and ``query`` as sent, percent-encoded; header values as
        text, sent as UTF-8); the log's entry, and where the batch still spells ``key``
        outside its mask. The batch is kept as :attr:`batch`."""
        self.caller.key = key
        # Counted, not parsed: a module's site sends hundreds of requests to one
        # collector, and parsing every batch again per request made it quadratic.
        before = len(self.collector.wait_for_posts(0))
        if self.kind == "wsgi":
            environ = wsgi_environ(method, "/", {
                name: value.encode("utf-8").decode("latin-1")
                for name, value in (headers or {}).items()}, body, query)
            environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
            run_wsgi(self.middleware, environ)
        else:
            scope = http_scope(method, unquote(path, errors="surrogateescape"),
                               query.encode("latin-1"), [
                (name.lower().encode(), value.encode()) for name, value in
                (headers or {}).items()])
            scope["raw_path"] = path.encode("latin-1")
            if headers and "Host" in headers:
                scope["headers"] = [pair for pair in scope["headers"]
                                    if pair != (b"host", b"api.example.com")]
            asyncio.run(run(self.middleware, scope, body_messages(body), then="disconnect"))
        # One log a POST (buffer_length=1): the request's is the last.
        self.batch = self.collector.wait_for_posts(before + 1, timeout=10)[-1].body
        return (json.loads(self.batch)[-1]["request"]["log"]["entries"][0],
                found_unmasked([without_made_fields(self.batch)], key, mask(key)))

    def close(self) -> None:
        self.middleware.close()
