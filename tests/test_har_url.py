"""readme_metrics.har: the request url and queryString (SPEC section 4): the url exactly
as received, the query decoded to pairs in order, redaction in both.

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus, unquote_to_bytes, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.redaction import Redactor
from tests.support.contract import exchange, reading_app
from tests.support.exchanges import entry_of, make_exchange
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- url and query string --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", [], id="none"),
        pytest.param("a=1&b=2", [("a", "1"), ("b", "2")], id="plain"),
        pytest.param("a=1&a=2", [("a", "1"), ("a", "2")], id="repeated"),
        pytest.param("a=&b", [("a", ""), ("b", "")], id="blank-values"),
        pytest.param("a=1&&b=2&", [("a", "1"), ("b", "2")], id="empty-chunks-skipped"),
        pytest.param("q=caf%C3%A9+au+lait", [("q", "café au lait")], id="utf8-and-plus"),
        pytest.param("q=a%2Bb", [("q", "a+b")], id="encoded-plus"),
        pytest.param("q=%FF%zz%", [("q", "%FF%zz%")], id="invalid-percent-kept"),
        pytest.param("a%20b=c=d", [("a b", "c=d")], id="first-equals-splits"),
        pytest.param("x=1;y=2", [("x", "1;y=2")], id="semicolon-is-not-a-separator"),
    ],
)
def test_query_string(query: str, expected: list[tuple[str, str]]) -> None:
    url = "http://api.example.com:8080/v1/things" + (f"?{query}" if query else "")
    entry = entry_of(make_exchange(url=url))
    assert entry["request"]["url"] == url  # exactly as received
    assert entry["pageref"] == url
    assert [(q["name"], q["value"]) for q in entry["request"]["queryString"]] == expected


@pytest.mark.parametrize(
    ("deny", "allow", "url", "expected_url", "expected_query"),
    [
        pytest.param(
            ["api_key"], [], "https://h/p?page=2&API_KEY=s%3Dcret&x=%zz",
            "https://h/p?page=2&API_KEY=%5BREDACTED%206%5D&x=%zz",
            [("page", "2"), ("API_KEY", "[REDACTED 6]"), ("x", "%zz")], id="denylist",
        ),
        pytest.param(
            [], ["page"], "http://h/p?page=2&token=abc",
            "http://h/p?page=2&token=%5BREDACTED%203%5D",
            [("page", "2"), ("token", "[REDACTED 3]")], id="allowlist",
        ),
        pytest.param(["a"], [], "http://h/p?", "http://h/p?", [], id="empty-query"),
        pytest.param(
            ["token"], [], "http://h/p?filter=%7B%22token%22%3A+%22abc%22%7D&q=%7Bx&r=[1]",
            "http://h/p?filter=%7B%22token%22%3A%22%5BREDACTED%203%5D%22%7D&q=%7Bx&r=[1]",
            [("filter", '{"token":"[REDACTED 3]"}'), ("q", "{x"), ("r", "[1]")],
            id="a-value-holding-json"),
    ],
)
def test_query_redaction(deny: list[str], allow: list[str], url: str, expected_url: str,
                         expected_query: list[tuple[str, str]]) -> None:
    entry = entry_of(make_exchange(url=url), redactor=Redactor(deny, allow))
    assert entry["request"]["url"] == expected_url
    assert entry["pageref"] == expected_url
    assert [(q["name"], q["value"]) for q in entry["request"]["queryString"]] == expected_query


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


@pytest.mark.parametrize("query, expected", [
    pytest.param("a=1&b=2", [("a", "1"), ("b", "2")], id="simple"),
    pytest.param("q=hello+world&r=caf%C3%A9", [("q", "hello world"), ("r", "café")],
                 id="plus-is-space-percent-decoded"),
    pytest.param("plus=%2B", [("plus", "+")], id="encoded-plus"),
    pytest.param("a=1&a=2&a=", [("a", "1"), ("a", "2"), ("a", "")], id="repeats-and-blank"),
    pytest.param("flag&x=", [("flag", ""), ("x", "")], id="no-equals"),
    pytest.param("z=1&y=2&x=3", [("z", "1"), ("y", "2"), ("x", "3")], id="order-kept"),
    pytest.param("na+me=v", [("na me", "v")], id="plus-in-name"),
])
def test_query_string_decoded_pairs(inline_wrap: Any, collector: Collector, query: str,
                                    expected: list[tuple[str, str]]) -> None:
    _, _, entry = exchange(inline_wrap(reading_app()), collector, query=query)
    assert [(p["name"], p["value"]) for p in entry["request"]["queryString"]] == expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5),
       st.booleans())
def test_any_query_round_trips(inline_wrap: Any, collector: Collector,
                               query_pairs: list[tuple[str, str]], plus: bool) -> None:
    """Whatever a client encodes (quote or quote_plus), the url keeps it as sent and
    queryString decodes it back to the pairs, in order."""
    query = urlencode(query_pairs, quote_via=quote_plus if plus else quote)
    collector.received.clear()
    _, _, entry = exchange(inline_wrap(reading_app()), collector, query=query)
    request = entry["request"]
    assert urlsplit(request["url"]).query == query
    assert [(p["name"], p["value"]) for p in request["queryString"]] == query_pairs


# Bytes as a client may percent-encode them (latin-1, binary, no text at all); a "%" byte
# is left out: its escape decodes to "%", which a kept escape cannot be told from.
NOT_UTF8 = st.binary(max_size=6).map(lambda data: data.replace(b"%", b""))


def percent(data: bytes, lower: bool) -> str:
    text = "".join(f"%{byte:02X}" for byte in data)
    return text.lower() if lower else text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NOT_UTF8, NOT_UTF8), min_size=1, max_size=4), NOT_UTF8,
       st.booleans())
def test_a_url_in_any_encoding_is_logged_exactly_as_received(
        inline_wrap: Any, collector: Collector, query_pairs: list[tuple[bytes, bytes]],
        path: bytes, lower: bool) -> None:
    """SPEC 4: ``/caf%E9?q=%E9``: the url as received (escapes in their case), and each
    name and value decoded where it is UTF-8, its escapes kept where not (so its bytes
    can be read back), never an error."""
    query = "&".join(f"{percent(name, lower)}={percent(value, lower)}"
                     for name, value in query_pairs)
    target = f"/caf{percent(path, lower)}?{query}"
    # As gunicorn gives it: PATH_INFO decoded (bytes as latin-1), the raw target too.
    environ_path = "/caf" + path.decode("latin-1")
    environ = wsgi_environ(path=environ_path, query=query)
    environ["RAW_URI"] = target
    collector.received.clear()
    middleware = inline_wrap(reading_app())
    assert run_wsgi(middleware, environ).error is None
    assert middleware.flush(5.0) is True
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["url"] == "http://127.0.0.1" + target
    logged = [(unquote_to_bytes(p["name"].encode()), unquote_to_bytes(p["value"].encode()))
              for p in request["queryString"]]
    assert logged == query_pairs
