"""review32's findings (adversarial review of cpu18 and odds13): each test failed on main
at a1977b8 and passes with its fix, under real parts (the public middleware, the
collector on 127.0.0.1)."""

from __future__ import annotations

import time
from typing import Callable

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, json_app
from tests.support.fake_api import Collector

# -- 1. a form of one invalid UTF-8 byte repeated took seconds per request ---------------


def test_a_form_of_invalid_utf8_bytes_is_logged_in_linear_time(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """A form body of 512 KiB (max_body_bytes raised to it) of the byte 0xD8: each byte
    an escape no UTF-8 decode takes, and decoding the rest of the run again after each
    one was quadratic. On main a1977b8 (har.text._decode_run, post_data alone): 256 KiB
    1.4 s, 1 MiB 118 s of the worker per request; with the fix 0.14 s and ~0.6 s. The
    bytes stay their escapes, as written."""
    size = 512 * 1024
    middleware = inline_wrap(json_app, denylist=["password"], max_body_bytes=size)
    body = b"a=" + b"\xd8" * (size - 2)
    start = time.monotonic()
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    took = time.monotonic() - start
    assert entry["request"]["postData"]["params"] == [
        {"name": "a", "value": "%D8" * (size - 2)}]
    assert took < 4.0, f"{took:.2f} s"
