"""cpu44 (issue 11): a browser's GET measured as its own row, and its headers built once.

1. ``benchmarks/bench.py`` has a ``browser_get`` row beside ``small_get`` and
   ``post_100kb`` (a browser's headers: client hints, fetch metadata, cookies, a Referer
   whose query holds ``%40`` and ``%3A``), its bare ratio from the same run, and each row
   says its logs delivered of served (failed before: no such row).
2. That log's key gate says no (its Referer holds a ``%``, a needle), and the build made
   the request's headers twice: gated, then again without (``build._keyed_headers``).
   Without lists the values that may hold the key are now tested where they are
   (``headers.keyed_values``): ``headers()`` runs once a side (failed before: 3 calls a
   log, not 2). Counted, not timed.
3. Sameness (hypothesis): over generated header lists (plain, credential, URL, Link,
   authority, noted and JSON-led headers, values spelling the key or holding its
   marks), the gated build is the build without the gate, with and without lists.
"""

from __future__ import annotations

from typing import Any, Optional

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import headers as har_headers
from readme_metrics.har.build import _entry
from readme_metrics.har.credentials import CallerKey, for_key
from readme_metrics.har.redaction import Redactor
from tests.support.bench_request import TOKEN
from tests.support.command import REPO_ROOT
from tests.support.exchanges import make_exchange
from tests.support.load_file import load_file
from tests.support.work_count import calls_where

HEADERS = har_headers.headers.__code__


def _bench() -> Any:
    return load_file("cpu44_bench", REPO_ROOT / "benchmarks" / "bench.py",
                     REPO_ROOT / "benchmarks")


def test_the_bench_has_a_browser_row_delivered_of_served() -> None:
    bench = _bench()
    referer = bench.BROWSER_HEADERS["Referer"]
    assert "%40" in referer and "%3A" in referer
    assert {"Cookie", "Accept-Language", "User-Agent", "sec-ch-ua"} <= set(bench.BROWSER_HEADERS)
    results = bench.bench_inprocess(1, 40, 4)
    assert {"small_get", "post_100kb", "browser_get"} <= set(results)
    for name, count in (("small_get", 40), ("post_100kb", 4), ("browser_get", 40)):
        served = bench.WARM_UP + count
        assert results[name]["delivered"] == f"{served} of {served} served"
        assert results[name]["ratio_to_bare"]["cpu_us_per_request"] > 0
    total = 3 * bench.WARM_UP + 84
    assert results["delivered"] == f"{total} of {total} served"


def _browser_exchange(bench: Any) -> Any:
    return make_exchange(
        url="https://api.example.com/v1/widgets/12345?expand=owner&limit=10",
        request_headers=list(bench.BROWSER_HEADERS.items()), group=Group(TOKEN, None, None),
        response_headers=[("Content-Type", "application/json"), ("Content-Length", "62"),
                          ("x-documentation-url", "https://d/logs/a")])


def test_a_browser_gets_headers_are_built_once_a_side() -> None:
    exchange = _browser_exchange(_bench())
    caller = for_key(TOKEN)
    assert caller.gate is not None

    def build() -> None:
        _entry(exchange, None, 1 << 18, caller)

    build()  # (the roles learned, the lazy patterns compiled)
    assert calls_where(build, lambda frame, event, arg: (
        event == "call" and frame.f_code is HEADERS)) == 2


def _ungated(key: str) -> CallerKey:
    caller = CallerKey(key)
    caller.gate = None
    caller.gate_cookies = False
    return caller


SPACED = "my secret key value 0123456789 abcdef"
NAMES = ["X-Echo", "User-Agent", "Referer", "Location", "Link", "Authorization", "Cookie",
         "Host", "X-Forwarded-For", "Forwarded", "Content-Type", "Content-Encoding",
         "Sec-WebSocket-Protocol", "X-Data", "x_trace", "X-Api-Key", "Origin",
         "x-documentation-url", "Set-Cookie"]
LISTS: list[Optional[Redactor]] = [None, Redactor(["password"]),
                                   Redactor([], ["x-echo", "user-agent", "link", "referer"])]


def _pieces(key: str) -> st.SearchStrategy[str]:
    encoded = "".join(f"%{ord(c):02X}" for c in key)
    return st.sampled_from([
        key, encoded, encoded.lower(), key.replace(" ", "+"), "\\u00" + f"{ord(key[0]):02x}",
        key[1:], "%", "%40", "%3A", "%2F", "@", "\\", "+", "https://", "ada:pw@h", "?q=",
        "&next=", '{"api_key": "', '"}', "[", "<https://x.example/p?k=", ">; rel=next",
        "; anchor=\"", "sk_", "password=", " ", "a", "email=ada%40example.com"])


@st.composite
def _headers(draw: Any, key: str) -> list[tuple[str, str]]:
    count = draw(st.integers(1, 6))
    return [(draw(st.sampled_from(NAMES)),
             "".join(draw(st.lists(_pieces(key), max_size=6)))) for _ in range(count)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spaced=st.booleans(), lists=st.integers(0, len(LISTS) - 1))
@example(data=None, spaced=False, lists=0)
def test_the_gated_build_is_the_build_without_the_gate(data: Any, spaced: bool,
                                                       lists: int) -> None:
    key = SPACED if spaced else TOKEN
    if data is None:  # the browser's GET, with the key echoed in a plain header
        request = [*_bench().BROWSER_HEADERS.items(), ("X-Echo", key)]
        response = [("Content-Type", "application/json")]
    else:
        request, response = data.draw(_headers(key)), data.draw(_headers(key))
    caller = for_key(key)
    assert caller.gate is not None
    exchange = make_exchange(request_headers=request, response_headers=response,
                             group=Group(key, None, None))
    redactor = LISTS[lists]
    got = _entry(exchange, redactor, 1 << 18, caller)
    assert got == _entry(exchange, redactor, 1 << 18, _ungated(key))
