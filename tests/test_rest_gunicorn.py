"""Reading a chunked body out of bytes copied from gunicorn (RFC 9112 7.1), as far as it
has arrived: readme_metrics.capture.chunked. tests/test_hostile_servers.py checks
an unread chunked body is logged whole under gunicorn itself."""

from __future__ import annotations

import pytest

from readme_metrics.capture.chunked import dechunk


@pytest.mark.parametrize(("raw", "want", "expected"), [
    pytest.param(b"5\r\nhello\r\n0\r\n\r\n", 100, (b"hello", True), id="whole"),
    pytest.param(b"3\r\nhel\r\n2\r\nlo\r\n0\r\n", 100, (b"hello", True), id="two-chunks"),
    pytest.param(b"5;ext=1\r\nhello\r\n0\r\n\r\n", 100, (b"hello", True), id="extension"),
    pytest.param(b"A\r\n0123456789\r\n0\r\n\r\n", 100, (b"0123456789", True), id="hex"),
    pytest.param(b"5\r\nhel", 100, (b"hel", False), id="chunk-not-all-here"),
    pytest.param(b"5\r\nhello\r\n", 100, (b"hello", False), id="last-chunk-not-here"),
    pytest.param(b"5\r\nhello\r\n3", 100, (b"hello", False), id="size-line-cut"),
    pytest.param(b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", 100, (b"hello", False),
                 id="broken-framing"),
    pytest.param(b"zz\r\nhello\r\n", 100, (b"", False), id="not-chunked"),
    pytest.param(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 7, (b"hellowo", False),
                 id="bounded"),
    pytest.param(b"0\r\n\r\n", 100, (b"", True), id="empty-body"),
    pytest.param(b"", 100, (b"", False), id="nothing-yet"),
])
def test_dechunk(raw: bytes, want: int, expected: tuple[bytes, bool]) -> None:
    assert dechunk(raw, want) == expected
