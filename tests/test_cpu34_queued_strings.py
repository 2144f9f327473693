"""cpu34 (issue 11): a queued WSGI log holds one GC container, the Pending itself.

Each GC-type object (tuple, list, dict, slots object) made on the request thread and
freed by a sender raises the cyclic GC's generation-0 count while it is queued: with
the queue deep (bench.py's loop outrunning the senders) those counts are the passes the
request thread runs (cpu24, cpu32). The environ's values are now one string joined by
NUL (``environ_strings(..., joined=True)``), and so are the response headers' pairs
(``Pending``), each where no string holds a NUL; the worker splits them.

1. A queued small GET with ``base_log_url`` (its ``x-documentation-url`` pair made for
   each response) holds one container of its own (failed before: 4, the Pending, the
   values tuple, the response headers' tuple and the documentation pair).
2. With the GC off, 400 such GETs queued raise the generation-0 count by at most 1.2 a
   log more than the same GETs whose items are freed as they are queued (before: 3.0).
3. What the queued log becomes is unchanged: for random header values (NUL, non-Latin-1
   text) and response pairs (NUL, bytes, non-ASCII, none), its Exchange's head is
   ``environ_head`` of the environ's strings as a tuple, its response headers what
   ``response_header_read`` makes of the pairs the server got, its ``nbytes`` the same
   count.
"""

from __future__ import annotations

import gc
import importlib
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.request_head import environ_head
from readme_metrics.capture.response_headers import response_header_read
from tests.test_cpu24_queued_containers import _containers, _environ, _served

environ_strings_module = importlib.import_module("readme_metrics.capture.environ_strings")


@pytest.fixture(autouse=True)
def _room_for_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for this module's environ shapes' plans: only an environ copied by its
    plan is joined, and the tests before these in a worker may have filled the
    process's PLANS_MAX (cpu36: 3 failed so in a run of 30 neighbouring files)."""
    monkeypatch.setattr(environ_strings_module, "_PLANS", {})
    monkeypatch.setattr(environ_strings_module, "_last", ((), None))


_BASE = "https://docs.example.com"
_PAIRS = [("Content-Type", "application/json"), ("Content-Length", "2")]
_HEADERS = {"HTTP_HOST": "api.example.com", "HTTP_ACCEPT": "application/json",
            "HTTP_USER_AGENT": "test/1.0", "HTTP_X_REQUEST_ID": "0f8e2a3c"}


def _queued(headers: dict[str, str], pairs: list[Any], count: int,
            given: list[Any], keep: bool = True) -> list[Any]:
    """The items a wrapped app (answering ``pairs``) queues for ``count`` requests;
    ``given`` gets the headers the server was handed. ``keep=False``: each item freed
    as it is queued (a sender that keeps up)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", list(pairs))
        return [b"{}"]

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        given.append(headers)

    config = MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", grouping_function=lambda req: {
            "api_key": "caller-key-1", "label": "L", "email": "e@example.com"},
        metrics_api="http://127.0.0.1:9/", base_log_url=_BASE,
        background_worker_mode=False)
    return _served(app, config, headers, count, start_response, keep)


def test_a_queued_get_holds_one_container_of_its_own() -> None:
    first, second = _queued(_HEADERS, _PAIRS, 2, [])
    shared = _containers(first)
    # (The keys tuple is the environ shape's plan's, shared by every request of it.)
    own = [obj for key, obj in _containers(second).items() if key not in shared
           and not (isinstance(obj, tuple) and obj and obj[0] == "REQUEST_METHOD")]
    assert [type(obj).__name__ for obj in own] == ["Pending"], own


def _raised(count: int, keep: bool) -> int:
    """How much ``count`` small GETs raise the generation-0 count, the GC off."""
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        kept = _queued(_HEADERS, _PAIRS, count, [], keep)
        return gc.get_count()[0] - before
    finally:
        gc.enable()
        del kept


def test_a_queued_get_raises_the_gc_count_by_one() -> None:
    _queued(_HEADERS, _PAIRS, 50, [])  # plans and tables made
    # Against the same requests whose items are freed as they are queued (the count's
    # drift of a request, the same either way, cancels out): main 3.0 a log.
    dropped = _raised(400, keep=False)
    kept = _raised(400, keep=True)
    assert (kept - dropped) / 400 <= 1.2, (kept, dropped)


_NAMES = st.from_regex(r"HTTP_[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=12)
_VALUES = st.one_of(_TEXT, st.just("a\0b"), st.just("\0"))
_PAIR_VALUES = st.one_of(_TEXT, st.just("x\0y"), st.binary(max_size=6))
_RESPONSE = st.lists(st.tuples(st.sampled_from(
    ["Content-Type", "Content-Length", "X-A", "x\0n", "Set-Cookie"]), _PAIR_VALUES),
    max_size=4)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_NAMES, _VALUES, max_size=5), _RESPONSE)
def test_the_queued_log_is_what_the_strings_and_pairs_make(
        headers: dict[str, str], pairs: list[Any]) -> None:
    given_headers: list[Any] = []
    # Twice: the second environ of the shape is copied by its plan (joined).
    items = _queued(headers, pairs, 2, given_headers)
    for item, sent in zip(items, given_headers):
        keys, values, nbytes = environ_strings(_environ(headers))
        assert values.__class__ is tuple
        exchange = item.to_exchange()
        assert (exchange.method, exchange.url, exchange.http_version,
                exchange.request_headers, exchange.client_ip) == environ_head(keys, values)
        assert sent[-1] == ("x-documentation-url", f"{_BASE}/logs/{exchange.id}")
        assert exchange.response_headers == response_header_read(sent)[0]
        response_bytes = sum(len(name) + len(value) for name, value in sent)
        assert item.nbytes == nbytes + response_bytes + len(item.response_body)
