"""Black-box helpers: the middleware through its public API, expected values from SPEC words.

The tests that use these compute what they expect from the SPEC itself (the mask from
hashlib, the creator from platform), never from the library's helpers, so a drift in the
library cannot hide in the test. The ``inline_wrap`` fixture (tests/conftest.py) builds the
middleware with :func:`inline_options`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from typing import Any, Callable, Optional

from tests.support.command import REPO_ROOT
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log
from tests.support.processes import run_command
from tests.support.wsgi import run_wsgi, wsgi_environ

API_KEY = "rdme_contract_audit_key_9876"
DOCS = "https://docs.example.com"
CALLER = {"api_key": "caller-key-0042", "label": "Owlbert", "email": "owlbert@example.com"}


def spec_mask(value: str) -> str:
    """SPEC 4: "sha512-" + base64(sha512(value)) + "?" + value[-4:]."""
    digest = hashlib.sha512(value.encode("utf-8")).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + value[-4:]


def caller(req: Any) -> dict[str, str]:
    """A grouping function that always names :data:`CALLER`."""
    return dict(CALLER)


def pairs(items: list[dict[str, str]]) -> dict[str, str]:
    """HAR name/value pairs (headers, queryString, params) as a dict."""
    return {item["name"]: item["value"] for item in items}


def inline_options(options: dict[str, Any]) -> dict[str, Any]:
    """Each log sent at once (inline, batches of 1), the docs URL known, the caller set,
    a POST given 30 s (not 3) for its answer."""
    options.setdefault("grouping_function", caller)
    options.setdefault("buffer_length", 1)
    options.setdefault("background_worker_mode", False)
    options.setdefault("base_log_url", DOCS)
    # Not these tests' subject: the timeout's own tests set theirs (INLINE_TIMEOUT). Set
    # in background mode too (test_delivery_middleware and review20 ask for it and
    # count logs), so not fake_api.inline_timeout's rule, which is inline only (flaky62).
    options.setdefault("timeout", INLINE_TIMEOUT)
    return options


def reading_app(status: str = "200 OK", headers: Optional[list[tuple[str, str]]] = None,
                body: Optional[list[bytes]] = None) -> Any:
    """An app that reads its whole body (as PEP 3333 allows) and answers as told."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        seen["body"] = stream.read(int(length)) if length else stream.read()
        start_response(status, list(headers if headers is not None else
                                    [("Content-Type", "text/plain")]))
        return list(body if body is not None else [b"ok"])

    app.seen = seen  # type: ignore[attr-defined]  # what the app read, for assertions
    return app


def exchange(middleware: Any, collector: Collector, **request: Any
             ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Send one request straight through the middleware; (result, log, HAR entry)."""
    before = len(collector.logs)
    result = run_wsgi(middleware, wsgi_environ(**request))
    assert middleware.flush(5.0) is True
    logs = collector.wait_for_logs(before + 1)
    assert len(logs) == before + 1, "one exchange must give exactly one log"
    log = logs[-1]
    assert_valid_log(log)
    return result, log, log["request"]["log"]["entries"][0]


def no_log_sent(middleware: Any, collector: Collector) -> None:
    """Flush, then check that nothing at all reached the collector."""
    middleware.flush(2.0)
    assert collector.logs == []


def json_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A small JSON API: echoes the path, so a log can be told apart by its URL."""
    body = json.dumps({"path": environ["PATH_INFO"], "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def hit(middleware: Any, path: str = "/", **request: Any) -> Any:
    """One request straight through ``middleware`` (a :class:`WSGIResult`)."""
    return run_wsgi(middleware, wsgi_environ(path=path, **request))


def documentation_url(result: Any) -> Optional[str]:
    """The response's one ``x-documentation-url`` header, or None."""
    values = result.header("x-documentation-url")
    assert len(values) <= 1, values
    return values[0] if values else None


def run_python(script: str, *args: str, timeout: float = 60.0,
               env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    """``python -c script args`` from the repository, without the machine's README_*."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    environment.update(env or {})
    return run_command([sys.executable, "-c", script, *args], capture_output=True,
                       text=True, timeout=timeout, env=environment, cwd=str(REPO_ROOT),
                       stdin=subprocess.DEVNULL)
