"""odds13's items (review28's leftovers): each test failed on main at b2bfeb3 and passes
with its fix, under real parts (the collector on 127.0.0.1, the public middleware, the
real `readme-metrics collect` server on a socket)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found

# -- 1. a form declared UTF-16/32: its "password" went out in clear, NUL-spaced ---------

SECRET = "odds13-form-secret"
FIELDS = f"user=ann&password={SECRET}&city=caf%C3%A9"


def _django_form_app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    """A view reading the form as Django does: QueryDict in the declared charset."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django.http import QueryDict

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        charset = environ["CONTENT_TYPE"].partition("charset=")[2]
        seen["form"] = QueryDict(body, encoding=charset)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


@pytest.mark.parametrize("charset", ["utf-16", "UTF-16LE", "utf-16be", "utf-32", "utf-32le"])
def test_a_form_in_utf16_or_utf32_is_redacted_by_its_declared_charset(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        charset: str) -> None:
    """``charset=utf-16`` on a form: Django reads the fields in it (a "password" field),
    the log read the bytes as UTF-8, each name NUL-spaced, which no list names: the
    password went out in clear. Read in the declared charset now, as params."""
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_django_form_app(seen), denylist=["password"])
    body = FIELDS.encode(charset)
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})
    assert seen["form"]["password"] == SECRET  # the app's read of it
    assert entry["request"]["postData"]["params"] == [
        {"name": "user", "value": "ann"},
        {"name": "password", "value": f"[REDACTED {len(SECRET)}]"},
        {"name": "city", "value": "caf\u00e9"},
    ]
    bodies = [batch.body for batch in collector.received]
    assert not found(bodies, SECRET)
    assert not any(SECRET.encode(codec) in data for data in bodies
                   for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def test_a_utf16_form_cut_short_by_max_body_bytes_is_still_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """A UTF-16 form truncated at an odd byte still reads in UTF-16 (U+FFFD for the
    half character), never falls back to NUL-spaced names."""
    body = f"password={SECRET}&user=ann".encode("utf-16-le")
    middleware = inline_wrap(_django_form_app({}), denylist=["password"],
                             max_body_bytes=2 * len(f"password={SECRET}") - 1)
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-16le"})
    params = entry["request"]["postData"]["params"]
    assert params[0]["name"] == "password"
    assert params[0]["value"].startswith("[REDACTED ")
    assert not found([batch.body for batch in collector.received], SECRET[:-1])


def test_a_form_declared_utf16_spelling_a_denied_name_in_ascii_is_redacted_whole(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """ASCII bytes with a NUL, declared UTF-16: read in UTF-16 the names are CJK no list
    names, while werkzeug and Starlette read the bytes as they are, a "password" field.
    Redacted whole (neither reading may leak)."""
    body = f"password={SECRET}&x=\x00".encode("ascii")
    middleware = inline_wrap(_django_form_app({}), denylist=["password"])
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-16"})
    assert entry["request"]["postData"]["text"] == "[REDACTED]"
    assert not found([batch.body for batch in collector.received], SECRET)
    assert not any(SECRET.encode("ascii").decode("utf-16-le", "replace") in s
                   for s in [batch.body.decode("utf-8") for batch in collector.received])
