"""cpu15: a request's Cookie header read once per (text, caller) with no lists, kept for the
next log of the same session (:data:`readme_metrics.har.cookies._READ`): the records are
the same as a fresh read's, whatever the header and the caller's key, and each log gets
dicts of its own (the scrub after the build may write to them)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import readme_metrics.har.cookies as cookies_module
from readme_metrics.har.cookies import _request_cookies, request_cookies
from readme_metrics.har.credentials import for_key
from readme_metrics.har.redaction import Redactor

KEY = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"

# What a Cookie header and a caller's key are made of, and their spellings: "%" and "+"
# (percent-encoded), a backslash (JSON-escaped), base64's characters, non-ASCII.
_ALPHABET = "ab=; ,%+\\/_-0123456789sk_live4f9aZQ\u00e9\u212a\x00"


@pytest.fixture(autouse=True)
def _empty_reads() -> Any:
    cookies_module._READ.clear()
    yield
    cookies_module._READ.clear()


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []

    def counting(cookies: str, redactor: Any, caller: Any) -> Any:
        reads.append(cookies)
        return _request_cookies(cookies, redactor, caller)

    monkeypatch.setattr(cookies_module, "_request_cookies", counting)
    return reads


def test_the_same_header_is_read_once_per_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _counted(monkeypatch)
    header = "session=8c1f0e2d9b7a4c3e; theme=dark; _ga=GA1.2.1234567890.1700000000"
    caller = for_key(KEY)
    first = request_cookies(header, None, caller)
    second = request_cookies(header, None, caller)
    assert second == first
    assert reads == [header]
    # Another caller (its key may be in the header) reads it again.
    request_cookies(header, None, for_key("8c1f0e2d9b7a4c3e"))
    request_cookies(header, None, None)
    assert len(reads) == 3


def test_each_log_gets_its_own_records() -> None:
    header = f"a=1; token={KEY}"
    caller = for_key(KEY)
    first = request_cookies(header, None, caller)
    first[0]["value"] = "written by a scrub"
    first.append({"name": "x", "value": "y"})
    assert request_cookies(header, None, caller) == _request_cookies(header, None, caller)


def test_lists_and_long_headers_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _counted(monkeypatch)
    lists = Redactor(denylist=["session"])
    request_cookies("session=1", lists, None)
    request_cookies("session=1", lists, None)
    long_header = "a=" + "b" * 5000
    request_cookies(long_header, None, None)
    request_cookies(long_header, None, None)
    assert len(reads) == 4
    assert not cookies_module._READ


def test_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cookies_module, "_READ_MAX", 8)
    for number in range(50):
        request_cookies(f"n={number}", None, None)
        assert len(cookies_module._READ) <= 8


@settings(max_examples=300, deadline=None)
@given(header=st.text(_ALPHABET, max_size=60),
       key=st.sampled_from(["", KEY, "ab", "a b", "12345", "Zm9v", "\u00e9t\u00e9-key-long-1"]))
@example(header=f"k={KEY}; {KEY}", key=KEY)
@example(header="a=c2tfbGl2ZV80ZjlhOGI3YzZkNWU0ZjNhMmIxYzBkOWU4ZjdhNmI1Y", key=KEY)
def test_kept_records_are_a_fresh_reads(header: str, key: str) -> None:
    caller = for_key(key)
    fresh = _request_cookies(header, None, caller)
    assert request_cookies(header, None, caller) == fresh  # read (and kept)
    assert request_cookies(header, None, caller) == fresh  # kept
