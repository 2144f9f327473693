"""cpu18: the worker makes a log's Exchange with two Python calls less (docs/PERFORMANCE.md,
"cpu18"), and the same Exchange.

* ``environ_head`` calls ``environ_url``'s two parts (``build_url``, ``environ_target``)
  itself: the url is held against ``request_url`` by tests/test_capture.py's property
  test of ``EnvironRequest.head`` (a dict read of the same strings);
* ``Pending.to_exchange`` reads the response headers' text and their Content-Length in
  one pass (``response_header_read``), not ``response_content_length`` in each branch
  and ``response_header_text`` after: held here against the functions it stands for,
  over generated headers (text, bytes, non-pairs, bad lengths) and every branch that
  reads the length (cut at the length, broke off, ended short, client left).

The call count itself: tests/test_cpu29_findings.py (8 -> 6 for bench.py's small GET).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from hypothesis import example, given
from hypothesis import strategies as st

from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.pending import LEFT_IN_WRITE, Pending
from readme_metrics.capture.response_headers import (
    _text,
    response_content_length,
    response_header_read,
)
from readme_metrics.exchange import Group


def _former_text(pairs: Sequence[Any]) -> list[tuple[str, str]]:
    """response_header_text as it was before cpu18 (7db6b22e)."""
    out = []
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if name.__class__ is not str:
            name = _text(name)
        if value.__class__ is not str or not value.isascii():
            value = header_text(_text(value))
        out.append((name, value))
    return out


_NAMES = st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH",
                          b"Content-Length", b"content-length", bytearray(b"content-length"),
                          "Content-Type", b"Content-Type", "x-documentation-url", "X-A",
                          "content-length ", "Content_Length", 7, None])
_VALUES = st.one_of(
    st.sampled_from(["62", "0", " 12 ", "1_0", "-1", "", "abc", "12, 12", "9" * 30, "1e3",
                     b"62", b"x", "caf\u00c3\u00a9", "\u00ff", 62, 1.5, None]),
    st.text(max_size=6), st.binary(max_size=6))
_PAIRS = st.one_of(
    st.tuples(_NAMES, _VALUES), st.lists(_VALUES, min_size=2, max_size=2).map(tuple),
    st.sampled_from([("a",), ("a", "b", "c"), "ab", "abc", 5, None, b"cl"]))


@given(pairs=st.lists(_PAIRS, max_size=6))
@example(pairs=[("Content-Length", "5"), ("Content-Length", "7")])
@example(pairs=[("Content-Length", "5"), ("a",), ("Content-Length", "7")])
@example(pairs=[("Content-Length", "x"), ("Content-Length", "7")])
@example(pairs=[(7, "1"), ("Content-Length", "7")])
def test_read_gives_the_text_and_length_the_two_functions_give(pairs: list[Any]) -> None:
    try:
        expected: Any = (_former_text(pairs), response_content_length(pairs))
    except Exception as exc:  # noqa: BLE001 - the same error, or none, either way
        expected = type(exc)
    try:
        got: Any = response_header_read(pairs)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    assert got == expected


def _pending(headers: Any, body: bytes, flags: dict[str, Any], method: str) -> Pending:
    """A record as the WSGI middleware leaves it, with the fields the length decides."""
    record = Pending.__new__(Pending)
    now = time.perf_counter()
    # (The environ strings as the Pending keeps them: the keys and the values, cpu24.)
    record.request, record.request_values = ("REQUEST_METHOD", "PATH_INFO"), (method, "/x")
    record.log_id, record.begin, record.group = "id", now, Group("g")
    record.request_body, record.request_body_size = b"", 0
    record.request_body_incomplete = False
    record.request_body_declared = record.request_body_read = None
    record.status, record.reason = 200, "OK"
    record.response_headers = headers
    record.response_body, record.response_body_size = body, len(body)
    record.response_body_omitted = False
    record.comment, record.answered = None, None
    record.responded = record.finished = now
    record.nbytes = 0
    for name in ("cut_at_length", "broke_off", "ended", "left"):
        setattr(record, name, flags[name])
    return record


def _former_fields(record: Pending, method: str) -> tuple[Any, ...]:
    """What to_exchange made of the length before cpu18: (body, size, cut, short, left,
    headers), response_content_length read in each branch."""
    headers = record.response_headers
    body, size = record.response_body, record.response_body_size
    if record.cut_at_length:
        length = response_content_length(headers)
        if 0 <= length < size:
            body, size = body[:length], length
    cut, short = None, False
    if record.broke_off:
        length = response_content_length(headers)
        if length < 0 or size < length:
            cut = length
    elif record.ended and headers and method != "HEAD":
        length = response_content_length(headers)
        if size < length:
            cut, short = length, True
    left = False
    if record.left and method != "HEAD":
        length = response_content_length(headers)
        if length < 0 or size < length or record.left == LEFT_IN_WRITE:
            left = True
    return body, size, cut, short, left, _former_text(headers)


@given(length=st.one_of(st.none(), st.integers(-2, 12), st.sampled_from(["x", " 4 ", ""])),
       others=st.lists(st.sampled_from([("Content-Type", "text/plain"), ("X-A", b"\xc3\xa9"),
                                        ("a",), ("Content-Length", "3")]), max_size=2),
       body=st.binary(max_size=10), method=st.sampled_from(["GET", "HEAD", "POST"]),
       cut_at_length=st.booleans(), broke_off=st.booleans(), ended=st.booleans(),
       left=st.sampled_from([False, True, LEFT_IN_WRITE]),
       as_tuple=st.booleans())
def test_to_exchange_reads_the_length_as_before(length: Any, others: list[Any], body: bytes,
                                                method: str, cut_at_length: bool,
                                                broke_off: bool, ended: bool, left: Any,
                                                as_tuple: bool) -> None:
    headers: Any = list(others)
    if length is not None:
        headers.insert(len(headers) // 2, ("Content-Length", str(length)))
    if as_tuple:
        headers = tuple(headers)
    flags = {"cut_at_length": cut_at_length, "broke_off": broke_off, "ended": ended,
             "left": left}
    record = _pending(headers, body, flags, method)
    exchange = record.to_exchange()
    assert (exchange.response_body, exchange.response_body_size, exchange.response_body_cut,
            exchange.response_body_short, exchange.response_client_left,
            exchange.response_headers) == _former_fields(record, method)
