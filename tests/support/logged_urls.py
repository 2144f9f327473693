"""A URL, a header's value or a body as the HAR builder logs it, with a denylist of
``password``: for the tests of what the readers of userinfos hide in a URL and keep
(hostile54, hostile55 and hostile60 had these; hostile56 to hostile65, review151 and
review152 imported them from their test modules before house57)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote

from readme_metrics.har.build import build_entry
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import logged_bodies, make_exchange

DENY = Redactor(["password"])


def header_values(name: str, value: str) -> list[str]:
    """The logged values of a request header ``name`` sent as ``value`` (no denylist)."""
    entry = build_entry(make_exchange(
        url="http://api.example.com/v1",
        request_headers=[("Host", "api.example.com"), (name, value)]), None)
    return [h["value"] for h in entry["request"]["headers"] if h["name"] == name]


def denied_bodies(text: str, mime: str, redactor: Optional[Redactor] = DENY) -> list[str]:
    """The request's and the response's body as logged."""
    return logged_bodies(text, mime, redactor)


def query_quoted(value: str) -> tuple[str, str]:
    """The url and the queryString's value of ``?next=<value>`` (percent-encoded whole)
    as logged (denylist)."""
    entry = build_entry(make_exchange(
        url="http://h/p?next=" + quote(value, safe=""), request_headers=[("Host", "h")]),
        DENY)
    return entry["request"]["url"], entry["request"]["queryString"][0]["value"]


def query_as_written(raw_value: str) -> tuple[str, str]:
    """The url and the queryString's value of ``?next=<raw_value>`` (as written) logged
    with the denylist."""
    entry = build_entry(make_exchange(
        url="http://h/p?next=" + raw_value, request_headers=[("Host", "h")]), DENY)
    return entry["request"]["url"], entry["request"]["queryString"][0]["value"]


def repeated(unit: str, size: int) -> str:
    """``unit`` repeated to ``size`` characters, the last one cut."""
    return (unit * (size // len(unit) + 1))[:size]
