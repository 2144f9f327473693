"""The caller's key never leaves in clear, wherever a request carries it (SPEC 6),
checked with random keys through the real WSGI and ASGI middleware and a real collector.

A key is drawn (letters and digits, digits only, printable ASCII that needs
percent-encoding, any Unicode text), then put in one part of a request, spelled as a
client may spell it there: a header, a query value or name (percent-encoded, "+" for a
space, lower-case hex), a path segment, a cookie, a form or multipart field or name, a
JSON value or member name (as a number too, for a numeric key). A long key
(``MIN_SUBSTRING_KEY`` characters or more) is also put inside a longer value, where it is
masked too; a short one stands whole, next to a decoy that holds it (``x<key>y``), which
is another value and stays.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.credentials import MIN_SUBSTRING_KEY
from readme_metrics.har.pairs import parse_query
from readme_metrics.masking import mask
from tests.support.fake_api import Collector
from tests.support.key_site import Site, without_made_fields
from tests.support.leaks import found_unmasked, found_whole

# A key stands in a header value (the grouping function reads it there), so no control
# characters; and no "\x01", which the leak search puts where a mask was.
_TEXT = st.characters(blacklist_categories=("Cs", "Cc"))
KEYS = st.one_of(
    st.from_regex(r"[A-Za-z0-9_\-]{1,24}", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{2,20}", fullmatch=True),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=24),
    st.text(_TEXT, min_size=1, max_size=16),
).filter(lambda key: key.strip() == key and key.strip() != "")


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group().lower(), text)


def _number_json(value: str) -> str:
    """A JSON document holding ``value`` as a number written as encoders write a large
    one (``1.2345e4`` for 12345), if it is a number, else as a string."""
    if value.isdigit() and len(value) > 1:
        return f'{{"id": {value[0]}.{value[1:]}e{len(value) - 1}}}'
    return json.dumps({"id": value})


# (place, how the request carries ``value``): path, query, headers, content type, body.
Placer = Callable[[str], tuple[str, str, dict[str, str], str, bytes]]
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_BOUNDARY = "XyZzY"


def _multipart(name: str, value: str, filename: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n"
            f"--{_BOUNDARY}--\r\n").encode()


PLACES: dict[str, Placer] = {
    "header": lambda v: ("/", "", {"X-Caller": v}, "", b""),
    "query-value": lambda v: ("/", "a=" + quote(v, safe=""), {}, "", b""),
    "query-value-plus": lambda v: ("/", "a=" + quote_plus(v, safe=""), {}, "", b""),
    "query-value-lower-hex": lambda v: ("/", "a=" + _lower_hex(quote(v, safe="")), {}, "", b""),
    "query-name": lambda v: ("/", quote(v, safe="") + "=1", {}, "", b""),
    "query-flag": lambda v: ("/", "b=2&" + quote_plus(v, safe=""), {}, "", b""),
    "query-json": lambda v: ("/", "f=" + quote(json.dumps({"id": v}), safe=""), {}, "", b""),
    "query-json-name": lambda v: ("/", quote(json.dumps({"id": v}), safe="") + "=1", {}, "", b""),
    "query-json-number": lambda v: ("/", "f=" + quote(_number_json(v), safe=""), {}, "", b""),
    "query-json-number-name": lambda v: ("/", quote(_number_json(v), safe="") + "=1", {},
                                         "", b""),
    "json-number": lambda v: ("/", "", {}, _JSON, _number_json(v).encode()),
    "path-segment": lambda v: ("/keys/" + quote(v, safe="") + "/usage", "", {}, "", b""),
    "referer": lambda v: ("/", "", {"Referer": "http://h.example/?k=" + quote(v, safe="")},
                          "", b""),
    "cookie": lambda v: ("/", "", {"Cookie": "a=1; c=" + quote(v, safe="")}, "", b""),
    "form-value": lambda v: ("/", "", {}, _FORM, ("a=" + quote_plus(v, safe="")).encode()),
    "form-name": lambda v: ("/", "", {}, _FORM, (quote_plus(v, safe="") + "=1").encode()),
    "multipart-value": lambda v: ("/", "", {}, f"multipart/form-data; boundary={_BOUNDARY}",
                                  _multipart("a", v)),
    "json-value": lambda v: ("/", "", {}, _JSON, json.dumps({"a": [1, {"b": v}]}).encode()),
    "json-ascii": lambda v: ("/", "", {}, _JSON, json.dumps({"a": v}, ensure_ascii=True).encode()),
    "json-name": lambda v: ("/", "", {}, _JSON, json.dumps({v: 1}).encode()),
    "text-body": lambda v: ("/", "", {}, "text/plain; charset=utf-8", v.encode()),
}


@pytest.fixture(scope="module")
def collector_for_module() -> Iterator[Collector]:
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, collector_for_module: Collector) -> Iterator[Site]:
    made = Site(request.param, collector_for_module)
    try:
        yield made
    finally:
        made.close()


def _send(site: Site, key: str, place: str, value: str) -> list[bytes]:
    path, query, headers, content_type, body = PLACES[place](value)
    if content_type:
        headers = {**headers, "Content-Type": content_type}
    entry, _ = site.send(key, path, query, "POST" if body else "GET", headers, body)
    # The url and queryString agree (SPEC 4), masked alike, and pageref is the url.
    request = entry["request"]
    assert [{"name": name, "value": value} for name, value in
            parse_query(request["url"].partition("?")[2])] == request["queryString"], request
    assert entry["pageref"] == request["url"]
    return [without_made_fields(site.batch)]


def _not_scaffold(site: Site, key: str, place: str,
                  found: Callable[[list[bytes], str, str], list[str]],
                  hits: list[str]) -> list[str]:
    """``hits`` less the texts the same request spells ``key`` in with a stand-in
    value: what the request is made of, not the key ("Content-" inside the
    Content-Type header's name, which is no value and stays)."""
    if not hits:
        return hits
    scaffold = found(_send(site, key, place, "zz9"), key, mask(key))
    return [hit for hit in hits if hit not in scaffold]


def _not_markup(place: str, key: str) -> bool:
    # A multipart field's value cannot hold its own boundary line or CR LF.
    return not (place.startswith("multipart") and ("--" in key or "\r" in key or '"' in key))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=KEYS, place=st.sampled_from(sorted(PLACES)))
def test_a_key_standing_whole_never_leaves_in_clear(site: Site, key: str, place: str) -> None:
    if not _not_markup(place, key):
        return
    decoy = f"x{key}y"
    batch = _send(site, key, place, key)
    found = found_unmasked if len(key) >= MIN_SUBSTRING_KEY else found_whole
    assert _not_scaffold(site, key, place, found, found(batch, key, mask(key))) == [], (
        key, place)
    assert decoy  # (see the next test)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=KEYS.filter(lambda key: len(key) >= MIN_SUBSTRING_KEY),
       place=st.sampled_from(sorted(PLACES)))
def test_a_long_key_inside_a_value_never_leaves_in_clear(
        site: Site, key: str, place: str) -> None:
    if not _not_markup(place, key):
        return
    batch = _send(site, key, place, f"see {key}, then")
    hits = found_unmasked(batch, key, mask(key))
    assert _not_scaffold(site, key, place, found_unmasked, hits) == [], (key, place)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=KEYS.filter(lambda key: len(key) < MIN_SUBSTRING_KEY
                       and key.isalnum() and key.isascii()),
       place=st.sampled_from(sorted(PLACES)))
def test_a_short_key_inside_another_value_is_that_value(
        site: Site, key: str, place: str) -> None:
    # A short key is masked where it stands whole only: "x<key>y" is another value.
    batch = _send(site, key, place, f"x{key}y")
    assert found_whole(batch, f"x{key}y", mask(key)) or place in (
        "header", "cookie") or place.startswith("text"), (key, place)


def _entry(batch: list[bytes]) -> Any:
    return json.loads(batch[0])[0]["request"]["log"]["entries"][0]
