"""cli/collector/framing: a collector request's body read as HTTP/1.1 frames it, or refused
with the status the handler answers (RFC 9112 6, 7.1)."""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.cli.collector.framing import (
    MAX_POST_BYTES,
    Refused,
    closes_after_chunked,
    misframed,
    read_body,
)


def _read(head: bytes, rest: bytes) -> object:
    headers = http.client.parse_headers(io.BytesIO(head + b"\r\n"))
    return read_body(io.BufferedReader(io.BytesIO(rest)), headers)


CHUNKED = b"Transfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(("head", "rest", "expected"), [
    pytest.param(b"Content-Length: 5\r\n", b"hello, more", b"hello", id="length"),
    pytest.param(b"Content-Length: 5, 5\r\n", b"hello", b"hello", id="length-listed-again"),
    pytest.param(b"", b"hello", Refused(411, "Content-Length required"), id="no-length"),
    pytest.param(f"Content-Length: {MAX_POST_BYTES + 1}\r\n".encode(), b"",
                 Refused(413, f"body over {MAX_POST_BYTES} bytes"), id="too-long"),
    pytest.param(CHUNKED, b"5\r\nhello\r\n0\r\n\r\n", b"hello", id="chunked"),
    pytest.param(CHUNKED, b"5;ext=1\nhello\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
                 b"hello world", id="chunked-bare-lf-extension-trailer"),
    pytest.param(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n",
                 Refused(501, "Transfer-Encoding other than chunked is not supported"),
                 id="other-coding"),
    pytest.param(CHUNKED, b" 5\r\nhello\r\n0\r\n\r\n",
                 Refused(400, "malformed chunked body"), id="blank-before-size"),
    pytest.param(CHUNKED, b"5\r\nhel", Refused(400, "malformed chunked body"), id="short"),
    pytest.param(CHUNKED, b"5\r\nhelloX\r\n0\r\n\r\n",
                 Refused(400, "malformed chunked body"), id="chunk-longer-than-said"),
    pytest.param(CHUNKED, b"0\r\nno colon\r\n\r\n",
                 Refused(400, "malformed chunked body"), id="trailer-without-colon"),
    pytest.param(CHUNKED, b"0\r\n" + b"X-T: 1\r\n" * 101 + b"\r\n",
                 Refused(400, "malformed chunked body"), id="too-many-trailers"),
    pytest.param(CHUNKED, b"1" * 8193 + b"\r\n", Refused(400, "malformed chunked body"),
                 id="size-line-too-long"),
    pytest.param(CHUNKED, f"{MAX_POST_BYTES + 1:x}\r\n".encode(),
                 Refused(413, f"body over {MAX_POST_BYTES} bytes"), id="chunk-too-long"),
])
def test_a_body_is_read_or_refused(head: bytes, rest: bytes, expected: object) -> None:
    assert _read(head, rest) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.booleans())
def test_any_chunking_of_a_body_reads_the_body(chunks: list[bytes], bare_lf: bool) -> None:
    end = b"\n" if bare_lf else b"\r\n"
    wire = b"".join(f"{len(chunk):X}".encode() + end + chunk + end for chunk in chunks)
    assert _read(CHUNKED, wire + b"0" + end + end) == b"".join(chunks)


@pytest.mark.parametrize(("head", "problem"), [
    pytest.param(b"Content-Length: 5\r\n", None, id="plain"),
    pytest.param(b"Content-Length: 5\r\nContent-Length: 6\r\n",
                 "Content-Length must be one number", id="two-lengths"),
    pytest.param(b"Content-Length: -5\r\n", "Content-Length must be one number",
                 id="negative"),
    pytest.param(b"X-A: 1\r\n folded\r\n", "a header line is folded onto the next (obs-fold)",
                 id="folded"),
    pytest.param(b"X-A : 1\r\nContent-Length: 5\r\n",
                 "a header line is not 'name: value' (no blank before the colon)",
                 id="blank-before-colon"),
])
def test_a_head_that_leaves_the_length_in_doubt_is_misframed(head: bytes,
                                                             problem: object) -> None:
    assert misframed(http.client.parse_headers(io.BytesIO(head + b"\r\n"))) == problem


@pytest.mark.parametrize(("head", "version", "closes"), [
    (CHUNKED, "HTTP/1.1", False),
    (CHUNKED + b"Content-Length: 5\r\n", "HTTP/1.1", True),
    (CHUNKED, "HTTP/1.0", True),
])
def test_a_chunked_body_closes_the_connection_when_its_length_is_in_doubt(
        head: bytes, version: str, closes: bool) -> None:
    headers = http.client.parse_headers(io.BytesIO(head + b"\r\n"))
    assert closes_after_chunked(headers, version) is closes
