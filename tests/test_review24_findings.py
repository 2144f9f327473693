"""review24's items (an adversarial read of hostile7's, spec20's, cpu16r's and odds9's
landings): each test failed on main at cfd550a and passes with its fix, under real parts
(the collector on 127.0.0.1, the public middleware)."""

from __future__ import annotations

from typing import Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector

# -- 1. a body its declared charset says is UTF-16/32 text -------------------------------

# An "Export to Excel" answer (tab-separated text in UTF-16, as .NET and Excel write it),
# a TOML or SQL file in UTF-16: types no marker says are text, but the charset does. Such
# text is NUL-spaced, which spec20's control-byte rule (73e3424) read as binary: logged
# as base64 where ed38dd6 logged the text, read in the declared charset.
UTF16_TEXT = "id\tname\r\n1\tZo\u00eb\r\n"


@pytest.mark.parametrize("content_type, codec", [
    pytest.param("application/vnd.ms-excel; charset=utf-16le", "utf-16-le", id="excel-tsv"),
    pytest.param("application/toml; charset=utf-16", "utf-16", id="toml-with-mark"),
    pytest.param("application/sql; charset=utf-32-be", "utf-32-be", id="sql-utf-32"),
])
def test_a_body_in_a_declared_utf16_charset_stays_text(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        content_type: str, codec: str) -> None:
    body = UTF16_TEXT.encode(codec)
    app = reading_app(headers=[("Content-Type", content_type)], body=[body])
    middleware = inline_wrap(app)
    _, _, entry = exchange(middleware, collector, method="POST", body=body,
                           headers={"Content-Type": content_type})
    post = entry["request"]["postData"]
    assert "comment" not in post, post
    assert post["text"] == UTF16_TEXT
    content = entry["response"]["content"]
    assert "encoding" not in content, content
    assert content["text"] == UTF16_TEXT
