"""cpu27 (issue 11): the caller's key looked for once in a log's header values.

1. With the key gate on (a long key: ``CallerKey.gate``), ``headers()`` no longer tests
   each value sent as it comes for the key (a ``len()`` and up to four searches a
   header): the gate searches every value anyway, and a log it says no to has its
   headers built again with the tests where a value may hold the key. Counted: the
   ``len()`` calls of ``headers()`` in bench.py's small GET's build: 12 fewer than
   without the gate (failed before: 22, the same as without it).
2. The logs are those of the build without the gate (every header value spelling the
   key, with and without lists, a gate "no" for a long body): compared whole.
3. A gate "no" with no header value holding a mark of the key builds no header twice
   (and, cpu44, without lists none with one either: tests/test_cpu44_headers_once.py).
4. ``Delivery.accepting`` (a property: a Python call a request) is not called while a
   request with a ``base_log_url`` is served, WSGI or ASGI (failed before: 1 call each).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, Callable, Optional

import pytest

from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware
from readme_metrics.delivery.core import Delivery
from readme_metrics.exchange import Group
from readme_metrics.har import build as har_build
from readme_metrics.har import headers as har_headers
from readme_metrics.har.build import _entry
from readme_metrics.har.credentials import CallerKey, for_key
from readme_metrics.har.redaction import Redactor
from tests.support.asgi import DOCS, http_scope
from tests.support.asgi import run as asgi_run
from tests.support.bench_request import GET_HEADERS, TOKEN
from tests.support.capture_wrap import (
    wrap_fixture,  # noqa: F401 - ``wrap``
    wrapping,
)
from tests.support.exchanges import make_exchange
from tests.support.fake_api import Collector
from tests.support.work_count import calls_where
from tests.support.wsgi import run_wsgi, wsgi_environ

KEY = TOKEN
#: The code of ``har.headers.headers``, and of ``Delivery.accepting`` (a property).
HEADERS = har_headers.headers.__code__
ACCEPTING = Delivery.accepting.fget.__code__  # type: ignore[attr-defined]
SPACED = "my secret key value 0123456789 abcdef"

# bench.py's small GET: 13 request headers (tests/support/bench_request), 3 response headers.
RESPONSE_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "62"),
                    ("x-documentation-url", "https://d/logs/a")]


def _spellings(key: str) -> list[str]:
    """Header values holding ``key`` as the scrub and headers() read it."""
    encoded = "".join(f"%{ord(c):02X}" for c in key)
    b64 = base64.b64encode(key.encode()).decode()
    return [
        key, f"token {key} end", encoded, f"a={encoded.lower()}",
        "\\u00" + f"{ord(key[0]):02x}" + key[1:], json.dumps({"k": key}).replace("_", "\\u005f"),
        key.replace(" ", "+"), f"Basic {b64}", b64[:-2] + "\\n" + b64[-2:],
        f"<https://x.example/p?key={key}>; rel=next", f'{{"api_key": "{key}"}}', "plain",
    ]


def _build(exchange: Any, redactor: Optional[Redactor], caller: CallerKey) -> dict[str, Any]:
    return _entry(exchange, redactor, 1 << 18, caller)


def _ungated(key: str) -> CallerKey:
    """The caller's key without the gate: the build as before (headers tested, scrub)."""
    caller = CallerKey(key)
    caller.gate = None
    caller.gate_cookies = False
    return caller


def _len_calls_in_headers(build: Callable[[], object]) -> int:
    return calls_where(build, lambda frame, event, arg: (
        event == "c_call" and arg is len and frame.f_code is HEADERS))


def _calls_of(code: Any, build: Callable[[], object]) -> int:
    return calls_where(build, lambda frame, event, arg: (
        event == "call" and frame.f_code is code))


def test_a_gated_build_tests_no_header_value_for_the_key() -> None:
    caller = for_key(KEY)
    assert caller.gate is not None
    exchange = make_exchange(request_headers=GET_HEADERS, response_headers=RESPONSE_HEADERS,
                             group=Group(KEY, None, None))
    _build(exchange, None, caller)  # (the header roles learned first)
    gated = _len_calls_in_headers(lambda: _build(exchange, None, caller))
    # Without the gate each value is tested as before: 12 len() more, one for each value
    # but the credentials' (masks), Referer's (a URL's own test) and Content-Type's (the
    # bodies' mimeType repeat it: tested either way). The others are the names' tests
    # (a key in a name: not the gate's) and the key's length, one a side.
    assert gated == _len_calls_in_headers(lambda: _build(exchange, None, _ungated(KEY))) - 12


LISTS = [None, Redactor(["password"]), Redactor([], ["x-echo", "user-agent", "link"]),
         Redactor(["api_key"], [])]
NAMES = ["X-Echo", "User-Agent", "Link", "X-Data", "Content-Language", "Host", "x_trace"]


@pytest.mark.parametrize("key", [KEY, SPACED])
@pytest.mark.parametrize("lists", range(len(LISTS)))
def test_the_logs_are_those_of_the_build_without_the_gate(key: str, lists: int) -> None:
    redactor = LISTS[lists]
    caller = for_key(key)
    assert caller.gate is not None
    for value in _spellings(key):
        for name in NAMES:
            for body in (b'{"ok":true}', b'{"a":"' + b"x" * 3000 + b'"}'):
                exchange = make_exchange(
                    request_headers=[*GET_HEADERS, (name, value)],
                    response_headers=[*RESPONSE_HEADERS, (name, value)],
                    response_body=body, response_body_size=len(body))
                got = _build(exchange, redactor, caller)
                assert got == _build(exchange, redactor, _ungated(key)), (name, value)
                text = json.dumps(got)
                assert key not in text and key.replace(" ", "+") not in text


def test_a_gate_no_builds_the_headers_again_only_where_a_value_may_hold_the_key() -> None:
    caller = for_key(KEY)
    long_body = b'{"a":"' + b"x" * 3000 + b'"}'  # the gate says no: a long body
    clean = make_exchange(request_headers=GET_HEADERS, response_headers=RESPONSE_HEADERS,
                          response_body=long_body, response_body_size=len(long_body))
    assert _calls_of(HEADERS, lambda: _build(clean, None, caller)) == 2
    echoed = make_exchange(request_headers=[*GET_HEADERS, ("X-Echo", KEY)],
                           response_headers=RESPONSE_HEADERS)
    entry: dict[str, Any] = {}
    # Without lists the values that may hold it are tested where they are (cpu44: no
    # second build); with lists the side is built again.
    assert _calls_of(HEADERS, lambda: entry.update(_build(echoed, None, caller))) == 2
    assert {"name": "X-Echo", "value": caller.masked} in entry["request"]["headers"]
    listed: dict[str, Any] = {}
    redactor = Redactor(["password"])
    assert _calls_of(HEADERS, lambda: listed.update(_build(echoed, redactor, caller))) == 3
    assert {"name": "X-Echo", "value": caller.masked} in listed["request"]["headers"]
    assert har_build._keyed_headers.__doc__  # (the rebuild's one place)


def test_accepting_is_not_called_a_request(wrap: Callable[..., Any],
                                           collector: Collector) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = wrap(app, base_log_url="https://docs.example.com")
    run_wsgi(middleware, wsgi_environ())
    served: list[Any] = []
    calls = _calls_of(ACCEPTING, lambda: served.append(run_wsgi(middleware, wsgi_environ())))
    assert calls == 0
    assert served[0].header("x-documentation-url")[0].startswith(
        "https://docs.example.com/logs/")
    middleware.close()
    # Closed: no x-documentation-url (its log is dropped), as before.
    assert run_wsgi(middleware, wsgi_environ()).header("x-documentation-url") == []
    assert len(collector.wait_for_logs(2)) == 2


def test_accepting_is_not_called_an_asgi_request(collector: Collector) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    with wrapping(collector, AsgiMiddleware, base_log_url=DOCS) as make:
        middleware = make(app)
        asyncio.run(asgi_run(middleware, http_scope(), then="disconnect"))
        runs: list[Any] = []
        calls = _calls_of(ACCEPTING, lambda: runs.append(asyncio.run(
            asgi_run(middleware, http_scope(), then="disconnect"))))
    done = runs[0]
    assert calls == 0
    assert any(name == b"x-documentation-url" and value.startswith(DOCS.encode())
               for message in done.sent if message["type"] == "http.response.start"
               for name, value in message["headers"])
    assert len(collector.wait_for_logs(2)) == 2
